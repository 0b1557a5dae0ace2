"""Tesseract first: the words of a line Tesseract is unsure of, cut out for RapidOCR to read again, and the line patched
with its readings."""

from PIL import Image

from inference.backends.ocr.rapid_script import Reading
from inference.backends.ocr.tesseract import Word
from inference.backends.ocr.tesseract_first import Draft, plain_english, uncapped
from tests.helpers import ENGLISH, needs_tesseract, render_lines


def test_only_the_words_tesseract_is_unsure_of_are_read_again():
    words = [
        Word("Total", 0.96, (10, 8, 70, 30)),
        Word("dve", 0.40, (80, 8, 120, 30)),
        Word("on", 0.50, (130, 8, 150, 30)),
        Word("March", 0.95, (160, 8, 230, 30)),
        Word("l2", 0.30, (240, 8, 270, 30)),
    ]
    draft = Draft(words, Image.new("L", (400, 40), 255), sure=0.85)
    assert draft.runs() == [(1, 3), (4, 5)]  # runs of consecutive unsure words
    assert draft.cut((1, 3)).shape == (40, 155 - 75, 3)  # from the middle of the gap before to that after
    assert draft.cut((4, 5)).shape == (40, 400 - 235, 3)  # the last word: to the end of the line
    overlapping = Draft(
        [Word("Total", 0.96, (10, 8, 70, 30)), Word("|", 0.3, (64, 8, 67, 30)), Word("due", 0.96, (60, 8, 120, 30))],
        Image.new("L", (200, 40), 255),
        sure=0.85,
    )
    assert overlapping.cut((1, 2)) is None  # boxes that overlap leave nothing to read alone: the line is read whole
    assert overlapping.cut((0, 2)).shape == (40, 67, 3)  # never cut into the run's own words (to "|"'s right edge)
    line = draft.patched(
        {(1, 3): Reading.latin_only("due on", 0.97, "rapidocr"), (4, 5): Reading.latin_only("12", 0.9, "rapidocr")}
    )
    assert (line.text, line.score, line.engine) == ("Total due on March 12", 0.9, "tesseract+rapidocr")


def test_a_run_of_unsure_words_takes_in_the_words_whose_boxes_reach_into_its_cut():
    """Their letters would be read twice ("the e plants": "the" ends 5 px into the cut of "plants;") or the run's left
    out (Tesseract's box of "Allgemeine" over the next words and into the cut of "Summen", whose "Sum" a cut from the
    middle of the gap before it would leave out): RapidOCR reads them again with the run."""

    def draft(*read: tuple[str, float, int, int]) -> Draft:
        words = [Word(text, confidence, (x0, 8, x1, 30)) for text, confidence, x0, x1 in read]
        return Draft(words, Image.new("L", (read[-1][3] + 20, 40), 255), sure=0.85)

    plants = draft(("by", 0.96, 453, 478), ("the", 0.96, 484, 511), ("plants;", 0.8, 506, 596), ("for", 0.96, 609, 638))
    assert plants.runs() == [(1, 3)] and plants.edges((1, 3)) == (481, 602)
    german = draft(("Allgemeine", 0.96, 12, 402), ("der", 0.93, 258, 298), ("Summen", 0.4, 408, 551))
    assert german.runs() == [(0, 3)]
    touching = draft(("Total", 0.96, 10, 70), ("dve", 0.3, 72, 100), ("now", 0.96, 96, 150))
    assert touching.runs() == [(1, 2)]  # (4 px into the cut: not more than MIN_CUT)
    joined = draft(("Tota1", 0.3, 10, 50), ("due", 0.95, 45, 100), ("n0w", 0.3, 94, 140), ("paid", 0.95, 150, 190))
    assert joined.runs() == [(0, 3)]  # ("due" reaches into both runs' cuts: one run)
    apart = draft(("Tota1", 0.3, 10, 50), ("due", 0.95, 60, 100), ("n0w", 0.3, 110, 140))
    assert apart.runs() == [(0, 1), (2, 3)]


@needs_tesseract
def test_english_words_joined_by_hyphens_are_kept_as_tesseract_read_them(service):
    """ "Stock-based" and "long-term" are not in English's dictionary, their parts are: Tesseract's sure reading is kept,
    not counted unsure as a word that may have lost its accents (RapidOCR read such a cut "Stock-ased")."""
    lines = [*ENGLISH, "Stock-based compensation is a long-term cost", "Solar power capacity grew", "panel prices today."]
    result = service.ocr(render_lines(lines), "embedded")
    compound = next(line for line in result.lines if "compensation" in line.text)
    assert (compound.engine, compound.text) == ("tesseract", lines[3]), compound


@needs_tesseract
def test_a_page_whose_first_half_sample_tesseract_cannot_read_is_not_sampled_further(settings, monkeypatch):
    """Four lines of the sample, spread over the page, each read with more than half its words unsure (a script Tesseract
    has no English for, handwriting): the page is not printed Latin, and the sample's other four lines are not read by
    Tesseract first (RapidOCR reads them, as every line of such a page): ~50 ms a page of handwriting. (A hint of English:
    no script check reads the lines again afterwards, so Tesseract's English reads are the sample's alone.)"""
    from inference import InferenceService
    from tests.helpers import font_or_skip, render_with, tesseract_reads
    from tests.polling import unload_all

    font = font_or_skip(30)
    reads = tesseract_reads(monkeypatch)  # (before the model is loaded: its own service)
    service = InferenceService(settings)
    words = ["Товарный чек номер", "Благодарим за покупку", "Кассир Иванова Мария", "Сумма к оплате рублей"]
    try:
        service.ocr(render_with(font, words * 3), "embedded", language="en")
    finally:
        unload_all(service.manager)
    assert reads == {"eng": 4}, reads


@needs_tesseract
def test_a_lone_digit_in_a_cell_cut_sideways_is_not_read_by_tesseract_first(service):
    """An invoice's quantity "1" in its ruled cell is detected in a box taller than wide, which RapidOCR cuts turned a quarter
    (as it cuts a line running up the page): Tesseract read it on its side, "a", at 0.92. Such lines are RapidOCR's, which
    reads them each way (``turned_lines``)."""
    from tests.helpers import INVOICE_ROWS, font_or_skip, ruled_invoice

    result = service.ocr(ruled_invoice(font_or_skip(22)), "embedded")
    assert result.text.splitlines() == [" ".join(row) for row in INVOICE_ROWS]
    assert any(line.engine == "tesseract" for line in result.lines)  # (a page Tesseract reads first)


NAMED = [
    "The survey was carried out in the spring of the second year.",
    "Samples were sent to Kenema Government Hospital for testing.",
    "Each result was checked against the original records.",
    "The remaining entries follow in the same order as before.",
    "Our thanks go to the staff of the Rhydybont farm for their help.",
    "Copies of the report are kept in the library of the college.",
    "Questions about the method may be sent to the first author.",
    "The figures below give the totals for each of the districts.",
]


@needs_tesseract
def test_on_a_page_in_english_names_outside_its_dictionary_are_read_by_tesseract_alone(service, monkeypatch):
    """A page whose sample reads as English (``plain_english``): a name outside English's dictionary in a line of English
    words ("Kenema", "Rhydybont") has lost no accents, and Tesseract's sure reading of it stands. RapidOCR read each again
    (a patch), and the line whole and its script where the name looked like Cyrillic look-alikes ("Kenema"): ~4% of the
    peer pages' time. A line in German on such a page is still read whole by RapidOCR (test_line_merge), and pages in
    French or German keep their accents (test_ocr_scripts)."""
    from tests.helpers import recogniser_reads
    from tests.polling import loaded_backend

    page = render_lines(NAMED, 30)
    service.ocr(page, "embedded")
    reads = recogniser_reads(loaded_backend(service.manager, "embedded"), monkeypatch)
    result = service.ocr(page, "embedded")
    assert [(line.engine, line.text) for line in result.lines] == [("tesseract", text) for text in NAMED]
    assert sum(reads) == 0  # (RapidOCR read none of it: it read the two names' lines before)


def test_a_sample_in_english_has_enough_words_read_surely_and_few_outside_its_dictionary():
    image = Image.new("L", (400, 40), 255)

    def draft(*read: tuple[str, float, bool]) -> Draft:
        words = [Word(text, sure, (10 + 60 * i, 8, 60 + 60 * i, 30), known) for i, (text, sure, known) in enumerate(read)]
        return Draft(words, image, 0.85, words)

    english = [Reading.latin_only("The results of the survey are given below", 0.95, "tesseract")] * 3
    named = draft(*[(word, 0.95, word != "Kenema") for word in ["Samples", "went", "to", "Kenema", "for", "testing"]])
    assert plain_english([*english, named], 0.85)  # 30 words read surely, one outside the dictionary
    assert not plain_english([english[0], named], 0.85)  # too few words to tell
    french = draft(("Facture", 0.95, False), ("numero", 0.95, False), ("du", 0.95, False), ("mars", 0.95, True))
    assert not plain_english([*english, french, french], 0.85)  # 4 in 32 outside it: a French page's lines
    assert isinstance(uncapped(named, 0.85), Reading)  # (a sample line: its name as sure as Tesseract read it)
    german = draft(("Theorie", 0.95, False), ("der", 0.95, False), ("Summen", 0.95, False), ("in", 0.95, True))
    assert isinstance(uncapped(german, 0.85), Draft)  # (a line of words outside it, on any page: RapidOCR's to read)
