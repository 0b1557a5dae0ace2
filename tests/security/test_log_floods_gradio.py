"""Gradio events called with inputs they cannot take are refused in one sentence, with at most one short line in the
log (an attack pass). Before, Gradio printed a traceback for each to the server's stderr (its log): ~2 KB for an event
sent too few values, with every value sent copied in (3 MB sent, 3 MB written), ~3.5 KB for a value a component cannot
take (a word for a number), ~1.5 KB for an event that runs in the browser only; and a model id of null (the Models
tab's events) or images that are no list of URLs (the ocr_images tool) raised in our handlers (~3 KB, ~1-2 KB)."""

from __future__ import annotations

import pytest

from .gradio_calls import fn_index, queue
from .log_capture import SHORT, show, size_of, written

BIG = "A" * 300_000


def browser_only(client) -> int:
    config = client.get("/config").json()
    return next(d["id"] for d in config["dependencies"] if d.get("backend_fn") is False)


@pytest.mark.parametrize(
    ("api_name", "data", "says"),
    [
        ("ask_about_image", [BIG, BIG], "takes 4 input values"),  # too few: each value was copied into the log
        ("ask_about_image", ["data:,", "hi", "", "many"], "cannot take the value"),  # a word for a number
        ("load_example", [{"x": 1}], "cannot take the value"),  # (the OCR tab's examples: a Dataset's index)
        ("load_example", [None], "Pick an example"),  # (Gradio's loader unpacked it: a traceback, ~3 KB)
        ("load_model", [None], "Unknown model"),
        ("unload_model", [None], "Unknown model"),
        ("ocr_images", [None, "", ""], "list"),
        ("ocr_images", [[1, {"a": 1}], "", ""], "list"),
    ],
    ids=["too-few", "number", "dataset", "no-example", "load-null", "unload-null", "images-null", "images-not-urls"],
)
def test_an_event_given_inputs_it_cannot_take_says_so_in_a_line(open_server, capsys, api_name, data, says):
    index = fn_index(open_server, api_name)
    with written(capsys) as text:
        done = queue(open_server, index, data)
    assert done.get("success") is False, done
    assert says in str(done["output"].get("error")), done
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


def test_a_direct_call_with_too_few_values_is_a_400_and_a_line(open_server, capsys):
    with written(capsys) as text:
        answer = open_server.post("/gradio_api/run/ask_about_image", json={"data": [BIG, BIG, BIG]})
    assert answer.status_code == 400, answer.text[:300]
    assert "takes 4 input values" in answer.text
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


def test_an_event_that_runs_in_the_browser_is_not_run_on_the_server(open_server, capsys):
    with written(capsys) as text:
        done = queue(open_server, browser_only(open_server), [])
    assert done.get("success") is False and "browser" in str(done["output"].get("error")), done
    assert size_of(text) < SHORT and "Traceback" not in "".join(text), show(text)


def test_events_given_what_they_take_still_run(open_server):
    done = queue(open_server, fn_index(open_server, "load_example"), [0])
    assert done.get("success") is True, done
