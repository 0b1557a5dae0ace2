"""A tiny PDF whose pages all draw one content stream of thousands of short words: its text layer is read whole into
the answer (1-3 KB of memory a line until it is sent). An 87 KB PDF of 200 pages of 4,000 words each: 200 after
407 s of CPU (its text layer is read outside the request's time limit), +1.07 GB, a 209 MB answer. Now one request's
documents hold at most limits.max_text_lines lines of text layer (a batch's files together): the page past it fails
the file at once (400 in 3.6 s, +56 MB; the most it lets through, 12 such pages: 29 s, +228 MB). A job, whose pages
are stored as they are read, is not bound by it, but its opening held every page's lines and read every text-layer
page at once: now it reads only the pages within the budget, the others keep their text alone and are read one by one
later, each page's lines loaded then."""

from __future__ import annotations

import pytest

from inference import documents
from inference.text_budget import text_budget
from tests.helpers import pdf_file, text_pdf
from tests.polling import wait_until
from tests.security.conftest import live
from tests.security.test_image_metadata import peak_growth

WORDS = 3000


def words(count: int) -> list[str]:
    return [f"w{i:04d}" for i in range(count)]


def one_stream_pdf(pages: int, lines: int) -> bytes:
    """A PDF of ``pages`` letter-size pages that all draw the same content stream: ``lines`` short words, tiny print."""
    body = "BT /F1 1 Tf 1.2 TL 20 780 Td " + " ".join(f"(w{i:04d}) Tj T*" for i in range(lines)) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    objects.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream")
    page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    objects += [page] * pages
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{5 + k} 0 R' for k in range(pages))}] /Count {pages} >>"
    return pdf_file(objects)


@pytest.fixture(scope="module")
def budgeted(settings):
    with live(settings, limits={"max_text_lines": 5000}) as (client, _):
        yield client


def test_a_document_past_the_budget_is_refused_at_the_page_that_passes_it(budgeted):
    fine = budgeted.post("/ocr", files={"file": ("one.pdf", text_pdf([words(WORDS)], font_size=1), "application/pdf")})
    assert fine.status_code == 200 and len(fine.json()["pages"][0]["lines"]) == WORDS, fine.text[:300]
    three = text_pdf([words(WORDS)] * 3, font_size=1)
    refused = budgeted.post("/ocr", files={"file": ("three.pdf", three, "application/pdf")})
    assert refused.status_code == 400 and "page 2" in refused.json()["detail"], refused.text[:300]
    assert "max_text_lines" in refused.json()["detail"]
    again = budgeted.post("/ocr", files={"file": ("three.pdf", three, "application/pdf")}, data={"pages": "3"})
    assert again.status_code == 200  # (fewer pages: read)


def test_a_batch_s_files_share_it_and_a_job_is_not_bound_by_it(budgeted):
    one = text_pdf([words(WORDS)], font_size=1)
    batch = budgeted.post("/batch/ocr", files=[("files", ("a.pdf", one)), ("files", ("b.pdf", one))])
    assert batch.status_code == 200, batch.text[:300]
    assert [r["status"] for r in batch.json()["results"]] == ["success", "error"]
    assert "more text than one request reads" in batch.json()["results"][1]["error"]
    sent = budgeted.post("/jobs", files=[("files", ("three.pdf", text_pdf([words(WORDS)] * 3, font_size=1)))])
    assert sent.status_code == 202, sent.text
    job = sent.json()["id"]
    assert wait_until(lambda: budgeted.get(f"/jobs/{job}").json()["state"] == "done", 120, 0.2)
    result = budgeted.get(f"/jobs/{job}/result").json()
    assert [len(page["lines"]) for page in result["results"][0]["pages"]] == [WORDS] * 3  # (2 and 3: read one by one)


def test_a_job_s_opening_keeps_the_lines_of_pages_past_it_for_when_they_are_read(settings):
    # (a job's opening held every page's lines, and read every text-layer page at once: the PDF above, ~1 GB)
    three = text_pdf([words(WORDS)] * 3, font_size=1)
    with text_budget(5000, lazy=True):
        doc = documents.open_document(three, settings.limits, "three.pdf")
    try:
        assert [len(page.lines) for page in doc.pages] == [WORDS, 0, 0]
        assert [page.lines_later is None for page in doc.pages] == [True, False, False]
        assert [line.text for line in doc.pages[2].lines_later()] == [line.text for line in doc.pages[0].lines]
    finally:
        doc.close()


@pytest.mark.slow  # (~15 s: 12 pages of 5,000 lines read before the refusal)
def test_a_tiny_pdf_of_many_dense_pages_is_refused_without_taking_the_memory(settings):
    pdf = one_stream_pdf(200, 4000)  # (the default budget, 50,000 lines: passed at page 13)
    assert len(pdf) < 100_000
    with live(settings) as (client, _), peak_growth() as growth:
        refused = client.post("/ocr", files={"file": ("tiny.pdf", pdf, "application/pdf")})
    assert refused.status_code == 400 and "page 13" in refused.json()["detail"], refused.text[:300]
    assert growth[0] < 400, f"the refusal took {growth[0]} MB"
