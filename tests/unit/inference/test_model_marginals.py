"""The layout model's word for a block that a running header or footer is checked against the page (issue #21): on a
sparse page the model takes a report's title, the line under a letterhead or a formula's number for headers."""

from __future__ import annotations

from inference.markdown import blocks_to_markdown
from inference.page_structure import Region, page_blocks
from tests.helpers import line_at as line


def body(top: float, rows: int) -> list:
    """A paragraph of ``rows`` lines 20 px high, 25 px apart, from ``top``."""
    text = "Body line {} of the paragraph, long enough to be text."
    return [line(text.format(i), 60, top + 25 * i, 740, top + 25 * i + 20) for i in range(rows)]


def test_the_layout_models_headers_and_footers_are_text_when_they_are_a_title_or_the_body_lies_beyond_them():
    """On a sparse page the model takes the first lines for headers: a report's title (tall), the line under it, a
    formula's number; a footer with text under it is no footer. Its running header and footer at the edges stay."""
    lines = [
        line("Northwind  Annual Report", 60, 20, 330, 40),  # the running header, at the top edge
        line("Annual Report 2025", 60, 80, 420, 130),  # the title: more than twice the usual line
        line("Dear shareholders, thank you for your trust.", 60, 150, 500, 170),
        *body(200, 10),
        line("(1)", 700, 300, 730, 320),
        line("A note set in the footer's place, with text below it.", 60, 880, 600, 900),
        line("The last line of the body.", 60, 910, 300, 930),
        line("Northwind Analytics  Confidential", 60, 960, 330, 980),  # the running footer, at the bottom edge
    ]
    regions = [
        Region("header", 0.8, [55, 15, 340, 45]),
        Region("header", 0.7, [55, 75, 430, 135]),
        Region("header", 0.6, [55, 145, 510, 175]),
        Region("header", 0.5, [695, 295, 735, 325]),
        Region("footer", 0.6, [55, 875, 610, 905]),
        Region("footer", 0.8, [55, 955, 340, 985]),
    ]
    blocks = page_blocks(lines, (800, 1000), regions)
    kinds = {b.text.splitlines()[0]: b.type for b in blocks}
    assert kinds["Northwind  Annual Report"] == "header" and kinds["Northwind Analytics  Confidential"] == "footer", kinds
    assert kinds["Annual Report 2025"] == "title", kinds
    assert {kinds[text] for text in ("Dear shareholders, thank you for your trust.", "(1)")} == {"text"}, kinds
    assert kinds["A note set in the footer's place, with text below it."] == "text", kinds
    markdown = blocks_to_markdown(blocks)
    assert "# Annual Report 2025" in markdown and "Dear shareholders" in markdown and "Northwind" not in markdown
