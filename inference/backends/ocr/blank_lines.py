"""The lines RapidOCR read no letter of, on a page where there are many: each is read again by Tesseract with the
languages of the plan (a line in Russian: PP-OCRv6 reads most of them as blanks), two passes of its network on a line
in none of them (a page in a script no installed engine reads: ~37 ms a line, the peer's Persian page ~1 CPU-s). When
a sample of them, spread over the page, had none taken in those languages, the others are read with the languages
beside English alone first (one pass), and as before only where that shows words of theirs: a Russian line among many
Georgian ones is still read in Cyrillic, wherever it is on the page."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...values import OcrLine
from .script_check import letters
from .tess_words import Word
from .tesseract_first import spread

Reexamined = tuple[tuple[str, float] | None, bool, list[Word] | None]  # (Tesseract's reading taken, unread, its words)

BLANK_SAMPLE = 8  # blank lines read first as any other line; the rest only after, on a page of more than twice this many


def reread(
    lines: Sequence[OcrLine], read: Callable[[list[int]], list[Reexamined]], first_look: Callable[[list[int]], list[Reexamined]]
) -> list[Reexamined]:
    """``read`` (the lines' indexes: their readings) of every line, but the blank ones after a sample of them none of
    which was taken in Tesseract's reading, which are read with ``first_look``."""
    blank = [k for k, line in enumerate(lines) if not letters(line.text)]
    if len(blank) <= 2 * BLANK_SAMPLE:
        return read(list(range(len(lines))))
    sample = {blank[i] for i in spread(len(blank), BLANK_SAMPLE)}
    first = [k for k in range(len(lines)) if k in sample or letters(lines[k].text)]
    found = dict(zip(first, read(first), strict=True))
    rest = [k for k in blank if k not in sample]
    again = read if any(found[k][0] is not None for k in sample) else first_look
    found.update(zip(rest, again(rest), strict=True))
    return [found[k] for k in range(len(lines))]
