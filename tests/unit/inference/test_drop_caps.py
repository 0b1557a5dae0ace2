"""A paragraph's drop cap, read by the embedded engine as a line of its own, starts its paragraph's first line again."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from inference.drop_caps import join_drop_caps
from inference.markdown import to_markdown
from inference.pdf_text import _drop_cap
from tests.helpers import drawn_pdf, needs_tesseract
from tests.helpers import line_at as line

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
PARAGRAPH = [
    "ver the past three decades the pressure from",
    "governments and the United Nations has led",
    "companies to examine the impact of their work",
    "on society and on the places where they trade.",
]


@needs_tesseract  # (RapidOCR alone reads the drop cap 'O' as '0': no letter to join)
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
    skewed = line("his line", 58, 100, 400, 120).model_copy(update={"box": [[58, 104], [400, 96], [400, 116], [58, 124]]})
    assert join_drop_caps([cap, skewed, beside[1], *body])[0].box == [[10, 104], [400, 96], [400, 116], [10, 124]]
    layer = join_drop_caps(
        [cap, beside[0].model_copy(update={"text": "his line"}), line("(see Fig. 2)", 55, 130, 400, 150)], False
    )
    assert [one.text for one in layer] == ["This line", "(see Fig. 2)"]  # (a text layer's marks are its text)
    for cases in (
        [line("A", 10, 100, 60, 165), line("Proofs of the lemmas", 66, 100, 400, 120)],  # an appendix's letter
        [line("B", 10, 100, 60, 165), line("mean time (s)", 66, 100, 400, 120)],  # a panel's label beside one line
        [line("T", 10, 100, 30, 120), line("his line goes on", 36, 100, 400, 120)],  # a letter no taller than a line
        [line("T", 10, 100, 60, 165), line("his line goes on", 66, 142, 400, 162)],  # beside its foot, not its top
        [line("T", 10, 100, 60, 165), line("his line goes on", 200, 100, 400, 120)],  # far to its right
    ):
        assert [one.text for one in join_drop_caps(cases + body)] == [one.text for one in cases + body]


def test_a_drop_cap_in_a_pdfs_text_layer_starts_its_line_in_the_markdown(client):
    """The cap drawn on its own (a line of its own in the layer), the paragraph beside and under it."""
    body = ["BT /F1 44 Tf 72 690 Td (O) Tj ET"]
    for i, text in enumerate(PARAGRAPH):
        body.append(f"BT /F1 12 Tf {108 if i < 2 else 72} {710 - 15 * i} Td ({text}) Tj ET")
    pdf = drawn_pdf([" ".join(body)])
    markdown = client.post("/ocr?format=markdown", files={"file": ("cap.pdf", pdf, "application/pdf")})
    page = markdown.text.split("-->", 1)[1]  # (after "<!-- page 1 -->")
    assert markdown.status_code == 200 and page.strip().startswith("Over the past three decades"), markdown.text
    assert "#" not in page and "\nO\n" not in page


def test_a_text_layer_line_begun_by_a_drop_cap_is_as_tall_as_its_other_letters():
    """PDFium may put the cap and the line beside its top in one line: the cap's height makes no heading of it."""
    cap, small = (100.0, 170.0, 126.0, 208.0), (127.0, 199.0, 131.0, 207.0)  # (left, bottom, right, top), as PDFium's
    assert _drop_cap(cap, small, "O")
    assert not _drop_cap(cap, small, "o") and not _drop_cap(cap, (127.0, 170.0, 131.0, 178.0), "O")  # at its foot
    assert not _drop_cap((100.0, 199.0, 106.0, 208.0), small, "O")  # a capital as tall as the letters after it
