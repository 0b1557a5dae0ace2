"""Words placed in a table: an engine's lines cut into pieces at the gaps and rules that separate cells.

An OCR engine reads a line of a table whole when its cells sit close ("Printer paper A4 (box) 4 23.50 94.00").
The line's ink, seen in the image, has its gaps: word gaps, and wider ones between cells; a ruled line between
cells is a gap too once the rules are erased. The line's words are shared out to the runs of ink between those
gaps: one word a run when the counts agree, else by where each word falls along the line (its characters' share
of the text against the runs' share of the ink)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ...blocks import OcrLine, bbox_of
from .table_image import ink_runs

WORD_GAP = 0.12  # of a line's height: ink closer than this is one word
CELL_GAP = 0.6  # of a line's height: a gap this wide inside a line separates cells
RULE_CHARS = "|¦‖│┃"
_RULE_TOKEN = re.compile(rf"(?<!\S)[{RULE_CHARS}]+(?!\S)")
_RULE_EDGE = re.compile(rf"(?:^[{RULE_CHARS}]+(?=\S))|(?:(?<=\S)[{RULE_CHARS}]+$)")


@dataclass
class Piece:
    """Words of one line that belong together (one cell's share of the line), with their extent."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def strip_rule_text(text: str) -> str:
    """A line's text without what ruled lines leave in it: "|" standing alone, or stuck to a word's start or end."""
    words = [_RULE_EDGE.sub("", word) for word in _RULE_TOKEN.sub(" ", text).split()]
    return " ".join(word for word in words if word)


def strip_rule_artefacts(lines: list[OcrLine]) -> list[OcrLine]:
    """The lines with the "|" of ruled lines taken out of their text; lines left empty are dropped."""
    cleaned = []
    for line in lines:
        text = strip_rule_text(line.text) if any(ch in line.text for ch in RULE_CHARS) else line.text
        if text.strip():
            cleaned.append(line if text == line.text else line.model_copy(update={"text": text}))
    return cleaned


def _groups(runs: list[tuple[float, float]], height: float, cuts: list[float]) -> list[list[int]]:
    """Word runs joined into cell groups: a new group after a gap of CELL_GAP line heights, or at a cut (a rule)."""
    groups = [[0]]
    for i in range(1, len(runs)):
        gap_start, gap_end = runs[i - 1][1], runs[i][0]
        cut = any(gap_start - 2 <= x <= gap_end + 2 for x in cuts)
        if cut or gap_end - gap_start >= CELL_GAP * height:
            groups.append([])
        groups[-1].append(i)
    return groups


def split_line(line: OcrLine, text_ink: np.ndarray, cuts: list[float], origin: tuple[float, float] = (0, 0)) -> list[Piece]:
    """The line as pieces, in the coordinates of ``text_ink`` (the binarised table with its rules erased; ``origin``
    is where it lies in the page), cut at wide gaps and at ``cuts`` (x of vertical rules). A PDF's text layer's "|" are
    its own characters, not an engine's reading of a rule."""
    text = line.text if line.engine == "text-layer" else strip_rule_text(line.text)
    x0, y0, x1, y1 = bbox_of(line.box)
    x0, x1, y0, y1 = x0 - origin[0], x1 - origin[0], y0 - origin[1], y1 - origin[1]
    words = text.split()
    if not words:
        return []
    height = max(y1 - y0, 1.0)
    runs = ink_runs(text_ink, (x0, y0, x1, y1), max(2.0, WORD_GAP * height))
    inside = [x for x in cuts if x0 < x < x1]
    groups = _groups(runs, height, inside)
    if len(groups) == 1 or len(words) == 1:
        return [Piece(text, max(x0, runs[0][0]), y0, min(x1, runs[-1][1]), y1)]
    if len(runs) == len(words):  # one word a run: exact
        group_of = {run: g for g, members in enumerate(groups) for run in members}
        assigned = [group_of[i] for i in range(len(words))]
    else:
        assigned = _by_share(words, runs, groups, height)
    pieces = []
    for g, members in enumerate(groups):
        mine = [w for w, a in zip(words, assigned, strict=True) if a == g]
        if mine:
            pieces.append(Piece(" ".join(mine), runs[members[0]][0], y0, runs[members[-1]][1], y1))
    return pieces


def _by_share(words: list[str], runs: list[tuple[float, float]], groups: list[list[int]], height: float) -> list[int]:
    """Each word's group, by where its middle falls along the text against where the groups lie along the ink (the
    gaps between groups counted as one space each, as in the text)."""
    space = 0.3 * height
    widths = [runs[m[-1]][1] - runs[m[0]][0] for m in groups]
    total = sum(widths) + space * (len(groups) - 1)
    ends, position = [], 0.0
    for width in widths:
        position += width
        ends.append((position + space / 2) / total)
        position += space
    text_length = len(" ".join(words))
    assigned, position = [], 0
    for word in words:
        middle = (position + len(word) / 2) / text_length
        assigned.append(next((g for g, end in enumerate(ends) if middle <= end), len(groups) - 1))
        position += len(word) + 1
    return assigned
