"""A page VLM's answer as blocks: its Markdown (pipe and HTML tables with spans, headings, lists, equations, figures)
and LightOnOCR-3's grounding answer (labelled blocks with 0-1000 boxes), on answers written here; and the Markdown
download rendered from those blocks keeps what the model wrote (a table stays a table)."""

from __future__ import annotations

from inference.blocks import BLOCK_TYPES
from inference.grounding import grounding_blocks, page_structure
from inference.markdown import page_markdown
from inference.markdown_blocks import html_table, markdown_blocks

VLM_MARKDOWN = """# Invoice 42

Thank you for your **order** of
last week.

| Item | Qty | Price |
|:-----|----:|------:|
| Printer paper A4 (box) | 4 | 23.50 |
| Toner \\| black | 1 | 94.00 |

- first point
- second point
  goes on
1. numbered

$$
E = mc^2
$$

![A bar chart of sales](page_1_2_3_4.png)

---

Last paragraph."""


def kinds(blocks):
    return [b.type for b in blocks]


def test_markdown_answer_becomes_typed_blocks_without_boxes():
    blocks = markdown_blocks(VLM_MARKDOWN)
    assert kinds(blocks) == ["title", "text", "table", "list", "equation", "figure", "text"]
    assert all(b.bbox is None and b.type in BLOCK_TYPES for b in blocks)
    title, paragraph, table, items, equation, figure, last = blocks
    assert title.text == "Invoice 42" and paragraph.text == "Thank you for your **order** of\nlast week."
    assert [[c.text for c in row] for row in table.table.rows] == [
        ["Item", "Qty", "Price"],
        ["Printer paper A4 (box)", "4", "23.50"],
        ["Toner | black", "1", "94.00"],
    ]
    assert items.text == "- first point\n- second point\n  goes on\n1. numbered"
    assert equation.text == "E = mc^2" and figure.text == "A bar chart of sales" and last.text == "Last paragraph."


def test_html_table_keeps_its_spans_and_its_text():
    answer = (
        "Sales by region:\n<table>\n<thead><tr><th rowspan='2'>Region</th><th colspan=\"2\">Sales</th></tr></thead>\n"
        "<tr><td>Q1</td><td>Q2 &amp; Q3<br>(est.)</td></tr>\n<tr><td>North</td><td>1</td><td>2</td></tr></table>\nAfter."
    )
    blocks = markdown_blocks(answer)
    assert kinds(blocks) == ["text", "table", "text"]
    rows = blocks[1].table.rows
    assert [(c.text, c.rowspan, c.colspan) for c in rows[0]] == [("Region", 2, 1), ("Sales", 1, 2)]
    assert [c.text for c in rows[1]] == ["Q1", "Q2 & Q3 (est.)"] and [c.text for c in rows[2]] == ["North", "1", "2"]
    assert blocks[1].table.spans and html_table("<table><tr></tr></table>") is None
    assert html_table('<table><tr><td colspan="x">a</td></tr></table>').rows[0][0].colspan == 1  # a bad span is 1


def test_a_vlm_markdown_page_survives_the_round_trip():
    """format=markdown renders a VLM page from its blocks: tables stay tables, its own Markdown is not escaped."""
    text, blocks = page_structure(VLM_MARKDOWN, (800, 1000))
    assert text == VLM_MARKDOWN  # `text` stays what the model wrote
    md = page_markdown(text, [], blocks)
    assert "| Item | Qty | Price |\n|---|---|---|\n| Printer paper A4 (box) | 4 | 23.50 |" in md
    assert "| Toner \\| black | 1 | 94.00 |" in md
    assert md.startswith("# Invoice 42\n") and "**order**" in md and "- second point\n  goes on" in md  # its level kept
    assert "$$\nE = mc^2\n$$" in md and "*[figure: A bar chart of sales]*" in md
    again = markdown_blocks(md)  # and read again, the same structure (the figure is a placeholder now: text)
    assert kinds(again) == [k if k != "figure" else "text" for k in kinds(blocks)] and again[2].table == blocks[2].table


# LightOnOCR-3's grounding answer, as LightOn's client documents it: a marker per block, its text up to the next
# marker (a table's on the following lines), boxes 0-1000, `label+` continuing the block before.
GROUNDING = """![header](50,10,950,30) ACME Corp — Annual report
![title](100,50,900,90) # Invoice 42
![text](80,100,480,300) Thank you for your order
![text+](520,100,920,300) of last week.
![table](80,320,920,600)
<table><tr><th>Item</th><th>Qty</th></tr><tr><td>Paper</td><td>4</td></tr></table>
![formula](100,620,900,660) $$E = mc^2$$
![image](1000,700,600,900) A logo
![caption](100,910,500,930) Figure 1: our logo
![footnote](80,940,920,955) 1. Prices in euros.
![page_number](480,960,520,990) 3
![mystery](0,0,10,10) odd"""


def test_grounding_answer_becomes_labelled_blocks_with_boxes_in_page_pixels():
    text, blocks = page_structure(GROUNDING, (2000, 1000))
    assert kinds(blocks) == [
        "header", "title", "text", "text", "table", "equation", "figure", "caption", "footer", "page_number", "text",
    ]  # fmt: skip
    header, title, left, right, table, formula, image, *_ = blocks
    assert header.bbox == [100.0, 10.0, 1900.0, 30.0]  # x scaled by 2000/1000, y by 1000/1000
    assert title.text == "Invoice 42" and title.level == 1 and formula.text == "E = mc^2"
    assert image.bbox == [1200.0, 700.0, 2000.0, 900.0]  # corners put in order, kept inside the page
    assert [[c.text for c in row] for row in table.table.rows] == [["Item", "Qty"], ["Paper", "4"]]
    assert table.text == "Item\tQty\nPaper\t4"
    assert "![" not in text and "Thank you for your order of last week." in text  # a continued block joins its text
    assert text.startswith("ACME Corp") and text.endswith("odd")


def test_grounding_markdown_leaves_out_marginalia_and_keeps_the_table():
    text, blocks = page_structure(GROUNDING, (1000, 1000))
    md = page_markdown(text, [], blocks)
    assert "| Item | Qty |\n|---|---|\n| Paper | 4 |" in md
    assert "\n# Invoice 42\n" in f"\n{md}" and "*[figure: Figure 1: our logo]*" in md
    for marginal in ("ACME Corp", "Prices in euros", "\n3\n"):
        assert marginal not in md


def test_titles_keep_their_heading_level():
    """A VLM's `#` to `######` stay its titles' levels in the JSON and in format=markdown; a grounding title is level 1
    and a section level 2, unless its text says its level as a Markdown heading does."""
    written = "# Annual report\n\n### Revenue by region\n\nNorth grew.\n\n## Outlook"
    blocks = markdown_blocks(written)
    assert [(b.type, b.level) for b in blocks] == [("title", 1), ("title", 3), ("text", None), ("title", 2)]
    md = page_markdown(written, [], blocks)
    assert md == "# Annual report\n\n### Revenue by region\n\nNorth grew.\n\n## Outlook"
    grounded = grounding_blocks(
        "![title](0,0,1000,50) Annual report\n![section_header](0,60,1000,90) Revenue\n![section](0,100,1000,130) ### By region",
        100,
        100,
    )
    assert [(b.text, b.level) for b in grounded] == [("Annual report", 1), ("Revenue", 2), ("By region", 3)]


def test_odd_grounding_answers():
    assert grounding_blocks("", 100, 100) == []
    lead = grounding_blocks("Preamble\n![text](0,0,1000,1000)\nbody", 10, 20)
    assert kinds(lead) == ["text", "text"] and lead[0].bbox is None and lead[1].bbox == [0.0, 0.0, 10.0, 20.0]
    table = grounding_blocks("![table](0,0,10,10) just words", 100, 100)[0]
    assert table.type == "table" and table.table is None and table.text == "just words"
    text, blocks = page_structure("![alt](image.png)\nan image's link is no marker", (10, 10))
    assert kinds(blocks) == ["figure", "text"] and text.startswith("![alt]") and blocks[0].bbox is None


def test_markdown_that_is_not_quite_right_still_reads():
    assert [(b.type, b.text) for b in markdown_blocks("# C# in practice ##\n$$ stray\nsame paragraph")] == [
        ("title", "C# in practice"),
        ("text", "$$ stray\nsame paragraph"),  # an equation never closed is not the rest of the page
    ]
    cut = markdown_blocks("<table><tr><td>a</td><td>b</td></tr><tr><td>c")  # an answer cut inside its table
    assert [[c.text for c in row] for row in cut[0].table.rows] == [["a", "b"], ["c"]]
    ragged = markdown_blocks("| a | b | c |\n|---|---|\n| 1 |")[0].table  # rows padded to the widest
    assert [[c.text for c in row] for row in ragged.rows] == [["a", "b", "c"], ["1", "", ""]]


def test_a_grounding_table_in_html_over_many_lines_keeps_its_spans():
    """LightOnOCR-3's grounding writes a table as indented HTML after its marker (head, body, a total over columns)
    and a title as a Markdown heading after its marker: one table block with its spans, one title with its level."""
    answer = (
        "![image](100,0,900,80) a logo\n\n![title](300,100,700,140) ## PAYMENT SLIP\n\n![table](40,200,960,900) <table>\n"
        "  <thead>\n    <tr>\n      <th>ITEM</th>\n      <th>QTY</th>\n      <th>SUM</th>\n    </tr>\n  </thead>\n"
        "  <tbody>\n    <tr>\n      <td>Ink</td>\n      <td>2</td>\n      <td>8.40</td>\n    </tr>\n"
        '    <tr>\n      <td colspan="2">Total :</td>\n      <td>8.40</td>\n    </tr>\n  </tbody>\n</table>\n'
    )
    figure, title, table = grounding_blocks(answer, 500, 1000)
    assert (figure.type, figure.text, figure.bbox) == ("figure", "a logo", [50.0, 0.0, 450.0, 80.0])
    assert (title.type, title.text, title.level) == ("title", "PAYMENT SLIP", 2)
    assert table.type == "table" and table.bbox == [20.0, 200.0, 480.0, 900.0]
    rows = [[(c.text, c.colspan) for c in row] for row in table.table.rows]
    assert rows == [[("ITEM", 1), ("QTY", 1), ("SUM", 1)], [("Ink", 1), ("2", 1), ("8.40", 1)], [("Total :", 2), ("8.40", 1)]]
