"""Pages laid out as published documents are (the kinds of page of olmOCR-Bench, issue #21): a PDF text layer whose
characters are placed one by one, words broken at a line's end, a page the layout model takes for one figure, the
words read inside a figure, and a page whose columns change from one band of the page to the next."""

from __future__ import annotations

import pypdfium2 as pdfium
from PIL import Image

from inference.backends.ocr.rapid_script import Reading
from inference.backends.ocr.tesseract import Word
from inference.backends.ocr.tesseract_first import Draft, foreign, mostly_sure, patch, printed
from inference.layout import Box, reading_order
from inference.markdown import blocks_to_markdown, lines_to_markdown
from inference.page_structure import Region, page_blocks
from inference.pdf_text import text_layer
from tests.helpers import drawn_pdf
from tests.helpers import line_at as line

PROSE = [
    "Over the past three decades increasing pressure from",
    "governments and the public has required companies to",
    "examine and redress the adverse impact their business",
    "has on society and the environment around them today.",
]


def one_by_one(text: str, x: float, y: float, size: int = 12) -> str:
    """``text`` drawn a character at a time, each in its own text object at its place (Courier: 0.6 em apart), as
    some PDF producers write every glyph."""
    return " ".join(f"BT /F1 {size} Tf {x + i * 0.6 * size:.2f} {y} Td ({ch}) Tj ET" for i, ch in enumerate(text) if ch != " ")


def test_a_text_layer_drawn_a_character_at_a_time_reads_as_words_and_a_broken_word_keeps_its_hyphen_on_its_line():
    body = one_by_one("Note 2 - Business Combination", 72, 700) + (
        " BT /F1 12 Tf 72 680 Td (corporate responsi\xad) Tj 0 -16 Td (bility matters) Tj ET"  # a soft hyphen
    )
    page = pdfium.PdfDocument(drawn_pdf([body], font="Courier", encoding="WinAnsiEncoding"))[0]
    text, lines = text_layer(page, (1224, 1584))  # rendered at 2x
    assert [t for t, _ in lines] == ["Note 2 - Business Combination", "corporate responsi-", "bility matters"]
    assert text == "Note 2 - Business Combination\ncorporate responsibility matters"  # the page's text: words whole
    x0, y0, x1, y1 = lines[0][1]
    assert abs(x0 - 144) <= 2 and abs(x1 - (144 + 2 * 0.6 * 12 * 29)) <= 4  # 29 characters of Courier from x=72 pt
    assert 1584 - 2 * 700 - 30 < y0 < y1 < 1584 - 2 * 700 + 10  # (y downwards)


def test_accents_drawn_apart_and_out_of_order_sit_on_their_letters():
    # TeX draws an accent as a character of its own over the letter, sometimes after the letters that follow
    body = "BT /F1 12 Tf 72 700 Td (We thank Jan Minac for his support.) Tj ET"
    body += "".join(f" BT /F1 12 Tf {72 + 7.2 * k:.1f} 700 Td (\xb4) Tj ET" for k in (10, 16))  # over both a's
    page = pdfium.PdfDocument(drawn_pdf([body], font="Courier", encoding="WinAnsiEncoding"))[0]
    _, lines = text_layer(page, (1224, 1584))
    assert [t for t, _ in lines] == ["We thank Ján Minác for his support."]


def test_text_turned_up_or_down_the_margin_is_one_line_not_a_line_a_letter():
    body = (
        "BT /F1 12 Tf 72 700 Td (A line of the page across it) Tj ET"
        " BT /F1 10 Tf 0 1 -1 0 30 200 Tm (arXiv:2503.04086v1 [math.NT] 5 Mar 2025) Tj ET"  # up the left margin
        " BT /F1 10 Tf 0 -1 1 0 590 600 Tm (Downloaded on 12 July 2017) Tj ET"  # down the right one
    )
    _, lines = text_layer(pdfium.PdfDocument(drawn_pdf([body]))[0], (1224, 1584))
    margins = ["arXiv:2503.04086v1 [math.NT] 5 Mar 2025", "Downloaded on 12 July 2017"]
    assert [t for t, _ in lines] == ["A line of the page across it", *margins]
    x0, y0, x1, y1 = lines[1][1]
    assert x1 - x0 < 40 and y1 - y0 > 300  # a tall, narrow line up the margin


def test_a_tables_cells_on_one_baseline_are_lines_of_their_own_in_the_text_layer():
    cells = " ".join(f"BT /F1 12 Tf {72 + 60 * i} 700 Td ({text}) Tj ET" for i, text in enumerate(["3.71T", "3.32T", "21.32T"]))
    caption = "BT /F1 12 Tf 72 730 Td (Table 1: the composition of the data) Tj ET "
    page = pdfium.PdfDocument(drawn_pdf([caption + cells], font="Courier"))[0]
    _, lines = text_layer(page, (1224, 1584))
    assert [t for t, _ in lines][1:] == ["3.71T", "3.32T", "21.32T"]  # 2 em apart (a column's gap): not one line


def test_a_word_broken_at_a_line_end_is_whole_in_markdown_and_a_hyphen_before_a_capital_stays():
    lines = [
        line("Tobacco industry posturing about its corporate responsi-", 10, 10, 500, 30),
        line("bility can never hide the ugly consequences of the well-", 10, 32, 500, 52),
        line("Known Company and its products.", 10, 54, 300, 74),
    ]
    assert lines_to_markdown(lines) == (
        "Tobacco industry posturing about its corporate responsibility can never hide the ugly consequences of the "
        "well-\nKnown Company and its products."
    )


def test_a_page_the_layout_model_takes_for_one_figure_is_read_as_text():
    lines = [line(text, 60, 100 + 40 * i, 740, 130 + 40 * i) for i, text in enumerate(PROSE * 2)]
    blocks = page_blocks(lines, (800, 1000), [Region("figure", 0.8, [20, 20, 780, 980])])
    assert [b.type for b in blocks] == ["text"] and blocks[0].text == "\n".join(PROSE * 2)
    assert blocks_to_markdown(blocks) == "\n".join(PROSE * 2)  # not "*[figure]*" alone


def test_a_figure_keeps_its_type_and_markdown_gives_the_words_read_in_it_after_the_placeholder():
    labels = [line("Master Bath", 100, 200, 220, 220), line("Laundry", 400, 200, 480, 220)]
    prose = [line(text, 60, 600 + 40 * i, 740, 630 + 40 * i) for i, text in enumerate(PROSE)]
    blocks = page_blocks(labels + prose, (800, 1000), [Region("figure", 0.9, [80, 150, 700, 500])])
    assert [b.type for b in blocks] == ["figure", "text"]
    markdown = blocks_to_markdown(blocks)
    assert markdown == "*[figure]*\n\nMaster Bath\nLaundry\n\n" + "\n".join(PROSE)  # the plan's labels are read


def boxes(texts: list[str], x0: float, x1: float, top: float) -> list[Box]:
    return [Box(0, x0, top + 30 * i, x1, top + 30 * i + 20, text) for i, text in enumerate(texts)]


def test_columns_that_change_from_one_band_to_the_next_are_read_column_by_column_in_each_band():
    # the end of one article in two equal columns (gutter at 290-310), then the next laid out with a wide left column
    # (gutter at 340-360): no gutter runs the page's height
    top_left = boxes([f"{t} (top left)" for t in PROSE * 2], 50, 290, 100)
    top_right = boxes([f"{t} (top right)" for t in PROSE * 2], 310, 550, 100)
    bottom_left = boxes([f"{t} (bottom left)" for t in PROSE * 2], 50, 340, 400)
    bottom_right = boxes([f"{t} (bottom right)" for t in PROSE * 2], 360, 550, 400)
    every = top_left + top_right + bottom_left + bottom_right
    for i, box in enumerate(every):
        box.index = i
    read = [box.text.split(" (")[1] for row in reading_order(every[::-1]) for box in row]
    assert read == ["top left)"] * 8 + ["top right)"] * 8 + ["bottom left)"] * 8 + ["bottom right)"] * 8


def test_a_book_pages_running_header_with_its_page_number_is_found_wherever_the_page_lies_on_the_scan():
    body = [line(text, 122, 126 + 30 * i, 650, 150 + 30 * i) for i, text in enumerate(PROSE * 3)]
    header = [  # in reading order
        line("—", 198, 0, 216, 12),  # a speck at the scan's edge
        line("400", 121, 113, 142, 125),
        line("BRITISH HUSBANDRY.", 291, 108, 467, 129),  # (an engine's box reaching into the body's first line)
        line("[Ch. XIX.", 588, 112, 652, 126),
    ]
    blocks = page_blocks(header + body, (750, 1250))  # the book's page in the middle of a larger scan
    kinds = [(b.type, b.text) for b in blocks if b.text != "—"]
    assert kinds[:2] == [("page_number", "400"), ("header", "BRITISH HUSBANDRY. [Ch. XIX.")], kinds
    assert {kind for kind, _ in kinds[2:]} == {"text"}
    markdown = blocks_to_markdown(blocks)
    assert "400" not in markdown and "HUSBANDRY" not in markdown and "XIX" not in markdown


def test_a_page_number_alone_under_the_text_is_one_where_the_text_ends_high_on_the_page():
    body = [line(text, 240, 300 + 40 * i, 1570, 330 + 40 * i) for i, text in enumerate(PROSE * 2)]
    last = body[-1].box[2][1]
    blocks = page_blocks([*body, line("62", 895, last + 80, 914, last + 100)], (1808, 2339))
    assert [b.type for b in blocks][-1] == "page_number" and "62" not in blocks_to_markdown(blocks)


def test_last_rows_that_are_not_a_page_number_stay_content():
    body = [line(text, 240, 300 + 40 * i, 1570, 330 + 40 * i) for i, text in enumerate(PROSE * 2)]
    last = body[-1].box[2][1]
    cases = {
        "two numbers: a table's last row": [
            line("Total", 240, last + 80, 400, last + 100),
            line("12", 800, last + 80, 830, last + 100),
            line("34", 1200, last + 80, 1230, last + 100),
        ],
        "a year right under the text": [line("2019", 240, last + 4, 300, last + 30)],
    }
    row = [line("Invoice", 100, 100, 200, 120), line("No.", 220, 100, 260, 120), line("7", 280, 100, 300, 120)]
    assert [b.type for b in page_blocks(row, (800, 1000))] == ["text"]  # a page of one row: its only row is content
    for name, tail in cases.items():
        blocks = page_blocks(body + tail, (1808, 2339))
        assert all(b.type == "text" for b in blocks), (name, [(b.type, b.text) for b in blocks])


def test_the_dictionarys_misses_on_every_printed_page_do_not_make_tesseract_unsure():
    def word(text: str) -> Word:
        return Word(text, 0.96, (0, 0, 10, 10), in_dictionary=False)

    misses = ["cor-", "industries—often", "1990–2000", "and/or", "Dan’s", "Jones's,", "group.bmj.com", "info@bmj.com"]
    assert [text for text in misses if foreign(word(text))] == []
    assert [text for text in ("Marz", "resume", "Muller,") if not foreign(word(text))] == []  # accents lost: re-read
    assert not foreign(word("NASA")) and not foreign(Word("March", 0.96, (0, 0, 10, 10), in_dictionary=True))
    english = frozenset({"stock", "based", "state", "of", "the", "art", "long", "term"})  # (English's words: tess_words)
    compounds = ["Stock-based", "state-of-the-art,", "(long-term)"]
    assert [text for text in compounds if foreign(word(text), english)] == []  # ("Stock-ased": RapidOCR read it again)
    assert foreign(word("Marz-Bericht"), english) and foreign(word("stock-basd"), english)  # (a part English lacks)


def draft(unsure: int, of: int, word: str = "w") -> Draft:
    words = [Word(f"{word}{i}", 0.5 if i < unsure else 0.95, (10 * i, 0, 10 * i + 8, 10)) for i in range(of)]
    return Draft(words, Image.new("L", (10 * of, 12), 255), sure=0.85)


def test_a_sample_line_is_read_well_when_tesseract_is_unsure_of_at_most_one_word_in_five_and_not_for_its_language():
    assert mostly_sure(Reading.latin_only("all sure", 0.95, "tesseract"), 0.85) and not mostly_sure(None, 0.85)
    assert mostly_sure(draft(1, 5), 0.85) and mostly_sure(draft(2, 11), 0.85)
    assert not mostly_sure(draft(1, 4), 0.85) and not mostly_sure(draft(3, 12), 0.85)
    german = draft(1, 6)
    german.words[0] = Word("Rechnung", 0.42, german.words[0].box)  # not English: RapidOCR reads the page's accents
    assert not mostly_sure(german, 0.85)


def test_a_sample_of_small_print_with_names_is_printed_and_a_receipts_is_not():
    # a paper's first page (olmOCR-Bench's): authors' names with their marks, affiliations in small print
    title = Reading.latin_only("Lassa Fever in Post-Conflict Sierra Leone, a study of cases", 0.95, "tesseract")
    names = [draft(2, 6, "Kenema"), draft(3, 14, "Fonnie"), draft(4, 15, "Kulakosky"), draft(2, 17, "antigenemic")]
    paper = [*names, title, title, draft(1, 10), draft(3, 22, "Immunology")]
    assert sum(mostly_sure(line, 0.85) for line in paper) == 3  # of 8: not enough lines...
    assert printed(paper, 0.85)  # ...but 89 words of 104 read surely
    # a till receipt: short lines, a few read surely (many words, but not their share; a sure share, but few words)
    receipt = [draft(1, 3), draft(2, 4), None, None, Reading.latin_only("TOTAL 12.00", 0.95, "tesseract")] * 2
    assert not printed(receipt[:8], 0.85)
    assert not printed([draft(3, 15) for _ in range(4)] + [draft(3, 5)] * 4, 0.85)  # 36 of 80 words unsure
    assert printed([Reading.latin_only("sure", 0.95, "tesseract")] * 5 + [None] * 3, 0.85)  # most lines well


def test_words_rapidocr_reads_in_a_line_tesseract_read_are_kept_only_when_they_look_latin():
    lines = [draft(1, 6), draft(1, 6)]
    readings = {"paid": Reading.latin_only("paid", 0.97, "rapidocr"), "mapta": Reading.latin_only("mapta", 0.97, "rapidocr")}
    first: list = list(lines)
    patch(first, lambda cuts: [readings["paid"], readings["mapta"]], 0.85)
    assert isinstance(first[0], Reading) and first[0].text == "paid w1 w2 w3 w4 w5" and first[0].engine == "tesseract+rapidocr"
    assert first[1] is None  # "mapta" (марта read as Latin): the whole line is read again and checked for its script
    names = [Reading.latin_only("SoftBank.", 0.97, "rapidocr"), Reading.latin_only("Tobacco", 0.97, "rapidocr")]
    english = {"soft", "bank", "tobacco", "paid"}  # (English's words: tess_words.dictionary)
    for english_words, patched in ((frozenset(), False), (english, True)):
        first = [draft(1, 6), draft(1, 6)]
        patch(first, lambda cuts: names, 0.85, english_words)
        assert all(isinstance(line, Reading) == patched for line in first)  # (look-alike letters, English words)
    first = [draft(1, 6)]
    patch(first, lambda cuts: [readings["mapta"]], 0.85, english)
    assert first[0] is None


def test_words_rapidocr_reads_unsure_too_are_taken_as_it_read_them_unless_below_the_text_score():
    # (read whole again, such a line's words came back no better: ~80 ms a line for nothing)
    first: list = [draft(1, 6), draft(1, 6)]
    unsure, blur = Reading.latin_only("Schieffelin,", 0.7, "rapidocr"), Reading.latin_only("—,", 0.42, "rapidocr")
    patch(first, lambda cuts: [unsure, blur], 0.85, frozenset(), text_score=0.5)
    assert isinstance(first[0], Reading) and first[0].text == "Schieffelin, w1 w2 w3 w4 w5" and first[0].latin_score == 0.7
    assert first[1] is None  # (a run it could hardly read: the whole line is read again)


def test_two_columns_whose_boxes_reach_into_a_narrow_gutter_are_read_one_after_the_other():
    # an engine's boxes are wider than the ink: two columns 1 em apart leave a quarter of a line's height between them
    left = [Box(0, 50, 100 + 40 * i, 300, 130 + 40 * i, f"{t} (left)") for i, t in enumerate(PROSE * 2)]
    right = [Box(0, 308, 100 + 40 * i, 560, 130 + 40 * i, f"{t} (right)") for i, t in enumerate(PROSE * 2)]
    for i, box in enumerate(left + right):
        box.index = i
    read = [box.text.split(" (")[1] for row in reading_order(left + right) for box in row]
    assert read == ["left)"] * 8 + ["right)"] * 8


def numbered(boxes: list[Box]) -> list[Box]:
    for i, box in enumerate(boxes):
        box.index = i
    return boxes


def test_a_rule_drawn_with_dots_under_an_abstract_does_not_join_it_to_the_columns_below_and_a_bullet_keeps_its_row():
    abstract = [Box(0, 50, 100 + 40 * i, 760, 130 + 40 * i, f"{t} (abstract)") for i, t in enumerate(PROSE)]
    dots = [Box(0, 50, 265, 760, 280, "." * 80)]
    left = [Box(0, 50, 300 + 40 * i, 390, 330 + 40 * i, f"{t} (left)") for i, t in enumerate(PROSE * 2)]
    right = [Box(0, 420, 300 + 40 * i, 760, 330 + 40 * i, f"{t} (right)") for i, t in enumerate(PROSE * 2)]
    bullet = [Box(0, 30, 302, 44, 326, "•")]  # (a bullet read apart from its item keeps to the item's row)
    every = numbered(bullet + abstract + dots + left + right)
    read = [box.text.rsplit(" (", 1)[-1] for row in reading_order(every) for box in row]
    assert read == ["abstract)"] * 4 + ["." * 80] + ["•"] + ["left)"] * 8 + ["right)"] * 8


def test_a_stamp_turned_up_the_margin_is_left_out_of_the_markdown():
    body = [line(text, 200, 300 + 40 * i, 1500, 330 + 40 * i) for i, text in enumerate(PROSE * 2)]
    stamp = line("Downloaded from jipm.irandoc.ac.ir at 6:22 on Monday", 40, 500, 64, 1500)  # up the left margin
    column = line("a tall narrow label inside the page", 800, 300, 824, 700)  # turned, but not in a margin
    blocks = page_blocks([stamp, *body, column], (1654, 2339))
    assert [(b.type, b.text) for b in blocks if b.type == "footer"] == [("footer", stamp.text)]
    markdown = blocks_to_markdown(blocks)
    assert "Downloaded" not in markdown and "tall narrow label" in markdown and PROSE[0] in markdown


def test_a_last_row_of_short_parts_across_the_foot_of_the_page_is_a_footer_even_where_a_figure_reaches():
    body = [line(text, 240, 1500 + 40 * i, 1570, 1530 + 40 * i) for i, text in enumerate(PROSE * 2)]
    last = body[-1].box[2][1]
    row = [("Revision: 2.4", 240, 420), ("P/N 119-036", 820, 990), ("10 June 2019", 1400, 1570)]
    footer = [line(text, x0, last + 12, x1, last + 38) for text, x0, x1 in row]  # (close under the text)
    for regions in ([], [Region("figure", 0.6, [200, 1450, 1600, last + 60])]):  # (a figure's box reaching over it)
        blocks = page_blocks(body + footer, (1808, 2339), regions)
        assert (blocks[-1].type, blocks[-1].text) == ("footer", "Revision: 2.4 P/N 119-036 10 June 2019"), blocks
        assert "Revision" not in blocks_to_markdown(blocks) and PROSE[0] in blocks_to_markdown(blocks)
    not_footers = {
        "two parts (a form's last row)": [footer[0], footer[2]],
        "a table's last row of figures": [
            line("Total", 240, last + 12, 400, last + 38),
            *footer[1:2],
            line("1,234", 1480, last + 12, 1570, last + 38),
        ],
        "short of the right edge": footer[:2] + [line("10 June 2019", 1100, last + 12, 1270, last + 38)],
        "a part of many words": footer[:2] + [line("and so the story ends here", 1100, last + 12, 1570, last + 38)],
    }
    for name, tail in not_footers.items():
        assert {b.type for b in page_blocks(body + tail, (1808, 2339))} == {"text"}, name
    high = [line(text, 240, 300 + 40 * i, 1570, 330 + 40 * i) for i, text in enumerate(PROSE * 2)]
    top = high[-1].box[2][1] + 12  # the same row high on the page: the foot of a page's text is not its footer
    assert {b.type for b in page_blocks(high + [line(t, x0, top, x1, top + 26) for t, x0, x1 in row], (1808, 2339))} == {"text"}


def test_a_table_or_figure_region_is_one_block_however_the_reading_order_interleaves_other_lines_with_its_own():
    """Words of a table's header above its box, read in one row with its first cells, take turns with the table's lines
    in the reading order: the region still makes one table block (read once), not one a run."""
    for kind in ("table", "figure"):
        inside = [line(f"cell {n}", 100 + 200 * n, 210, 180 + 200 * n, 230) for n in range(3)]
        above = [line(f"head {n}", 100 + 200 * n, 196, 180 + 200 * n, 212) for n in range(3)]  # (reaching into the box)
        order = [inside[0], above[0], inside[1], above[1], inside[2], above[2]]
        blocks = page_blocks(order, (800, 1000), [Region(kind, 0.9, [90, 205, 700, 400])])
        assert [b.type for b in blocks].count(kind) == 1, [(b.type, b.text) for b in blocks]
        assert next(b for b in blocks if b.type == kind).lines == inside


def test_a_slides_number_in_its_corner_is_a_page_number_though_its_row_crowds_the_logos_above():
    """A slide's last row (a company's logo lines at its left, another's at its right, the number in the corner) overlaps
    the logo lines above it, so the row is not set off as a footer; the number alone is, in the page's bottom band."""
    body = [line(text, 150, 300 + 60 * i, 1500, 345 + 60 * i) for i, text in enumerate(PROSE)]
    logos = [
        line("TELEDYNE", 154, 1236, 312, 1275),
        line("ENERGY SYSTEMS, INC.", 154, 1267, 470, 1310),
        line("AEROJET", 1341, 1255, 1680, 1304),
        line("A Teledyne Technologies Company", 154, 1306, 448, 1341),
        line("ROCKETDYNE", 1339, 1295, 1691, 1337),
    ]
    number = line("1", 1758, 1293, 1782, 1324)
    blocks = page_blocks(body + logos + [number], (1800, 1350))
    assert [(b.type, b.text) for b in blocks if b.type != "text"] == [("page_number", "1")], blocks
    assert "ROCKETDYNE" in blocks_to_markdown(blocks) and PROSE[0] in blocks_to_markdown(blocks)
    not_numbers = {
        "under another number (a column of figures)": [
            *logos,
            line("229", 1740, 1250, 1782, 1280),
            line("231", 1740, 1293, 1782, 1324),
        ],
        "above the page's bottom band": [*logos[:3], line("1", 1758, 1150, 1782, 1181)],
    }
    for name, tail in not_numbers.items():
        found = page_blocks(body + tail, (1800, 1350))
        assert all(b.type == "text" for b in found), (name, [(b.type, b.text) for b in found])
