"""The rapidocr model (RapidOCR alone: Latin and Chinese, no Cyrillic model) says what it cannot read: a language the
hint names, or, without a hint, the lines of a page it lost (PP-OCRv6 reads most Cyrillic lines as blank, or as their
punctuation and digits), as the embedded default says them; and nothing on English pages, a receipt or a picture.
Images are rendered here, read by the real engine."""

import logging
import re

import pytest
from PIL import Image, ImageDraw

from inference import InferenceService
from tests.helpers import aeon_receipt, cer, dejavu, render_with
from tests.polling import unload_all

RUSSIAN = ["Привет, мир!", "Съешь же ещё этих мягких французских булок", "Итого: 150 рублей"]
RUSSIAN_PAGES = [
    RUSSIAN,
    ["В лесу родилась ёлочка, в лесу она росла.", "Зимой и летом стройная, зелёная была."],
    ["Уважаемые покупатели! Магазин работает ежедневно", "с 9 до 21 часа. В воскресенье действует скидка."],
]
ENGLISH_PAGES = [
    ["Invoice number 4471 dated March 12", "Total amount due: 318.40 USD", "Please pay within thirty days."],
    ["Call us at +1 (415) 555-0199 or email help@example.com", "The quick brown fox jumps over the lazy dog."],
    ["Paid by card ending 4417", "Phone +7 812 555 0199", "Tax Code: A", "Contact: office@example.com"],
]
FACES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")
UNREAD_LINES = re.compile(r"\d+ line\(s\) seem to be in a script this model cannot read; their text is missing or a guess\.")


@pytest.fixture(scope="module")
def fresh(settings):
    """A service of its own: its rapidocr model is loaded by this file's tests (the operator's log says its advice once
    a load)."""
    service = InferenceService(settings)
    yield service
    unload_all(service.manager)


def test_rapidocr_says_it_cannot_read_a_language_the_hint_names(fresh, caplog):
    image = render_with(dejavu("DejaVuSans.ttf", 30), RUSSIAN)
    with caplog.at_level(logging.WARNING):
        for hint, name in (("ru", "Russian"), ("uk", "Ukrainian"), ("en+ru", "Russian"), ("klingon", "'klingon'")):
            result = fresh.ocr(image, "rapidocr", hint)
            expected = f"This model cannot read {name}; the text is RapidOCR's reading in Latin and Chinese characters."
            assert result.warnings == [expected], (hint, result.warnings)
    assert "backend embedded" in caplog.text  # (the operator is told which engine reads more: the log, not the user)
    english = render_with(dejavu("DejaVuSans.ttf", 30), ENGLISH_PAGES[0])
    for hint in ("en", "de", "en+fr", "zh"):
        result = fresh.ocr(english, "rapidocr", hint)
        assert result.warnings == [], (hint, result.warnings)
        assert cer(result.text, "\n".join(ENGLISH_PAGES[0])) <= 0.05, result.text


def test_rapidocr_says_how_many_lines_of_a_page_it_could_not_read_and_nothing_on_english_pages(service):
    for face in FACES:
        for lines in RUSSIAN_PAGES:
            result = service.ocr(render_with(dejavu(face, 30), lines), "rapidocr")
            assert len(result.warnings) == 1 and UNREAD_LINES.fullmatch(result.warnings[0]), (face, lines, result.warnings)
    mixed = render_with(dejavu("DejaVuSans.ttf", 30), [*ENGLISH_PAGES[0], *RUSSIAN_PAGES[1]])
    result = service.ocr(mixed, "rapidocr")
    assert "318.40" in result.text and len(result.warnings) == 1 and UNREAD_LINES.fullmatch(result.warnings[0])
    assert int(result.warnings[0].split()[0]) <= 2  # (the English lines were read: not counted)
    # ...and nothing on English pages, a receipt or a picture without text (a line lost there would be said)
    for face in FACES:
        for size in (20, 30):
            for lines in ENGLISH_PAGES:
                result = service.ocr(render_with(dejavu(face, size), lines), "rapidocr")
                assert result.warnings == [], (face, size, result.text, result.warnings)
        result = service.ocr(aeon_receipt(dejavu(face, 24)), "rapidocr")
        assert result.warnings == [], (face, result.text, result.warnings)
        assert "THANK YOU" in result.text, result.text
    picture = Image.new("RGB", (640, 480), "white")
    draw = ImageDraw.Draw(picture)
    for i in range(6):
        draw.ellipse((60 + 90 * i, 200, 80 + 90 * i, 220), fill="black")
    draw.line((50, 300, 600, 300), fill="black", width=3)
    result = service.ocr(picture, "rapidocr")
    assert (result.text, result.warnings) == ("", []), (result.text, result.warnings)
