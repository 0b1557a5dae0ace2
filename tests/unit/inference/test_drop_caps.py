"""A paragraph's drop cap, read by the embedded engine as a line of its own, starts its paragraph's first line again."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from inference.drop_caps import join_drop_caps
from inference.markdown import to_markdown
from inference.values import OcrLine

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
PARAGRAPH = [
    "ver the past three decades the pressure from",
    "governments and the United Nations has led",
    "companies to examine the impact of their work",
    "on society and on the places where they trade.",
]


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrLine:
    return OcrLine(text=text, box=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence=0.9)


def test_a_drop_cap_through_the_engine_starts_its_line_and_is_no_heading(service):
    page = Image.new("RGB", (900, 360), "white")
    draw = ImageDraw.Draw(page)
    draw.text((40, 44), "O", fill="black", font=ImageFont.truetype(FONT, 64))  # (two lines tall)
    for i, text in enumerate(PARAGRAPH):
        draw.text((112 if i < 2 else 40, 44 + 40 * i), text, fill="black", font=ImageFont.truetype(FONT, 24))
    result = service.ocr(page, "embedded")
    assert result.lines[0].text.startswith("Over the past"), [one.text for one in result.lines]
    assert not any(one.text.strip() == "O" for one in result.lines)
    markdown = to_markdown(result)
    assert "#" not in markdown and markdown.startswith("Over the past"), markdown
    assert "governments and the United" in markdown.splitlines()[1], markdown  # (no mark read from the cap's edge)


def test_only_a_tall_capital_beside_the_top_of_a_line_going_on_in_small_letters_is_a_drop_cap():
    body = [line("the rest of a paragraph", 10, 200 + 30 * i, 400, 220 + 30 * i) for i in range(3)]
    cap = line("T", 10, 100, 60, 165)
    beside = [line("/his line goes on", 58, 100, 400, 120), line("|and the next", 55, 130, 400, 150)]
    joined = join_drop_caps([cap, *beside, *body])
    assert [one.text for one in joined[:2]] == ["This line goes on", "and the next"]
    assert joined[0].box == [[10, 100], [400, 100], [400, 120], [10, 120]] and len(joined) == 5
    for cases in (
        [line("A", 10, 100, 60, 165), line("Proofs of the lemmas", 66, 100, 400, 120)],  # an appendix's letter
        [line("T", 10, 100, 30, 120), line("his line goes on", 36, 100, 400, 120)],  # a letter no taller than a line
        [line("T", 10, 100, 60, 165), line("his line goes on", 66, 140, 400, 160)],  # beside its foot, not its top
        [line("T", 10, 100, 60, 165), line("his line goes on", 200, 100, 400, 120)],  # far to its right
    ):
        assert [one.text for one in join_drop_caps(cases + body)] == [one.text for one in cases + body]
