"""A finished job's events replay every page (GET /jobs/{id}/events), and each page's stored read (~1 MB of JSON a
dense page) was parsed whole and made into blocks for its text: ~80 ms of CPU a page, uncharged, and a key's eight
streams replaying a 40-page job slowed every other key's requests 30-fold (an attack pass). An event reads the
page's text and error alone, from the front of its stored JSON (``job_tables.text_and_error``)."""

from __future__ import annotations

import json

from inference import job_tables
from tests.e2e.test_job_events import events
from tests.security.conftest import KEYS, USER, live
from tests.security.test_job_results import dense_job


def test_a_jobs_events_are_replayed_without_its_pages_reads_parsed_whole(settings, tmp_path, monkeypatch):
    real, parsed = job_tables.parsed, []

    def counted(text):  # (the stored reads parsed whole, counted on their way)
        parsed.append(len(text))
        return real(text)

    with live(settings, auth={"api_keys": KEYS}, server={"data_dir": str(tmp_path / "data")}) as (client, _):
        job = dense_job(client, USER, pages=4, count=2000)
        monkeypatch.setattr(job_tables, "parsed", counted)
        with client.stream("GET", f"/jobs/{job}/events", headers={"X-API-Key": USER}, timeout=60) as response:
            seen = list(events(response.iter_lines()))
        replayed = list(parsed)
        result = client.get(f"/jobs/{job}/result", headers={"X-API-Key": USER}).json()
    pages = [data for event, data, _ in seen if event == "page"]
    texts = [page["text"] for page in result["results"][0]["pages"]]
    assert [page["text"] for page in pages] == texts and all(len(text) > 10_000 for text in texts)
    assert seen[-1][0] == "end"
    assert not replayed, replayed  # (before: each page's ~0.6 MB read parsed whole)


def test_a_reads_text_and_error_come_from_its_front_and_older_reads_still_read():
    from inference.job_tables import text_and_error

    text, error = 'Line "one"\nДва \\ 3\u2028', "Page 2 could not be read: it is empty."
    stored = json.dumps({"text": text, "error": error, "size": [1, 2], "lines": [{"text": '", "error": "x'}]})
    assert text_and_error(stored) == (text, error)
    assert text_and_error(json.dumps({"text": text, "error": None, "lines": []})) == (text, None)
    older = json.dumps({"size": [1, 2], "source": "ocr", "text": text, "lines": [], "warnings": [], "error": error})
    assert text_and_error(older) == (text, error)  # (a read stored before: parsed whole)
