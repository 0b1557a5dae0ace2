"""A job's page whose file is not kept open where it is read (another worker opened the job, more files are being
read than a process keeps open, a restart) opens the file for that page alone. It opened every chosen page again,
each page's text layer read to decide which need OCR: a page's read cost the whole file's, a job's pages squared (a
helper's measure: 9 jobs of a 40-page PDF at once took 116 CPU-s instead of ~74; 200 dense pages, hours)."""

from __future__ import annotations

from inference.pdf_sandbox import PdfFile
from tests.helpers import text_pdf
from tests.polling import wait_until
from tests.security.conftest import live

PAGES = 20


def test_a_page_read_where_its_file_is_not_kept_opens_that_page_alone(settings, monkeypatch):
    real, reads = PdfFile.page, []

    def page(self, number, longest_side, text):  # (the reader's page reads, counted on their way to it)
        reads.append(number)
        return real(self, number, longest_side, text)

    monkeypatch.setattr(PdfFile, "page", page)
    pdf = text_pdf([[f"page{n:02d} line"] for n in range(1, PAGES + 1)])
    # a budget of one line: page 1 is read at the opening, every other page is a unit of its own, read later
    with live(settings, limits={"max_text_lines": 1}, jobs={"workers": 1}) as (client, service):
        service.jobs.dispatcher.work.docs.size = 0  # no file kept open here: every page's read finds none
        sent = client.post("/jobs", files=[("files", ("long.pdf", pdf))])
        assert sent.status_code == 202, sent.text
        job = sent.json()["id"]
        assert wait_until(lambda: client.get(f"/jobs/{job}").json()["state"] in ("done", "failed"), 120, 0.2)
        result = client.get(f"/jobs/{job}/result").json()
    pages = result["results"][0]["pages"]
    assert [p["text"] for p in pages] == [f"page{n:02d} line" for n in range(1, PAGES + 1)], pages
    assert all(len(p["lines"]) == 1 for p in pages)
    # the opening reads each page once; each later page: its own page opened, its lines loaded (twice)
    assert len(reads) <= PAGES + 2 * (PAGES - 1), sorted(reads)
