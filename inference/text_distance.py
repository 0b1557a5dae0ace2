"""The edit distance between two texts: the OCR bench's CER and routing's agreement between two readings of a page."""

from __future__ import annotations


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
