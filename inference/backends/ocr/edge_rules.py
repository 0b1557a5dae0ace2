"""A table's rules at a line crop's ends, painted over before Tesseract reads the line.

A cell's text is detected in a box that may take in the cell's left or right rule (a ruled invoice). RapidOCR reads
past it; Tesseract reads it as a character: "[Цена", "[11", "192.55" for 92.55. A column at either end of the crop
(within EDGE line heights) that is ink from the crop's top to its bottom (it or the columns beside it: a rule that
leans) is a rule: a character's stroke stops short of the margins the detector leaves above and below a line (the "1"
of "11" spans ~70% of its crop). It is painted with the crop's paper grey where a line is read again (the script
check, a hint of scripts only Tesseract reads), not for Tesseract's first reading of a page's lines: there a rule read
as a mark leaves the line to RapidOCR, which reads short cells better ("pc" and "2 m" came out "Pe" and "2m" from
Tesseract, sure of them).

Where a line is read again, light print on a dark band is also turned dark on light here (``dark_on_light``), so that
Tesseract need not try each line it is unsure of inverted as well (its ``tessedit_do_invert``: a second pass of its
network on every such line; a page in a script no engine here reads is all such lines).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .line_band import grey_levels, print_lighter

RULE_INK = 0.95  # share of a column's rows that are ink, for a rule (a character's stroke: ~0.7 at most)
EDGE = 0.5  # line heights from each end of the crop where a rule is looked for
MIN_CONTRAST = 60  # grey levels between the paper and the darkest ink: less, and nothing is painted
MIN_HEIGHT = 8  # px: a lower crop is left as it is
SLANT = 2  # px a rule may run aside from top to bottom (a box that leans a little: its crop is turned)


def without_edge_rules(grey: np.ndarray) -> np.ndarray:
    """A line crop in grey (dark on light) with the rules at its ends painted with its paper's grey: a copy, or the crop
    itself when it has none."""
    height, width = grey.shape
    if height < MIN_HEIGHT or width < 4:
        return grey
    darkest, paper = grey_levels(grey, (0.01, 0.5))
    if paper - darkest < MIN_CONTRAST:
        return grey
    inked = np.pad(grey < (paper + darkest) / 2, ((0, 0), (SLANT, SLANT)))
    near = np.logical_or.reduce([inked[:, k : k + width] for k in range(2 * SLANT + 1)])  # (a column or those beside it)
    share = near.mean(axis=0)
    edge = max(2, min(int(EDGE * height), width // 4))
    ends = np.r_[0:edge, width - edge : width]
    rules = ends[share[ends] >= RULE_INK]
    if not rules.size:
        return grey
    out = grey.copy()
    for column in rules:
        out[:, max(0, column - SLANT) : column + SLANT + 1] = round(paper)
    return out


def dark_on_light(grey: np.ndarray) -> np.ndarray:
    """A line crop in grey as dark print on light paper: inverted when its print is lighter than its paper (``line_band``'s
    ``print_lighter``, by the 2%, 50% and 98% grey levels: a few light strokes count), else itself. Black print on a
    mid-grey band, or a cell whose rules run along the crop's edges, stays as it is."""
    return 255 - grey if print_lighter(*grey_levels(grey, (0.02, 0.5, 0.98))) else grey


def unruled(cut: np.ndarray) -> Image.Image:
    """A line crop as Tesseract reads it whole (a hint of scripts only it reads), without its own inversion: as cut, or in
    grey, dark on light (``dark_on_light``) and without the rules at its ends where it has them."""
    grey = np.asarray(Image.fromarray(cut).convert("L"))
    cleared = without_edge_rules(dark_on_light(grey))
    return Image.fromarray(cut) if cleared is grey else Image.fromarray(cleared)
