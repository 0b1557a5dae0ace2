"""OCR scoring, by the conventions of the shared data README: whitespace collapsed, CER on reading order."""

from __future__ import annotations

import re
from collections import Counter


def normalise(text: str, casefold: bool = False) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text.casefold() if casefold else text


def levenshtein(a: str, b: str) -> int:
    """The edit distance, bit-parallel (Myers 1999, Hyyro 2003: one column of the table per step, as the bits of
    an int): a page of 3000 characters in milliseconds, where the table cell by cell took seconds."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    masks: dict[str, int] = {}
    for i, char in enumerate(b):
        masks[char] = masks.get(char, 0) | 1 << i
    full, top = (1 << len(b)) - 1, 1 << (len(b) - 1)
    plus, minus, distance = full, 0, len(b)  # vertical deltas +1 / -1 of the current column
    for char in a:
        eq = masks.get(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        up = minus | ~(xh | plus) & full  # horizontal deltas +1 / -1
        down = plus & xh
        if up & top:
            distance += 1
        elif down & top:
            distance -= 1
        up = (up << 1 | 1) & full
        down = (down << 1) & full
        plus = down | ~(xv | up) & full
        minus = up & xv
    return distance


def cer(hypothesis: str, reference: str, casefold: bool = False) -> float:
    reference, hypothesis = normalise(reference, casefold), normalise(hypothesis, casefold)
    return levenshtein(hypothesis, reference) / max(1, len(reference))


def word_f1(hypothesis: str, reference: str, casefold: bool = False) -> float:
    """Order-free: F1 of the bags of words."""
    hyp, ref = Counter(normalise(hypothesis, casefold).split()), Counter(normalise(reference, casefold).split())
    common = sum((hyp & ref).values())
    if not hyp or not ref or not common:
        return 0.0
    precision, recall = common / sum(hyp.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)
