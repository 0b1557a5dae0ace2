"""Real OCR on images rendered here with Pillow's own font (no data files needed)."""

from tests.helpers import ENGLISH, cer, needs_tesseract, render_lines


def test_embedded_default_reads_clean_english(service):
    assert service.default_model("ocr") == "embedded"  # pinned for these tests (conftest), whatever the host
    result = service.ocr(render_lines(ENGLISH))
    assert cer(result.text, "\n".join(ENGLISH)) <= 0.05, result.text
    assert len(result.lines) == len(ENGLISH)
    for line in result.lines:
        assert len(line.box) == 4 and 0 < line.confidence <= 1


def test_embedded_default_reads_a_single_small_line(service):
    result = service.ocr(render_lines(["Order 5512 shipped"], font_size=18))
    assert cer(result.text, "Order 5512 shipped") <= 0.05, result.text


@needs_tesseract
def test_tesseract_reads_clean_english(service):
    result = service.ocr(render_lines(ENGLISH), model="tesseract", language="en")
    assert result.model == "tesseract" and result.language == "en"
    assert cer(result.text, "\n".join(ENGLISH)) <= 0.05, result.text
