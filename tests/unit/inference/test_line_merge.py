"""A line RapidOCR read whole after Tesseract drafted it: Tesseract's spaces and sure words where RapidOCR's differ, and
nothing written twice."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from inference.backends.ocr.line_merge import merged
from inference.backends.ocr.rapid_script import Reading
from inference.backends.ocr.tesseract import TesseractEngines, Word, find_tessdata
from inference.backends.ocr.tesseract_first import Draft, mends, patch, tesseract_line
from tests.helpers import needs_tesseract, render_with

from .test_ocr_scripts import dejavu

SURE = 0.85


def words(*read: tuple[str, float], known: bool = True) -> list[Word]:
    """Tesseract's words (``known``: in its dictionary)."""
    return [Word(text, confidence, (0, 0, 1, 1), known) for text, confidence in read]


def rapid(text: str) -> Reading:
    return Reading.latin_only(text, 0.97, "rapidocr")


def test_tesseracts_spaces_and_sure_words_mend_rapidocrs_reading_and_its_unsure_ones_do_not():
    tesseract = words(("It", 0.96), ("is", 0.95), ("not", 0.93), ("permitted", 0.92), ("to", 0.6), ("dovvnload", 0.5))
    line = merged(rapid("It is no permited todownlaod"), tesseract, SURE)
    assert (line.text, line.latin, line.score, line.engine) == (
        *("It is not permitted to downlaod", "It is not permitted to downlaod"),
        *(0.97, "rapidocr+tesseract"),
    )
    bold = words(("Table", 0.44), ("1", 0.44), ("Composition", 0.96), ("of", 0.78), ("the", 0.78), ("data", 0.72))
    assert merged(rapid("Table1 Compositionofthe data"), bold, SURE).text == "Table1 Composition of the data"
    small = words(("without", 0.9), ("the", 0.95), ("consent", 0.9), ("of", 0.96), ("the", 0.96), ("author(s)", 0.9))
    small += words(("and/or", 0.88), ("copyright", 0.93))
    assert merged(rapid("withot the onent of the author(s) ndor copyright"), small, SURE).text == (
        "without the consent of the author(s) and/or copyright"
    )
    run_together = words(("a", 0.95), ("condition", 0.95), ("of", 0.9), ("accessing", 0.9), ("publications", 0.92))
    assert merged(rapid("a condition ofaessin publicatins"), run_together, SURE).text == (
        "a condition of accessing publications"  # one word of RapidOCR's for two of Tesseract's
    )


def test_a_space_beside_a_long_word_outside_the_dictionary_splits_rapidocrs_run_and_one_between_two_such_words_does_not():
    caption = words(("Composition", 0.96), ("of", 0.82), ("the", 0.82)) + words(("pretraining", 0.92), known=False)
    caption += words(("data", 0.74))
    assert merged(rapid("Compositionofthepretraining data"), caption, SURE).text == "Composition of the pretraining data"
    name = words(("Kap", 0.9), ("lansky", 0.9), known=False) + words(("wrote", 0.95))
    assert merged(rapid("Kaplansky wrote"), name, SURE).text == "Kaplansky wrote"  # (neither a dictionary word)
    short = words(("the", 0.95)) + words(("X1", 0.95), known=False)
    assert merged(rapid("theX1"), short, SURE).text == "theX1"  # (not a word of SPACE_LETTERS letters)
    unsure = words(("the", 0.95)) + words(("pretraining", 0.3), known=False)
    assert merged(rapid("thepretraining"), unsure, SURE).text == "thepretraining"


def test_a_space_between_a_dictionary_word_and_a_number_splits_rapidocrs_run_and_one_after_a_letter_or_a_code_does_not():
    caption = words(("Table", 0.5), ("1", 0.5), ("Composition", 0.96), ("of", 0.9), ("data", 0.9))
    assert merged(rapid("Table1 Composition of data"), caption, SURE).text == "Table 1 Composition of data"
    heading = words(("Section", 0.9), ("2.1:", 0.9), ("Methods", 0.9))
    assert merged(rapid("Section2.1: Methods"), heading, SURE).text == "Section 2.1: Methods"
    paper = words(("A", 0.95), ("4", 0.95), ("paper", 0.95))
    assert merged(rapid("A4 paper"), paper, SURE).text == "A4 paper"  # (a letter: not a word of NUMBERED_LETTERS)
    code = words(("COVID", 0.95), known=False) + words(("19", 0.95), ("cases", 0.95))
    assert merged(rapid("COVID19 cases"), code, SURE).text == "COVID19 cases"  # (not a dictionary word)
    size = words(("size", 0.95)) + words(("4b", 0.95), known=False)
    assert merged(rapid("size4b"), size, SURE).text == "size4b"  # (not a number)


@needs_tesseract
def test_a_draft_keeps_the_confidences_tesseract_read_its_words_with_for_their_spaces():
    """A word outside English's dictionary counts unsure in a draft (it may have lost its accents: RapidOCR reads it
    again), but where its spaces are Tesseract was as sure as it read it."""
    engines = TesseractEngines(find_tessdata("auto"), 1)
    try:
        crop = np.asarray(render_with(dejavu("DejaVuSans.ttf", 28), ["We report the pretraining data of the models"]))
        draft = tesseract_line(engines, crop, SURE)
    finally:
        engines.close()
    assert isinstance(draft, Draft), draft
    counted = {w.text: w.confidence for w in draft.words}
    read = {w.text: w.confidence for w in draft.as_read()}
    assert counted["pretraining"] < SURE / 2 + 1e-9 < read["pretraining"], (counted, read)
    assert {k: v for k, v in counted.items() if k != "pretraining"} == {k: v for k, v in read.items() if k != "pretraining"}


def test_tesseracts_whole_reading_replaces_another_shorter_one_when_it_is_sure_of_most_of_it():
    band = words(("Disease", 0.9), ("award", 0.97), ("from", 0.97), ("the", 0.97), ("Burroughs", 0.8), ("Fund.", 0.77))
    band += words(("The", 0.97), ("funders", 0.95), ("had", 0.96), ("no", 0.96), ("role", 0.87), ("in", 0.87))
    line = merged(rapid("Disa a        t    o ofthe"), band, SURE)
    assert line.text == "Disease award from the Burroughs Fund. The funders had no role in"
    assert line.engine == "rapidocr+tesseract"  # (still checked for another script, as RapidOCR's lines are)
    assert line.score == round(sum(w.confidence for w in band) / len(band), 4)  # (Tesseract's, for Tesseract's text)
    cyrillic = words(("BOT", 0.95), ("TAK", 0.95), ("no", 0.9), ("12", 0.93), ("KOHTPAKTY", 0.9), ("mnH", 0.9), known=False)
    band_ru = rapid("Ba   o  r")  # (RapidOCR's garbled reading: the script check reads the line again in Russian)
    assert merged(band_ru, cyrillic, SURE).text != "BOT TAK no 12 KOHTPAKTY mnH"  # (look-alikes outside the dictionary)
    unsure = words(*((w.text, 0.6) for w in band))
    garbled = rapid("Disa a        t    o ofthe")
    assert merged(garbled, unsure, SURE) is garbled  # (Tesseract unsure of it: RapidOCR's stays)
    longer = rapid("Disease award from the Burroughs Wellcome Fund. The funders had no role in study design")
    assert merged(longer, band, SURE) is longer  # (RapidOCR read more: not wholesale)


def test_no_character_is_written_twice_and_punctuation_stays():
    """Swapped letters and words, a space Tesseract read in place of RapidOCR's point or comma, a word of Tesseract's it
    is unsure of: each line is RapidOCR's or its words Tesseract's, never both."""
    cases = [
        ("It is teh end", words(("It", 0.95), ("is", 0.95), ("the", 0.95), ("end", 0.95)), "It is the end"),
        ("form the", words(("from", 0.95), ("the", 0.95)), "from the"),
        ("Smith and Jones 2019", words(("Jones", 0.95), ("and", 0.95), ("Smith", 0.95), ("2019", 0.95)), None),
        ("Total 12.50 and 1,000 e-mail", words(("Total", 0.9), ("12", 0.3), ("50", 0.3), ("and", 0.9)), None),
        ("Information", words(("In", 0.3), ("formation", 0.4)), None),
        ("Informa tion is key", words(("Information", 0.95), ("is", 0.95), ("key", 0.95)), "Information is key"),
        ("H ead line news", words(("Headline", 0.95), ("news", 0.95)), "Headline news"),
        ("The price is 12.50 today", words(*((w, 0.93) for w in ["The", "price", "is", "12", "50", "today"])), None),
        ("1,000 units at $12.50", words(("1", 0.95), ("000", 0.95), ("units", 0.95), ("at", 0.95), ("12.50", 0.95)), None),
        ("see (Smith 2019).", words(("see", 0.95), ("Smith", 0.95), ("2019", 0.95)), None),
        ("C O N T E N T S", words(("CONTENTS", 0.95)), None),  # (not "CONTENTS T E N T S")
        ("so x = y + z", words(("so", 0.95)) + words(("x=y+z", 0.95), known=False), None),
        (
            "visit c.html at 10:30",
            words(("visit", 0.95), ("c.", 0.95), ("html", 0.95), ("at", 0.95), ("10:", 0.9), ("30", 0.9)),
            None,
        ),
        ("in 1999 of the", words(("in", 0.95)) + words(("1990", 0.95), ("ofthe", 0.95), known=False), None),
        ("the methodology", words(("the", 0.95)) + words(("method", 0.6), ("ology", 0.6), known=False), None),
    ]
    for ours, theirs, expected in cases:
        assert merged(rapid(ours), theirs, SURE).text == (expected or ours), ours


def test_rapidocrs_symbols_a_reading_beyond_latin_and_a_long_line_stay_as_they_are():
    symbols = rapid("some u ∈ R with λg = λg′")
    tesseract = words(("some", 0.95), ("u", 0.95), ("€", 0.95), ("R", 0.95), ("with", 0.95), ("Ag", 0.95), ("=", 0.9))
    assert merged(symbols, tesseract, SURE) is symbols
    chinese = Reading("价格 12.50", 0.9, "12.50", 0.9)
    assert merged(chinese, words(("ffr", 0.9), ("12.50", 0.95)), SURE) is chinese
    leader = rapid("Chapter 1 " + "." * 2000 + " 5")  # (aligning 2000 dots character by character takes half a minute)
    assert merged(leader, words(("Chapter", 0.9), ("1", 0.9), ("." * 1990, 0.9), ("5", 0.9)), SURE) is leader


def tight_page(font, tight: str) -> Image.Image:
    """Four lines of English around ``tight``, its words two pixels apart (bold print that RapidOCR runs together)."""
    above = ["The results of the second survey are given below,", "together with the sources that were consulted."]
    below = ["Each source was checked against the original.", "The remaining entries follow the same order."]
    height = int(font.size * 1.5)
    image = Image.new("RGB", (1400, 20 + 6 * height), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(above + [""] + below):
        draw.text((20, 20 + row * height), line, font=font, fill="black")
    x = 20.0
    for word in tight.split():
        draw.text((x, 20 + 2 * height), word, font=font, fill="black")
        x += font.getlength(word) + 2
    return image


@needs_tesseract
def test_a_line_tesseract_is_unsure_of_most_words_of_is_read_whole_by_rapidocr_and_mended_with_its_sure_ones(service):
    """On a printed page, a line in German (its words outside English's dictionary count unsure) is RapidOCR's to read
    whole; Tesseract's spaces between the words it read fairly surely still split RapidOCR's run of them (which reads
    "derSummeninendlichen" in this print)."""
    image = tight_page(dejavu("DejaVuSerif-Bold.ttf", 22), "Allgemeine Theorie der Summen in endlichen kommutativen Ringen")
    german = service.ocr(image, "embedded").lines[2]
    assert german.engine == "rapidocr+tesseract", german
    assert "Theorie der Summen" in german.text and german.text.startswith("Allgemeine"), german.text


def test_a_draft_tesseract_is_unsure_of_most_words_of_is_not_patched_but_read_whole():
    image = Image.new("L", (300, 40), 255)

    def placed(*read: tuple[str, float]) -> list[Word]:
        return [Word(text, confidence, (10 + 90 * i, 8, 80 + 90 * i, 30), True) for i, (text, confidence) in enumerate(read)]

    mostly_unsure = Draft(placed(("Summen", 0.4), ("in", 0.95), ("Ringen", 0.4)), image, SURE)
    few = Draft(placed(("Summen", 0.4), ("in", 0.95), ("the", 0.95)), image, SURE)
    cuts: list[np.ndarray] = []

    def read(crops: list[np.ndarray]) -> list[Reading]:
        cuts.extend(crops)
        return [rapid("Sums") for _ in crops]

    first: list = [mostly_unsure, few]
    patch(first, read, SURE)
    assert not mostly_unsure.patchable() and few.patchable()
    assert first[0] is None and len(cuts) == 1  # (the first read whole, none of its words cut out)
    assert isinstance(first[1], Reading) and first[1].text == "Sums in the"


def test_a_draft_tesseract_is_unsure_of_most_words_of_mends_only_a_reading_rapidocr_is_sure_enough_of():
    """A line both engines doubt stays RapidOCR's (and is left out below the text score, as its other unsure lines are:
    "1 Britsh American a. Si epor :/at.com/204p.", mended, came back); one Tesseract was sure of most of is mended."""
    image = Image.new("L", (300, 40), 255)
    doubted = Draft(words(("Britsh", 0.4), ("American", 0.9), ("epor", 0.3)), image, SURE)
    mostly_sure = Draft(words(("British", 0.9), ("American", 0.9), ("epor", 0.3)), image, SURE)
    weak, fair = Reading.latin_only("Britsh American", 0.4, "rapidocr"), Reading.latin_only("Britsh American", 0.6, "rapidocr")
    assert not mends(doubted, weak, 0.5) and mends(doubted, fair, 0.5)
    assert mends(mostly_sure, weak, 0.5) and mends(mostly_sure, fair, 0.5)
