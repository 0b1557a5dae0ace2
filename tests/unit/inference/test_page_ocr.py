"""Document pages on the embedded engine: Latin pages stay Latin, columns come in reading order, mixed
English and Russian lines, and a warning for a script no installed engine reads (images rendered here)."""

import io
import logging

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from inference import InferenceService
from inference.backends.ocr.rapid_geometry import reading_confidence
from inference.backends.ocr.rapid_script import (
    CJK_BLOCKS,
    LATIN_BLOCKS,
    Reading,
    choose,
    cjk_count,
    ctc_decode,
    is_cjk,
    is_latin,
    latin_mask,
)
from inference.layout import Box, reading_order
from tests.helpers import cer, encode, font_or_skip, recogniser_reads, render_with
from tests.polling import loaded_backend, unload_all
from tests.unit.inference.test_embedded_ocr import needs_tesseract_russian

# Separator lines that the Chinese-and-Latin recogniser reads as ideographs ("* * *" as 冰米冰) unless its
# output is kept to Latin characters.
SEPARATED = [
    "THANK YOU FOR SHOPPING",
    "* * *",
    "Total amount due: 318.40 USD",
    "=====",
    "Please pay within thirty days.",
    "-- * --",
    "Invoice number 4471",
]
MIXED = "Order 5821 заказ от 12 марта total 3450"


def font(size: int):
    return font_or_skip(size)  # DejaVu (or another system font) for Cyrillic, or for pages


def test_a_latin_page_comes_back_without_ideographs(service):
    # small print, a little blurred, JPEG: read with every character, "* * *" comes back as 水水水
    page = render_with(font(16), SEPARATED).filter(ImageFilter.GaussianBlur(0.6))
    result = service.ocr(Image.open(io.BytesIO(encode(page, "JPEG", quality=40))))
    assert not [ch for ch in result.text if is_cjk(ch)], result.text
    assert "THANK YOU" in result.text and "318.40" in result.text, result.text


def test_latin_decoding_picks_the_likeliest_latin_character():
    characters = ["blank", "m", "米", "a", " "]
    probs = np.array([[0.1, 0.3, 0.6, 0.0, 0.0], [0.9, 0.0, 0.1, 0.0, 0.0], [0.1, 0.0, 0.1, 0.8, 0.0]])
    assert ctc_decode(probs, characters) == ("米a", 0.7)
    assert ctc_decode(probs, characters, latin_mask(characters)) == ("ma", 0.55)


def test_without_a_hint_ideographs_stay_only_on_pages_that_are_not_mostly_latin():
    latin_page = [Reading("Total 米 due", 0.9, "Total m due", 0.8), Reading("Please pay", 0.99, "Please pay", 0.99)]
    assert [text for text, _, _ in choose(latin_page, "auto")] == ["Total m due", "Please pay"]
    chinese_page = [Reading("发票号码 4471", 0.95, "4471", 0.3), Reading("Total 318", 0.99, "Total 318", 0.99)]
    assert [text for text, _, _ in choose(chinese_page, "auto")] == ["发票号码 4471", "Total 318"]
    assert [text for text, _, _ in choose(latin_page, "any")][0] == "Total 米 due"  # a hint naming Chinese


def test_a_text_is_latin_or_counted_as_cjk_by_the_blocks_of_each_of_its_characters():
    """``is_latin`` and ``cjk_count`` (patterns, for speed) say what the blocks say of each character: at every edge of
    every block, and in texts that mix them."""
    edges = {max(0, edge + step) for lo, hi in LATIN_BLOCKS + CJK_BLOCKS for edge in (lo, hi) for step in (-1, 0, 1)}
    edges |= {ord(ch) for ch in "\t\n\x7féßЖ€米"}
    characters = [chr(code) for code in sorted(edges)]
    for ch in characters:
        in_latin = any(lo <= ord(ch) <= hi for lo, hi in LATIN_BLOCKS)
        assert is_latin(ch) == (in_latin and (ch.isascii() or not ch.isalpha())), hex(ord(ch))
        assert cjk_count(ch) == any(lo <= ord(ch) <= hi for lo, hi in CJK_BLOCKS) == is_cjk(ch), hex(ord(ch))
    assert is_latin("Total: 318.40 USD ± 2 → x²") and is_latin("") and not is_latin("Total\t318") and not is_latin("Café")
    assert not is_latin("½ x ☃") and not is_latin("ab\u3000")  # (a character outside the blocks anywhere, not first)
    assert cjk_count("发票号码 4471, Total 318。") == 5


TITLE = "Annual Report on Regional Energy Markets"
LEFT = [
    "Solar power capacity grew rapidly",
    "during the last decade, driven by",
    "falling panel prices.",
    "",
    "Storage projects followed, and",
    "grid operators adapted their",
    "planning rules to match them.",
]
RIGHT = [
    "Wind farms now supply a large",
    "share of electricity in several",
    "countries, and new projects keep",
    "growing offshore.",
    "",
    "Hydro power remains the largest",
    "source in the northern regions.",
]
FOOTER = "Page 3 of 12"


def test_a_two_column_page_is_read_column_by_column(service):
    face, step = font(20), 30
    image = Image.new("RGB", (1000, 120 + step * (len(LEFT) + 2)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 24), TITLE, fill="black", font=font(28))
    for i, line in enumerate(LEFT):
        draw.text((40, 90 + step * i), line, fill="black", font=face)
    for i, line in enumerate(RIGHT):  # the right column's paragraph break is not where the left one's is
        draw.text((530, 90 + step * i + (step // 2 if i > 3 else 0)), line, fill="black", font=face)
    draw.text((440, image.height - 40), FOOTER, fill="black", font=face)
    expected = "\n".join([TITLE, *[line for line in LEFT + RIGHT if line], FOOTER])
    result = service.ocr(image)
    assert cer(result.text, expected) <= 0.03, result.text
    text = result.text
    assert text.index("Solar") < text.index("planning") < text.index("Wind") < text.index("Hydro") < text.index("Page")


def test_three_columns_between_a_title_and_a_footer_are_read_in_order():
    def box(i, x, y, text):
        return Box(i, x, y, x + 280, y + 24, text)

    boxes = [Box(0, 40, 10, 900, 40, "the title of the page spans all columns")]
    for column in range(3):
        for row in range(5):
            boxes.append(box(len(boxes), 40 + 320 * column, 60 + 32 * row, f"column {column} line {row} of text here"))
    boxes.append(Box(len(boxes), 420, 260, 520, 284, "footer"))
    order = [box.text for row in reading_order(boxes[::-1]) for box in row]
    assert order == [b.text for b in boxes]


def test_a_mixed_english_and_russian_line_is_read_with_and_without_a_hint(service):
    needs_tesseract_russian(service)
    image = render_with(font(30), [MIXED])
    for hint in (None, "en+ru"):
        result = service.ocr(image, "embedded", hint)
        assert cer(result.text, MIXED) <= 0.08, (hint, result.text)
        assert result.warnings == [], result.warnings


def test_a_script_no_installed_engine_reads_is_flagged(settings, tmp_path, caplog):
    config = settings.model_copy(deep=True)
    next(m for m in config.models if m.id == "embedded").options["tessdata"] = str(tmp_path / "no-tessdata")
    image = render_with(font(30), ["Счёт № 5821 от 12 марта на сумму 3450 рублей", "Total amount due: 318.40 USD"])
    service = InferenceService(config)
    try:
        with caplog.at_level(logging.WARNING):
            result = service.ocr(image, "embedded")
    finally:
        unload_all(service.manager)
    assert "318.40" in result.text
    assert result.warnings == ["1 line(s) seem to be in a script this server cannot read; their text is missing or a guess."]
    assert "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus" in caplog.text  # the advice: for the operator


def test_a_line_that_pokes_into_the_gutter_does_not_split_the_columns():
    """A scan's tilt makes one left-column line reach a few pixels into the gutter: the columns still read whole
    (it used to split the page into two stretches, and half of the right column came before the left's end)."""
    from inference.layout import Box, reading_order

    boxes = [Box(0, 70, 10, 1160, 40, "Title across both columns")]
    for i in range(10):
        y = 100 + 40 * i
        boxes.append(Box(len(boxes), 70, y, 597 if i == 4 else 580, y + 30, f"left line {i} with words"))
        boxes.append(Box(len(boxes), 615, y, 1160, y + 30, f"right line {i} with words"))
    order = [b.text for row in reading_order(boxes) for b in row]
    assert order == [
        "Title across both columns",
        *[f"left line {i} with words" for i in range(10)],
        *[f"right line {i} with words" for i in range(10)],
    ]


def test_a_grid_of_cards_numbered_row_by_row_is_read_row_by_row_and_other_columns_column_by_column():
    """Four cards two by two under a title, each a numbered heading and two lines of text, the rows of cards apart by
    three line heights and level: numbered 1 2 / 3 4 they are read by rows; numbered 1 3 / 2 4 (down the columns), or
    not numbered, by columns, as a page's columns are."""

    def page(headings: list[str]) -> list[Box]:
        boxes = [Box(0, 40, 10, 900, 40, "the title of the page spans both columns")]
        for k, heading in enumerate(headings):
            x, y = (40 if k % 2 == 0 else 480), (60 if k < 2 else 250)
            for i, text in enumerate([heading, f"{heading} first line of its text", f"{heading} second line of its text"]):
                boxes.append(Box(len(boxes), x, y + 32 * i, x + 400, y + 32 * i + 24, text))
        return boxes

    def cards(boxes: list[Box]) -> list[str]:
        return [b.text for row in reading_order(boxes) for b in row if b.text[:1].isdigit() and len(b.text) < 30]

    assert cards(page(["1. Euler", "2. Pythagoras", "3. Calculus", "4. Maxwell"])) == [
        "1. Euler",
        "2. Pythagoras",
        "3. Calculus",
        "4. Maxwell",
    ]
    assert cards(page(["1. Euler", "3. Calculus", "2. Pythagoras", "4. Maxwell"])) == [
        "1. Euler",
        "2. Pythagoras",
        "3. Calculus",
        "4. Maxwell",
    ]
    plain = [b.text.split(" ")[0] for row in reading_order(page(["Euler", "Pythagoras", "Calculus", "Maxwell"])) for b in row]
    assert plain[1::3] == ["Euler", "Calculus", "Pythagoras", "Maxwell"]  # (not numbered: column by column)


GREEK = ["Η αγορά ηλεκτρικής ενέργειας μεγάλωσε πολύ", "Οι τιμές των πάνελ έπεσαν τα τελευταία χρόνια"]
MORE_GREEK = ["Το νερό της θάλασσας είναι ζεστό το καλοκαίρι", "Ο δρόμος προς το χωριό περνά από το δάσος"]


def test_a_page_read_poorly_whose_first_lines_read_worse_turned_reads_no_more_of_them_turned(service, monkeypatch):
    """Of a page read with low confidence, RapidOCR reads the widest lines as they are and turned half round in two
    halves (every other line): a first half that reads worse turned settles it (a handwritten page paid ~0.1 s for the
    other), an upside-down page is read both halves and turned."""
    page = render_with(font(30), [*GREEK, *MORE_GREEK] * 2)
    service.ocr(page, "rapidocr")
    backend = loaded_backend(service.manager, "rapidocr")
    lines = backend.detect_and_read(page)
    assert len(lines) == 8 and reading_confidence(lines) < backend.options.upside_down_confidence
    turned = page.rotate(180, expand=True)
    turned_lines = backend.detect_and_read(turned)
    reads = recogniser_reads(backend, monkeypatch)
    assert not backend.reads_better_turned(page, lines, "auto")
    assert sum(reads) == 8  # (4 lines, each read both ways)
    reads.clear()
    assert backend.reads_better_turned(turned, turned_lines, "auto")
    assert sum(reads) == 16


def test_a_page_read_poorly_is_read_again_upside_down_only_when_its_lines_read_better_so(service):
    """A page in a script RapidOCR reads poorly (Greek) reads with low confidence: it used to be read a second time
    whole, turned half round. Now RapidOCR reads its widest lines both ways first: no better turned, it is not."""
    page = render_with(font(30), GREEK)
    service.ocr(page, "rapidocr")
    backend = loaded_backend(service.manager, "rapidocr")
    lines = backend.detect_and_read(page)
    assert reading_confidence(lines) < backend.options.upside_down_confidence  # a turn is considered...
    assert not backend.reads_better_turned(page, lines, "auto")  # ...and not read
    turned = page.rotate(180, expand=True)
    assert backend.reads_better_turned(turned, backend.detect_and_read(turned), "auto")
    detections: list[Image.Image] = []
    detect = backend.detect_and_read
    backend.detect_and_read = lambda image, *args: detections.append(image) or detect(image, *args)  # (a spy: counts)
    try:
        assert backend.upright(page)[0] == 0 and len(detections) == 1  # read once
        assert backend.upright(turned)[0] == 180 and len(detections) == 3  # read, and read again turned
    finally:
        del backend.detect_and_read
