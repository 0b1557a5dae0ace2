"""Drop caps: a paragraph's first letter printed two or three lines tall at the left of its first lines. An engine reads
it as a line of its own ("O", then "ver the past three decades"), which Markdown then made a heading, and its edge at
times as a mark at the start of a line beside it ("/pressure"). Here the letter starts the line level with its top
again, with no space (a drop cap that is a word alone, "A" before "long time", reads as "Along": the page does not say
which), and those marks go. A tall capital beside one line only (a figure's panel label "B") is left alone."""

from __future__ import annotations

from statistics import median

from .blocks import bbox_of
from .values import OcrLine

CAP_LINES = 1.8  # a drop cap is at least this many of the page's usual line heights tall
REACH = 1.0  # line heights: the lines beside it start no further right of it than this...
LEVEL = 1.0  # ...and the one it begins has its top within this many line heights of the cap's top (a PDF's boxes reach
# up to its font's ascent, above the cap's ink)
EDGE_MARKS = "/|\\(["  # the cap's edge read at the start of a line beside it


def join_drop_caps(lines: list[OcrLine], marks: bool = True) -> list[OcrLine]:
    """The lines with each drop cap joined to the start of the line beside its top (see the module's doc); ``marks``:
    the lines are an engine's reading, whose marks read from the cap's edge go (a PDF's text layer has none)."""
    if len(lines) < 3:
        return lines
    boxes = [bbox_of(line.box) for line in lines]
    usual = median(b[3] - b[1] for b in boxes) or 1.0
    out: list[OcrLine | None] = list(lines)
    for i, (cap, box) in enumerate(zip(lines, boxes, strict=True)):
        letter = cap.text.strip()
        if not (len(letter) == 1 and letter.isalpha() and letter.isupper() and box[3] - box[1] >= CAP_LINES * usual):
            continue
        beside = [j for j, b in enumerate(boxes) if j != i and out[j] is not None and _beside(box, b, usual)]
        first = min(beside, key=lambda j: boxes[j][1], default=None)
        if first is None or len(beside) < 2 or abs(boxes[first][1] - box[1]) > LEVEL * usual:
            continue
        current = {j: line for j in beside if (line := out[j]) is not None}  # (as an earlier cap may have left them)
        words = {j: _without_edge(current[j].text.strip(), marks and boxes[j][0] <= box[2]) for j in beside}
        if not words[first][:1].islower():
            continue
        for j in beside:
            out[j] = current[j].model_copy(update={"text": words[j]})
        quad = lines[first].box  # (its left edge moved to the cap's: a skewed line stays so)
        x0, y0, x1, y1 = boxes[first]
        left = [[box[0], quad[0][1]], quad[1], quad[2], [box[0], quad[3][1]]] if len(quad) == 4 else None
        joined = {
            "text": letter + words[first],
            "box": left or [[box[0], y0], [x1, y0], [x1, y1], [box[0], y1]],
            "confidence": min(cap.confidence, lines[first].confidence),
        }
        out[first], out[i] = lines[first].model_copy(update=joined), None
    return [line for line in out if line is not None]


def _beside(cap: list[float], box: list[float], usual: float) -> bool:
    """A line level with part of the cap, starting just right of it (or reaching into it by up to a line height)."""
    return box[1] < cap[3] and box[3] > cap[1] and cap[2] - usual <= box[0] <= cap[2] + REACH * usual


def _without_edge(text: str, touching: bool) -> str:
    """A line's text without a mark read from the cap's edge: a mark before a letter, where the line's box reaches
    into the cap's."""
    if touching and len(text) > 1 and text[0] in EDGE_MARKS and text[1].isalpha():
        return text[1:]
    return text
