"""A job's text-layer page past its opening's budget has its lines loaded from the PDF when it is read
(``DocPage.lines_later``). That load goes through the PDF reader like any other, and can go over its limits (a page
that took 6 s at opening can take 11 s while the readers are busy) or find the file damaged: it then fails its page
alone, as rendering it would. It raised OverLimits itself, which no job code expects: the whole job failed ("Unexpected
error while running the job", its other pages unread) and the log took a traceback."""

from __future__ import annotations

import pytest

from inference import documents
from inference.errors import BadInput
from inference.pdf_sandbox import OverLimits, PdfError, PdfFile
from inference.text_budget import text_budget
from tests.helpers import text_pdf
from tests.polling import wait_until
from tests.security.conftest import live
from tests.security.test_pdf_text_budget import WORDS, words


def second_read_of(number: int, error: Exception, monkeypatch) -> None:
    """PdfFile.page raises ``error`` from the second time page ``number`` is read (its lines, loaded later)."""
    real, seen = PdfFile.page, []

    def page(self, n, longest_side, text):
        if n == number and text:
            seen.append(n)
            if len(seen) > 1:
                raise error
        return real(self, n, longest_side, text)

    monkeypatch.setattr(PdfFile, "page", page)


@pytest.mark.parametrize("error", [OverLimits("time", 10.0), PdfError("damaged")])
def test_a_page_whose_lines_cannot_be_loaded_later_fails_alone(settings, monkeypatch, error):
    second_read_of(2, error, monkeypatch)
    with text_budget(WORDS, lazy=True):
        doc = documents.open_document(text_pdf([words(WORDS)] * 3, font_size=1), settings.limits, "three.pdf")
    try:
        with pytest.raises(BadInput):
            doc.pages[1].lines_later()
    finally:
        doc.close()


def test_a_job_goes_on_past_such_a_page(settings, monkeypatch):
    second_read_of(2, OverLimits("time", 10.0), monkeypatch)
    with live(settings, limits={"max_text_lines": WORDS}) as (client, _):
        sent = client.post("/jobs", files=[("files", ("three.pdf", text_pdf([words(WORDS)] * 3, font_size=1)))])
        assert sent.status_code == 202, sent.text
        job = sent.json()["id"]
        assert wait_until(lambda: client.get(f"/jobs/{job}").json()["state"] in ("done", "failed"), 120, 0.2)
        assert client.get(f"/jobs/{job}").json()["state"] == "done", client.get(f"/jobs/{job}").text
        pages = client.get(f"/jobs/{job}/result").json()["results"][0]["pages"]
    assert [len(page["lines"]) for page in pages[:2]] == [WORDS, 0] and "longer than 10 s" in str(pages[1]), pages[1]
    # (page 3: read, or failed too when it came after page 2 on the same open file: a file's pages after one over the
    # limits fail at once, as when they are rendered)
    assert len(pages[2]["lines"]) == WORDS or "page 2 of this PDF went over" in str(pages[2]["error"]), pages[2]
