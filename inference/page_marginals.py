"""Running headers, footers and page numbers found by repetition across a document's pages: a short block in the
top or bottom band of most pages with the same text (or the same text but for a number that changes: "Page 3",
"Annual report — 3") is a header, a footer, or a page number when it is no more than a number. Pure: the pages'
blocks in, new block lists out (a page with no blocks is left as it is)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from .blocks import MARGINAL, Block
from .page_margins import edge_of, is_page_number
from .page_structure import BAND

MAX_CHARS = 120  # longer blocks are content, however often they repeat
MIN_PAGES = 2
SHARE = 0.5  # a text in the band of more than this share of the pages (and of at least MIN_PAGES) is running
EDGE_BLOCKS = 3  # only the first and last few blocks of a page (by position) are looked at
_NUMBER = re.compile(r"\d+|\b[ivxlcdm]{1,7}\b", re.IGNORECASE)


def running_key(text: str) -> str:
    """What stays of a running header from page to page: its words, casefolded, numbers as '#'."""
    text = _NUMBER.sub("#", text.casefold())
    return " ".join("".join(ch if ch.isalnum() or ch == "#" else " " for ch in text).split())


Candidate = tuple[int, str, str, str]  # (block index, band, running key, its type when it is running)


def candidates(blocks: Sequence[Block], size: tuple[int, int]) -> list[Candidate]:
    """The page's blocks that could be running (short, in a band, near the page's edge; ``size``: the page's): each
    as (index, band, key, the type it takes when it runs: page_number, or header/footer by its band unless it is a
    marginal type already)."""
    placed = sorted((i for i, b in enumerate(blocks) if b.bbox is not None), key=lambda i: blocks[i].bbox[1])  # type: ignore[index]
    edge = set(placed[:EDGE_BLOCKS] + placed[-EDGE_BLOCKS:])
    found = []
    for i in sorted(edge):
        block = blocks[i]
        band = edge_of(block, size[1], BAND)
        if band is None or block.type in ("table", "figure") or not 0 < len(block.text.strip()) <= MAX_CHARS:
            continue
        key = running_key(block.text)
        if not key:
            continue
        if is_page_number(block.text) or key == "#":
            kind = "page_number"
        elif block.type in MARGINAL:
            kind = block.type
        else:
            kind = "header" if band == "top" else "footer"
        found.append((i, band, key, kind))
    return found


def running(found: Sequence[list[Candidate]], paged: int) -> list[dict[int, str]]:
    """Each page's running blocks, as {block index: type}, from every page's :func:`candidates` (``paged``: how many
    pages have blocks). Only these small facts of each page are needed: a job's pages are marked without holding them."""
    counted = Counter((band, key) for page in found for band, key in {(band, key) for _, band, key, _ in page})
    needed = max(MIN_PAGES, int(SHARE * paged) + 1)
    return [{i: kind for i, band, key, kind in page if counted[(band, key)] >= needed} for page in found]


def retyped(blocks: Sequence[Block], marks: dict[int, str]) -> list[Block]:
    """The page's blocks with the running ones (``marks``, from :func:`running`) given their type."""
    return [
        block.model_copy(update={"type": marks[i]}) if marks.get(i, block.type) != block.type else block
        for i, block in enumerate(blocks)
    ]


def mark_running(pages: Sequence[tuple[Sequence[Block], tuple[int, int]]]) -> list[list[Block]]:
    """Each page's blocks (given with its size) with the running ones typed header, footer or page_number."""
    marks = running([candidates(blocks, size) for blocks, size in pages], sum(bool(blocks) for blocks, _ in pages))
    return [retyped(blocks, page) for (blocks, _), page in zip(pages, marks, strict=True)]
