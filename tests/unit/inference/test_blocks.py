"""A page's blocks: rendered as Markdown (titles, tables, figures; headers and footers left out) and kept through a
job's database row."""

from __future__ import annotations

from inference.blocks import Block, OcrLine, Table, TableCell, table_text
from inference.job_tables import dump_read, load_read
from inference.markdown import blocks_to_markdown, to_markdown
from inference.page_results import PageRead, page_results
from inference.results import OcrResult


def cell(text: str, **span: int) -> TableCell:
    return TableCell(text=text, **span)


def block(kind: str, text: str = "", **extra) -> Block:
    return Block(type=kind, bbox=[0, 0, 10, 10], text=text, **extra)


def test_markdown_renders_titles_tables_and_figures_and_leaves_out_marginalia():
    table = Table(rows=[[cell("Item"), cell("Qty")], [cell("Paper | A4"), cell("4")]])
    blocks = [
        block("header", "ACME Corp — Annual report"),
        block("title", "Invoice 42"),
        block("text", "Thank you for\nyour order."),
        block("table", table_text(table), table=table),
        block("figure"),
        block("caption", "Figure 1: our logo"),
        block("list", "first\nsecond"),
        block("footer", "acme.example"),
        block("page_number", "3"),
    ]
    md = blocks_to_markdown(blocks)
    assert md.splitlines()[0] == "## Invoice 42"
    assert "| Item | Qty |\n|---|---|\n| Paper \\| A4 | 4 |" in md
    assert "*[figure: Figure 1: our logo]*" in md
    assert "- first\n- second" in md
    assert "Thank you for\nyour order." in md
    for marginal in ("ACME Corp", "acme.example", "\n3\n"):
        assert marginal not in md
    assert md.count("Figure 1") == 1  # the caption went into the placeholder, not again on its own


def test_the_words_in_a_figure_follow_it_as_text_and_its_large_print_makes_no_heading():
    """A photo of a device: its screen's large digits and its logo are words in the picture, not the document's
    headings (the same lines outside a figure are)."""

    def line(text: str, top: int, height: int) -> OcrLine:
        return OcrLine(text=text, box=[[10, top], [200, top], [200, top + height], [10, top + height]], confidence=0.9)

    lines = [line("RMS", 0, 20), line("12.4 kHz", 40, 60), line("Lake Shore", 120, 20), line("CRYOTRONICS", 160, 20)]
    md = blocks_to_markdown([block("figure", "\n".join(one.text for one in lines), lines=lines)])
    assert md == "*[figure]*\n\nRMS\n\n12.4 kHz\n\nLake Shore\n\nCRYOTRONICS", md
    assert "\n# 12.4 kHz\n" in blocks_to_markdown([block("text", "", lines=lines)])


def test_text_that_looks_like_markdown_reads_as_the_same_text_in_a_commonmark_parser():
    """A dash, a rule of hyphens read under a word, a tag-like word: each line is a paragraph's text again after parsing
    (no list, quote, heading or HTML, no backslash left showing); a numbered line is kept as it is and shows its own
    number (as a list item), in a title too."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    texts = ["- 5 C", "+ plus", "#3 bolt", "# 3 bolts", "> 10 kg", "Total\n-----", "Sum\n=", "a <b>bold</b> claim <10 mg"]
    texts += ["2 * 3 = 6 and a_b, `x` \\ y", "7.5 % of 1.", "Ref.\n7. Lamprecht"]
    for text in texts:
        tokens = parser.parse(blocks_to_markdown([block("text", text)]))
        assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], (text, tokens)
        children = tokens[1].children or []
        assert "".join("\n" if c.type == "softbreak" else c.content for c in children) == text, text
    for text in ("7. Erich Lamprecht, Allgemeine Theorie", "150. s(t) = 2t3"):
        markdown = blocks_to_markdown([block("text", text)])
        assert markdown == text
        number, rest = text.split(". ", 1)
        tokens = parser.parse(markdown)
        assert tokens[0].type == "ordered_list_open" and tokens[0].attrGet("start") == int(number), tokens
        assert [t.content for t in tokens if t.type == "inline"] == [rest]
    tokens = parser.parse(blocks_to_markdown([block("title", "1. Introduction")]))
    assert tokens[0].type == "heading_open" and [c.content for c in tokens[1].children or []] == ["1. Introduction"]


def test_a_table_with_spanning_cells_is_html():
    table = Table(rows=[[cell("Region", rowspan=2), cell("Sales", colspan=2)], [cell("Q1"), cell("<Q2>")]])
    assert table.spans
    md = blocks_to_markdown([block("table", table=table)])
    assert md.startswith("<table>") and md.endswith("</table>")
    assert '<td rowspan="2">Region</td><td colspan="2">Sales</td>' in md
    assert "<td>&lt;Q2&gt;</td>" in md


def test_blocks_survive_a_jobs_row_and_reach_the_page_result():
    line = OcrLine(text="Total 9.99", box=[[1, 2], [30, 2], [30, 9], [1, 9]], confidence=0.9, engine="rapidocr")
    table = Table(rows=[[cell("Total", bbox=[1, 2, 10, 9]), cell("9.99")]])
    read = PageRead(0, 2, (40, 20), "ocr", 0.5, text="Total 9.99", lines=[line], blocks=[block("table", table=table)])
    back = load_read(0, 2, dump_read(read))
    assert back.blocks == read.blocks and back.blocks[0].table.rows[0][0].bbox == [1, 2, 10, 9]
    page = page_results([back])[0]
    assert page.blocks[0].type == "table"
    result = OcrResult(text="", model="m", processing_time=0, image_size=[40, 20], pages=[page])
    assert "| Total | 9.99 |" in to_markdown(result)


def test_a_row_without_blocks_reads_back_with_none():
    read = PageRead(0, 1, (4, 4), "ocr", text="x")
    assert load_read(0, 1, dump_read(read)).blocks == []
