"""A multi-page TIFF's frames: counted once, each decoded on its own when its page is read.

Pillow reaches a TIFF's frame N by reading the N directories before it, so a file opened again for each page read its
directories in the square of its pages (200 pages: 20,100 directories). Here one walk counts the frames and notes
where each one's directory is and its size (:func:`frames`); a page is then decoded from a copy of the file whose
header names that directory as the first (:func:`frame_renderer`): one directory read a page."""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable

from PIL import Image, ImageOps

from . import images
from .errors import BadInput

MAX_TIFF_PAGES = 1000  # frames of a TIFF counted at most (Pillow's count takes time quadratic in them: 39 s for 100,000)


def frames(tiff: Image.Image, name: str, most: int) -> list[tuple[int, tuple[int, int]]]:
    """(directory offset, size) of each frame (page) of an open TIFF; BadInput past ``most`` (counted up to it, never
    further)."""
    found: list[tuple[int, tuple[int, int]]] = []
    try:
        while len(found) <= most:
            tiff.seek(len(found))
            found.append((tiff.tag_v2.offset or 0, tiff.size))  # type: ignore[attr-defined]
    except EOFError:
        return found
    raise BadInput(f"'{images.shown(name)}' is a TIFF of more than {most} pages: split it (or make it a PDF) and send the parts.")


def as_first(data: bytes, offset: int) -> bytes:
    """The TIFF ``data`` with its header naming the directory at ``offset`` as its first."""
    endian = "<" if data[:2] == b"II" else ">"
    return data[:4] + struct.pack(endian + "L", offset) + data[8:]


def frame_renderer(data: bytes, offset: int, number: int, name: str) -> Callable[[], Image.Image]:
    """Page ``number`` of a TIFF, whose directory is at ``offset``, decoded as an upright RGB image."""

    def render() -> Image.Image:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(as_first(data, offset)), formats=["TIFF"]) as tiff:
                    tiff.load()
                    return images.pixels_only(images.to_rgb(ImageOps.exif_transpose(tiff.copy())))
        except BadInput:
            raise
        except Exception:
            raise BadInput(f"'{images.shown(name)}': page {number} could not be decoded (corrupt or truncated).") from None

    return render
