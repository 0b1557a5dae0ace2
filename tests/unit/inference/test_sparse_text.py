"""A few lines of print alone on a large, mostly empty image (a short note or label scanned at 150-200 dpi, a dialog on
a 4K screenshot): RapidOCR's detector finds them poorly on the whole canvas, whatever its scale (two lines of 14 px
print on a 200-dpi page: none found; on a 150-dpi page one of two; a 4K dialog's three lines: "Cancel" alone), and
well in a piece of the image around them (``rapid_sparse``). Images rendered here."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inference.backends.ocr.rapid_detect import Found
from inference.backends.ocr.rapid_sparse import FEW_LINES, with_sparse_text
from tests.helpers import cyrillic_font, font_or_skip

NOTE = ["Invoice 5821", "Total 318.40"]
DIALOG = ["Save changes to document?", "Your changes will be lost if you don't save them.", "Cancel"]


def drawn(size: tuple[int, int], px: int, lines: list[tuple[int, int, str]], background=(255, 255, 255)) -> Image.Image:
    font = font_or_skip(px)  # (DejaVu Sans: .ci/run installs it)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for x, y, text in lines:
        draw.text((x, y), text, fill="black", font=font)
    return image


def note(size: tuple[int, int], px: int) -> Image.Image:
    return drawn(size, px, [(150, 200, NOTE[0]), (150, 200 + 2 * px, NOTE[1])])


def dialog(px: int, size: tuple[int, int] = (3840, 2160)) -> Image.Image:
    width, height = size
    image = drawn(size, px, [], background=(240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 2 - 250, height // 2 - 90, width // 2 + 250, height // 2 + 90), fill="white", outline=(120,) * 3)
    font = cyrillic_font(px)
    spots = [
        (width // 2 - 230, height // 2 - 70),
        (width // 2 - 230, height // 2 - 70 + 2 * px),
        (width // 2 + 100, height // 2 + 50),
    ]
    for (x, y), text in zip(spots, DIALOG, strict=True):
        draw.text((x, y), text, fill="black", font=font)
    return image


def words(text: str) -> list[str]:
    return [word.strip(".,?!") for word in text.split()]


@pytest.mark.parametrize(("size", "px"), [((1700, 2200), 14), ((1700, 2200), 17), ((1275, 1650), 14)])
def test_a_few_words_of_small_print_alone_on_a_page_are_read(service, size, px):
    result = service.ocr(note(size, px), model="rapidocr")
    assert [line.text for line in result.lines] == NOTE, result.text  # (before: none, none, and the first line alone)
    assert result.lines[0].box[0][1] < result.lines[1].box[0][1] < 200 + 3 * px  # (where they are on the page)
    assert all(150 - px <= x <= 150 + 12 * px for line in result.lines for x, _ in line.box), result.lines


@pytest.mark.parametrize("px", [12, 16])
def test_a_dialog_on_a_4k_screenshot_is_read_each_line_once(service, px):
    result = service.ocr(dialog(px), model="rapidocr")
    assert len(result.lines) == 3, result.text  # (before: "Cancel" alone; a piece's lines found before are not added twice)
    assert words(result.text) == words(" ".join(DIALOG)), result.text


def test_pages_of_print_and_blank_images_are_detected_once(service, detections):
    print_lines = [(80, 60 + row * 40, f"Row {row} of a page of ordinary print, read once") for row in range(FEW_LINES + 3)]
    page = drawn((1700, 2200), 24, print_lines)
    blank = Image.new("RGB", (2480, 3508), "white")
    blank.paste((0, 0, 0), (900, 1500, 903, 1503))  # (a speck of dust)
    read = service.ocr(page, model="rapidocr")
    on_the_page = len(detections)
    detections.clear()
    service.ocr(blank, model="rapidocr")
    assert len(read.lines) == FEW_LINES + 3 and on_the_page == 1, (len(read.lines), on_the_page)
    assert len(detections) <= 2, detections  # (the blank scan: once, and once finer for its speck at most; no piece)


def test_enough_lines_found_are_taken_as_they_are():
    boxes = np.array([[[10, y], [300, y], [300, y + 20], [10, y + 20]] for y in range(0, 40 * (FEW_LINES + 1), 40)], np.float32)
    found = Found([np.zeros((20, 290, 3), np.uint8)] * len(boxes), boxes, {"preprocess": {"ratio_h": 1.0, "ratio_w": 1.0}})
    image = np.full((2000, 1500, 3), 255, np.uint8)
    image[1500:1520, 200:400] = 0  # (ink the lines found do not hold: not looked at, with so many found)
    assert with_sparse_text(None, image, found) is found


def test_ink_everywhere_in_specks_costs_a_few_pieces_not_thousands(service, monkeypatch):
    # (a 40 Mpx page of single dark pixels where a strided thumbnail samples them: 13,872 patches, joined two by two
    # in pure Python for ~50 s while the model waited; an attack pass)
    from inference.backends.ocr import rapid_sparse

    joined, real = [], rapid_sparse._merged
    monkeypatch.setattr(rapid_sparse, "_merged", lambda rects: joined.append(len(rects)) or real(rects))
    dots, step = np.full((4000, 4000), 255, np.uint8), 4  # (step: the thumbnail's, 4000 px / 1024)
    for column in range(20):  # (marks of 3 specks 15 thumbnail px apart across, 5 down: 1,200 patches)
        for row in range(60):
            for dx in range(3):
                dots[step * (row * 5 + 2), step * (column * 15 + dx + 2)] = 0
    result = service.ocr(Image.fromarray(dots).convert("RGB"), model="rapidocr")
    assert not result.lines and joined and max(joined) <= 4 * rapid_sparse.MAX_PIECES, joined


def test_thin_strokes_on_a_very_wide_image_are_found_whole(service):
    # (ink looked for on every step-th pixel of a 32000 px wide image missed strokes between them: "10 42" was read for
    # "Label 10 42", its piece cut at the first stroke it saw)
    labels = [(600 + k * 2600, 120 + (k % 2) * 140, f"Label {k} 42") for k in range(6)]
    result = service.ocr(drawn((16000, 500), 18, labels), model="rapidocr")
    read = sorted(words(result.text))
    assert read == sorted(words(" ".join(text for _, _, text in labels))), result.text
