"""A line RapidOCR read whole after Tesseract drafted it: Tesseract's spaces and sure words where RapidOCR's differ."""

from __future__ import annotations

from PIL import Image

from inference.backends.ocr.rapid_script import Reading
from inference.backends.ocr.tesseract import Word
from inference.backends.ocr.tesseract_first import Draft, merged


def draft(*words: tuple[str, float]) -> Draft:
    return Draft([Word(text, confidence, (0, 0, 1, 1)) for text, confidence in words], Image.new("L", (10, 10)), sure=0.85)


def test_tesseracts_spaces_and_sure_words_mend_rapidocrs_reading_and_its_unsure_ones_do_not():
    tesseract = draft(("It", 0.96), ("is", 0.95), ("not", 0.93), ("permitted", 0.92), ("to", 0.4), ("dovvnload", 0.5))
    rapid = Reading.latin_only("It is no permited todownlaod", 0.97, "rapidocr")
    line = merged(rapid, tesseract)
    assert (line.text, line.latin, line.score, line.engine) == (
        *("It is not permitted to downlaod", "It is not permitted to downlaod"),
        *(0.97, "rapidocr+tesseract"),
    )
    bold = draft(("Table", 0.44), ("1", 0.44), ("Composition", 0.96), ("of", 0.78), ("the", 0.78), ("data", 0.72))
    assert merged(Reading.latin_only("Table1 Compositionofthe data", 0.99, "rapidocr"), bold).text == (
        "Table 1 Composition of the data"  # spaces taken however unsure the words around them
    )


def test_rapidocrs_symbols_and_a_reading_beyond_latin_stay_as_they_are():
    symbols = Reading.latin_only("some u ∈ R with λg = λg′", 0.98, "rapidocr")
    tesseract = draft(("some", 0.95), ("u", 0.95), ("€", 0.95), ("R", 0.95), ("with", 0.95), ("Ag", 0.95), ("=", 0.9))
    assert merged(symbols, tesseract) is symbols
    chinese = Reading("价格 12.50", 0.9, "12.50", 0.9)
    assert merged(chinese, draft(("ffr", 0.9), ("12.50", 0.95))) is chinese
    same = Reading.latin_only("Total due on March 12", 0.95, "rapidocr")
    assert merged(same, draft(("Total", 0.96), ("due", 0.4), ("on", 0.5), ("March", 0.95), ("12", 0.9))) is same
