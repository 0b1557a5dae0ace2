"""The OCR tab's inputs as a new user's walk used them: the "Pages" field of "Or a document" applies to the document
being read only, not to an image read after it (an example clicked once a PDF was chosen with pages 2-3 was refused:
"'receipt.png' has 1 page(s); there is no page 2")."""

from __future__ import annotations

from tests.browser.conftest import playwright
from tests.e2e.test_jobs import scanned

expect = playwright.expect


def test_the_pages_asked_of_a_document_leave_an_image_read_after_it_whole(live_server, open_page, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(scanned(3, 20))
    page = open_page(f"{live_server}/")
    page.locator("#ocr-document-box").get_by_text("Or a document").click()
    page.locator("#ocr-pages textarea, #ocr-pages input").first.fill("2-3")
    page.locator("#ocr-document input[type=file]").set_input_files(str(pdf))
    expect(page.locator("#ocr-page")).to_be_visible(timeout=30_000)  # uploaded (its pages counted)
    held: list = []  # the server's answers to the change come only once Extract is pressed (as on a busy server)
    page.route("**/gradio_api/queue/join*", lambda route: route.continue_() if held is None else held.append(route))
    with page.expect_request("**/gradio_api/queue/join*"):  # (the change told to the server)
        page.locator("#ocr-examples").locator(".gallery-item, button").first.click()  # an example image instead
    expect(page.locator("#ocr-image img")).to_have_count(1, timeout=30_000)
    waiting, held = held, None
    with page.expect_request("**/gradio_api/queue/join*"):  # (the read asked for)
        page.locator("#ocr-run").click()
    for route in waiting:
        route.continue_()
    page.wait_for_function(READ_OR_REFUSED, timeout=60_000, polling=50)
    said = page.locator("#ocr-message").inner_text() + page.locator("#ocr-info").inner_text()
    assert "page" not in said.lower(), said  # the document's pages asked nothing of the image...
    expect(page.locator("#ocr-info")).to_contain_text("Image", timeout=30_000)  # ...read whole, as an image
    assert "TOTAL" in page.locator("#ocr-text textarea").input_value()
    page.locator("#ocr-document input[type=file]").set_input_files(str(pdf))  # the document again: its pages apply
    expect(page.locator("#ocr-text textarea")).to_have_value("", timeout=30_000)  # (the image's result cleared)
    page.locator("#ocr-run").click()
    expect(page.locator("#ocr-info")).to_contain_text("Pages 2", timeout=60_000)
    text = page.locator("#ocr-text textarea").input_value()
    assert "--- page 2 ---" in text and "--- page 3 ---" in text and "--- page 1 ---" not in text, text


# the read's end: its text, or a refusal in the message line
READ_OR_REFUSED = """() => document.querySelector('#ocr-text textarea').value.trim().length > 5
  || (document.querySelector('#ocr-message')?.innerText || '').includes('⚠')"""
