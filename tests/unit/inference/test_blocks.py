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


def shown(markdown: str) -> str:
    """What a CommonMark renderer shows of Markdown, as text: a list item's number (as it counts them) before its text,
    a mark in angle brackets for any other structure (a bullet, a heading, a quote, a code block, a link, HTML...)."""
    from markdown_it import MarkdownIt

    out, counters, number = [], [], ""
    for token in MarkdownIt("commonmark").enable(["strikethrough", "table"]).parse(markdown):  # (GitHub's, as Gradio's)
        if token.type == "ordered_list_open":
            start = token.attrGet("start")
            counters.append([1 if start is None else int(start), token.markup])
        elif token.type == "ordered_list_close":
            counters.pop()
        elif token.type == "list_item_open" and token.markup in ".)":
            number = f"{counters[-1][0]}{counters[-1][1]} "
            counters[-1][0] += 1
        elif token.type == "inline":
            kinds = {"text": None, "softbreak": "\n"}
            text = "".join(c.content if c.type == "text" else kinds.get(c.type) or f"<{c.type}>" for c in token.children or [])
            out.append(number + text)
            number = ""
        elif token.type == "html_block" and token.content.strip() == "<!-- -->":
            continue  # (an empty comment, which shows nothing, between two lists)
        elif token.type not in ("paragraph_open", "paragraph_close", "list_item_close"):
            out.append(f"<{token.type}>")
    return "\n".join(out)


def test_text_that_looks_like_markdown_shows_as_the_same_text_in_a_commonmark_renderer():
    """Dashes, a rule of hyphens read under a word, tags, links, entities, a fence: each line shows as the text it is;
    numbered lines show their own numbers (as list items where CommonMark counts them right, else as text), without a
    backslash showing."""
    texts = ["- 5 C", "+ plus", "#3 bolt", "# 3 bolts", "> 10 kg", "Total\n-----", "Sum\n=", "a <b>bold</b> claim <10 mg"]
    texts += ["2 * 3 = 6 and a_b, `x` \\ y", "7.5 % of 1.", "Ref.\n7. Lamprecht", "~~~", "[1]: Smith, 2019"]
    texts += ["see [3](5) and ![x](y.png)", "&copy; 2024 &#169;", "<https://example.com>", "Total\n  - 5 C"]
    texts += ["7. Erich Lamprecht, Allgemeine Theorie", "150. s(t) = 2t3", "7. Foo\n9. Bar", "3. Gamma\n2. Beta"]
    texts += ["1. One\n2. Two\n3. Three", "01. Introduction", "7. - 5 C", "3. ---", "text\n1. one\n3. three", "1) a\n2. b"]
    for text in texts:
        markdown = blocks_to_markdown([block("text", text)])
        assert shown(markdown) == "\n".join(line.strip() for line in text.splitlines()), (text, markdown)
        assert "\\7" not in markdown and "\\1" not in markdown  # (a backslash before a digit is no escape: it shows)
    assert blocks_to_markdown([block("text", "7. Erich Lamprecht")]) == "7. Erich Lamprecht"  # (kept as it is, as a list)
    pages = [  # (blocks in a row: CommonMark counts a list on across blank lines and list blocks)
        [block("text", "1. Intro"), block("text", "3. Methods")],
        [block("list", "1. a\n2. b"), block("list", "1. c\n2. d")],
        [block("list", "7. Foo\n3. Bar\n07. Baz"), block("text", "0. zero\n1. one")],
        [block("text", "1. One"), block("title", "Methods"), block("text", "5. Five")],
        [block("text", "1) a\n2. b"), block("title", "x"), block("list", "2) b")],
    ]
    for page in pages:
        texts = [line.strip() for b in page for line in b.text.splitlines()]
        expected = [
            text if b.type != "list" or text[:1].isdigit() or text[:1] in "-+" else f"- {text}"
            for b in page
            for text in b.text.splitlines()
        ]
        rendered = shown(blocks_to_markdown(page)).replace("<heading_open>\n", "").replace("\n<heading_close>", "")
        assert rendered.replace("<bullet_list_open>\n", "").replace("\n<bullet_list_close>", "") == "\n".join(expected), (
            texts,
            blocks_to_markdown(page),
        )
    for title in ("Invoice #", "#", "C# and F#"):
        assert shown(blocks_to_markdown([block("title", title)])) == f"<heading_open>\n{title}\n<heading_close>"
    for text in (
        "https://example.com/a_b_c and snake_case",
        "~~old~~ and ~10 mg",
        "a | b\n--|--",
        "|a|\n:-",
        "Results [n=5](left)",
    ):
        assert shown(blocks_to_markdown([block("text", text)])) == text
    assert blocks_to_markdown([block("text", "1. a"), block("title", ""), block("text", "2. b")]) == "1. a\n\n2. b"
    assert shown(blocks_to_markdown([block("figure"), block("caption", "Results [n=5](left)")])) == (
        "<em_open>[figure: Results [n=5](left)]<em_close>"  # (no link made of the placeholder)
    )
    assert "https://x.org/~me/_static" in blocks_to_markdown([block("text", "see https://x.org/~me/_static now")])
    assert "\\_" not in blocks_to_markdown([block("text", "https://example.com/a_b_c")])  # (a link keeps its address)
    assert blocks_to_markdown([block("list", "[ ] box\n[x] done")]) == "- \\[ ] box\n- \\[x] done"  # (no task boxes)
    assert shown(blocks_to_markdown([block("title", "1. Introduction")])) == "<heading_open>\n1. Introduction\n<heading_close>"
    assert shown(blocks_to_markdown([block("caption", "2. Results [4](x)")])) == "<em_open>2. Results [4](x)<em_close>"


def test_a_table_with_spanning_cells_is_html():
    table = Table(rows=[[cell("Region", rowspan=2), cell("Sales", colspan=2)], [cell('Q1 "we\'ve"'), cell("<Q2>")]])
    assert table.spans
    md = blocks_to_markdown([block("table", table=table)])
    assert md.startswith("<table>") and md.endswith("</table>")
    assert '<td rowspan="2">Region</td><td colspan="2">Sales</td>' in md
    assert "<td>&lt;Q2&gt;</td>" in md
    assert '<td>Q1 "we\'ve"</td>' in md  # (quotes need no escape in a cell's text: a reader of the .md sees them)


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


def test_a_vlm_s_list_item_going_on_over_a_line_stays_one_item():
    """A page VLM's list block as it wrote it: a line without a mark after an item goes on with that item (as a
    CommonMark renderer reads it), a nested item keeps its indent; in a list without marks each line is an item."""
    written = "- a point that\ngoes on over a line\n- next point\n  - nested\n1. numbered\nwraps"
    md = blocks_to_markdown([block("list", written)], verbatim=True)
    assert shown(md).split("\n").count("<bullet_list_open>") == 2, md  # (the list and the nested one)
    assert "a point that\ngoes on over a line" in shown(md) and "numbered\nwraps" in shown(md), shown(md)
    assert shown(md).count("<list_item_open>") == 3 and "\n1. numbered\nwraps" in shown(md), shown(md)  # (and 1 numbered)
    assert blocks_to_markdown([block("list", "first\nsecond")], verbatim=True) == "- first\n- second"
