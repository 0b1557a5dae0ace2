"""TIFF directories as Pillow reads them, bounded. Pillow reads every TIFF directory in one place
(``ImageFileDirectory_v2.load``): a TIFF's pages, an image's EXIF block (PNG, JPEG, WebP, TIFF), a JPEG's MPF index.
It reads each tag's data wherever the tag's offset points, as often as tags point there, and each of a directory's
tags (65,535 at most) in Python: an 11 KB PNG whose compressed EXIF text held 5,000 tags pointing at one 200 KB run
of zeros took the server 800 MB (four at once: 3.2 GB); a 62 KB JPEG whose MPF index did the same took 1.5 GB and
3.8 s; a 19 MB TIFF of 200 pages of 8 x 8 pixels and 8,000 tags each took 227 s of CPU (each page's decode walked
every directory before it).

:func:`install` puts a check before that function: what is read from one stream (a file, an EXIF block) over its
life, tags and the data they point at, is at most :data:`READ_FACTOR` times the stream's length and :data:`MAX_TAGS`
tags; past either the image is refused (:class:`TooMuchMetadata`, a 400 that names the file), before Pillow reads the
directory. A real file's directories point at their own bytes, each read once or twice."""

from __future__ import annotations

import struct
import threading
import weakref
from typing import IO

from PIL import TiffImagePlugin

from .errors import BadInput

READ_FACTOR = 8  # bytes read for directories from one stream, at most, per byte of it (real files: 1 or 2)...
READ_SLACK = 64 * 1024  # ...plus this (a small EXIF block's few re-reads)
MAX_TAGS = 100_000  # tags read from one stream, at most (~2 us each; a page has a few dozen, 1,000 pages 20,000)

_spent: weakref.WeakKeyDictionary[IO[bytes], tuple[int, int]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_load = TiffImagePlugin.ImageFileDirectory_v2.load


class TooMuchMetadata(BadInput):
    """An image's TIFF directories point at more data than the image holds, or hold more tags than any image needs
    (raised inside Pillow, which knows no file name: :func:`named` says it for one)."""

    def __init__(self) -> None:
        super().__init__(
            "The image's metadata (TIFF tags or EXIF) points at more data than the file holds, or has more tags than "
            "an image needs; save the image again without its metadata (or as PNG) and send that."
        )


def named(name: str) -> BadInput:
    return BadInput(
        f"'{name}': its metadata (TIFF tags or EXIF) points at more data than the file holds, or has "
        "more tags than an image needs; save it again without its metadata (or as PNG) and send that."
    )


def directory_cost(fp: IO[bytes], bigtiff: bool, endian: str) -> tuple[int, int, int]:
    """(tags, bytes, the stream's length) that reading the directory at ``fp``'s position reads, as Pillow reads it:
    its table, and each tag's data that is not in the table (as much of it as the stream holds). The position is kept."""
    count_format, entry_format, entry_size, inline = ("Q", "HHQ8s", 20, 8) if bigtiff else ("H", "HHL4s", 12, 4)
    start = fp.tell()
    try:
        length = fp.seek(0, 2)
        fp.seek(start)
        head = fp.read(struct.calcsize(count_format))
        if len(head) < struct.calcsize(count_format):
            return 0, 0, length
        (count,) = struct.unpack(endian + count_format, head)
        table = fp.read(min(count, MAX_TAGS + 1) * entry_size)
    finally:
        fp.seek(start)
    tags = len(table) // entry_size
    size = len(head) + len(table)
    units = TiffImagePlugin.ImageFileDirectory_v2._load_dispatch
    for _tag, kind, n, value in struct.iter_unpack(endian + entry_format, table[: tags * entry_size]):
        if kind in units and n * units[kind][0] > inline:
            (offset,) = struct.unpack(endian + ("Q" if bigtiff else "L"), value)
            size += max(0, min(n * units[kind][0], length - offset))
    return tags, size, length


def _bounded_load(self: TiffImagePlugin.ImageFileDirectory_v2, fp: IO[bytes]) -> None:
    tags, size, length = directory_cost(fp, self._bigtiff, self._endian)
    with _lock:
        try:
            before = _spent.get(fp, (0, 0))
            spent = _spent[fp] = (before[0] + tags, before[1] + size)
        except TypeError:  # (a stream that takes no weak reference: this directory alone is counted)
            spent = (tags, size)
    if spent[0] > MAX_TAGS or spent[1] > READ_FACTOR * length + READ_SLACK:
        raise TooMuchMetadata()
    _load(self, fp)


def install() -> None:
    """Bound every TIFF directory Pillow reads in this process (idempotent)."""
    TiffImagePlugin.ImageFileDirectory_v2.load = _bounded_load  # type: ignore[method-assign]
