"""Files whose metadata Pillow reads a piece at a time in Python while it opens them (before any pixel limit can be
checked): many pieces make a small file cost minutes. Counted here first, at C speed where the format allows it, or
by walking the file's structure a bounded number of steps. Files as people make them hold a few dozen.

- GIF: each comment block is joined to the comments so far (a 20 MB GIF of comment blocks took 508 s of CPU).
- JPEG: each APP or COM segment is a list entry (5 million empty comments in 20 MB: 3.8 s and +320 MB).
- PNG: each chunk is read and checked in Python (1.7 million tiny chunks in 20 MB: 3.7 s).
- PNM: its header is read a byte at a time (20 MB of comment lines: 5.6 s).
"""

from __future__ import annotations

import re

MAX_PIECES = 4096  # a GIF's extension sub-blocks, a JPEG's APP/COM segments, before the picture
MAX_PNG_CHUNKS = 50_000  # a PNG's chunks (a 20 MiB PNG in libpng's 8 KB IDAT chunks has 2,600)
MAX_PNM_COMMENTS = 64  # comment lines in a PNM's header
_JPEG_SEGMENTS = [bytes([0xFF, marker]) for marker in [*range(0xE0, 0xF0), 0xFE]]  # APP0-15 and COM
_PNM_TOKEN = re.compile(rb"#[^\r\n]*|[^\s#]+")


def costly(data: bytes) -> str | None:
    """What makes ``data`` costly to open (completing "'name' ..."), or None."""
    if data[:6] in (b"GIF87a", b"GIF89a") and _gif_pieces(data) > MAX_PIECES:
        return f"holds more than {MAX_PIECES:,} pieces of metadata before its picture"
    if data[:2] == b"\xff\xd8":
        scan = data.find(b"\xff\xda")  # (the first scan's start: the segments come before it)
        if sum(data.count(marker, 0, len(data) if scan < 0 else scan) for marker in _JPEG_SEGMENTS) > MAX_PIECES:
            return f"holds more than {MAX_PIECES:,} pieces of metadata before its picture"
    if data[:8] == b"\x89PNG\r\n\x1a\n" and _png_chunks(data) > MAX_PNG_CHUNKS:
        return f"is made of more than {MAX_PNG_CHUNKS:,} chunks"
    if data[:1] == b"P" and data[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6") and _pnm_comments(data) > MAX_PNM_COMMENTS:
        return f"has more than {MAX_PNM_COMMENTS} comment lines in its header"
    return None


def _gif_pieces(data: bytes) -> int:
    """A GIF's extension sub-blocks before its first picture (past MAX_PIECES: not counted further)."""
    if len(data) < 13:
        return 0
    pos, pieces = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0), 0  # (after the global colour table)
    while pos < len(data) and data[pos] == 0x21 and pieces <= MAX_PIECES:  # an extension: its label, its sub-blocks
        pos += 2
        while pos < len(data) and data[pos] and pieces <= MAX_PIECES:
            pos, pieces = pos + 1 + data[pos], pieces + 1
        pos, pieces = pos + 1, pieces + 1
    return pieces


def _png_chunks(data: bytes) -> int:
    """A PNG's chunks to its end (past MAX_PNG_CHUNKS: not counted further)."""
    pos, chunks = 8, 0
    while pos + 8 <= len(data) and chunks <= MAX_PNG_CHUNKS:
        chunks += 1
        if data[pos + 4 : pos + 8] == b"IEND":
            break
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    return chunks


def _pnm_comments(data: bytes) -> int:
    """Comment lines in a PNM's header (its magic, width, height and maximum value, between which they come)."""
    tokens, comments = 0, 0
    for token in _PNM_TOKEN.finditer(data, 0, 1 << 20):
        if token.group().startswith(b"#"):
            comments += 1
            if comments > MAX_PNM_COMMENTS:
                break
        else:
            tokens += 1
            if tokens == (3 if data[1:2] in (b"1", b"4") else 4):
                break
    return comments
