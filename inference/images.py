"""Image decoding in one place: limits, EXIF orientation, RGB.

Every face of the product (REST upload, Gradio upload, batch file) passes its
bytes through :func:`decode`, so the same limits and the same errors apply.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from . import image_headers, tiff_tags
from .errors import BadInput, Overloaded, PayloadTooLarge
from .settings import LimitSettings
from .turns import TurnGate

tiff_tags.install()  # every TIFF directory Pillow reads (a TIFF's pages, EXIF, a JPEG's MPF index) is bounded

ImageSource = bytes | str | Path | Image.Image | BinaryIO
Prepare = Callable[[Image.Image], Image.Image]

# The formats an image may come in: those whose header gives the size that is decoded, read by Pillow alone. Not the
# others Pillow knows: ICO and CUR decode their largest picture while being opened (a 723 KB icon holding a PNG of
# 13,370 x 13,370 took 700 MB before the pixel limit was checked), ICNS decodes a size other than the one it says, EPS
# runs Ghostscript, AVIF says the size of its 'ispe' box while libavif decodes the frame's own (a 4.5 KB file that said
# 100 x 100 decoded 16,300 x 16,300: 1 GB).
FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "PPM", "JPEG2000")
# A progressive JPEG's scans each pass over every block of the image, and libjpeg takes as many as the file holds: a
# 441 KB JPEG of 6,000 x 6,000 white pixels with 10,000 scans of 23 bytes took 10 s of CPU to decode (20 MB: minutes).
# Encoders write 10 or so (libjpeg-turbo's own tools refuse more than a limit the caller sets: -maxscans).
MAX_JPEG_SCANS = 100
# A large image takes up to twice its size in memory while it is decoded (120 MB of pixels at 40 Mpx, then its RGB
# copy) and prepared for its model: 24 chat requests each with a 130 KB PNG of 40 Mpx decoding at once took 4.3 GB.
# At most two at once, the callers taking turns (one client's 24 large images kept another's photo waiting 53 s):
LARGE_PIXELS = 6_000_000
_LARGE_DECODES = TurnGate(2)
# The longest side an image may have: Tesseract (Leptonica) reads none longer (a 40,000 x 1 PNG of 130 bytes answered
# 500), and the engines pad a thin image to a readable shape before shrinking it (60:1 for RapidOCR, 100:1 for the VLMs):
# a 2 KB PNG of 200,000 x 10 was padded to 667 Mpx (+6 GB). At this side the padding stays under 18 Mpx.
MAX_SIDE = 32_767
# Pillow's decoders written in Python, for formats the server still reads in their common forms: a run-length BMP
# (a 26 KB file took 7 s of CPU; a 1 KB one asked 255 bytes per pixel of width), a plain-text PNM (its comments
# stripped one at a time: 20 MB took 190 s), a 16-bit PNM.
SLOW_DECODERS = {"bmp_rle": "a run-length-compressed BMP", "ppm_plain": "a plain-text PNM", "ppm": "a 16-bit PNM"}


def open_image(source: str | Path | BinaryIO) -> Image.Image:
    """Pillow's lazy open of an image in one of :data:`FORMATS` (its header read, nothing decoded)."""
    return Image.open(source, formats=FORMATS)


def shown(name: str) -> str:
    """A client's file name as messages show it: printable, at most 80 characters (never unbounded input)."""
    name = "".join(ch for ch in str(name) if ch.isprintable())
    return name if len(name) <= 80 else name[:77] + "..."


def not_an_image(name: str, data: bytes = b"") -> str:
    name = shown(name)
    message = (
        f"'{name}' is not an image in a format we can read (PNG, JPEG, WebP, TIFF, BMP, GIF, PPM, JPEG 2000) "
        "nor a PDF (OCR reads PDFs too)."
    )
    if data and name.lower().endswith(".pdf") and b"%PDF-" not in data[:1024]:  # (named a PDF: not one either)
        return f"'{name}' is not a PDF (it does not begin as one) nor an image in a format we can read."
    if data.startswith(b"%PDF"):
        return f"'{name}' is a PDF: OCR reads PDFs (/ocr, /batch/ocr, /jobs); here send a page as an image."
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftyphevc", b"ftypavif"):
        return message[:-1] + "; it is a HEIC/AVIF photo: convert it to JPEG or PNG first."
    return message


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def read_limited(stream: BinaryIO, limit: int, name: str) -> bytes:
    """Read at most ``limit`` bytes; a longer stream is refused without reading it all."""
    name = shown(name)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"'{name}' is larger than the {_mib(limit)} limit per file.")
    return data


def read_path(path: str | Path, limits: LimitSettings) -> bytes:
    path = Path(path)
    with path.open("rb") as stream:
        return read_limited(stream, limits.max_file_bytes, path.name)


def decode(data: bytes, limits: LimitSettings, name: str = "file", then: Prepare | None = None) -> Image.Image:
    """Turn uploaded bytes into an upright RGB image (``then`` prepares it for its model, while it is one of the large
    images decoded at once), or raise BadInput / PayloadTooLarge."""
    name = shown(name)
    if not data:
        raise BadInput(f"'{name}' is empty (0 bytes).")
    if len(data) > limits.max_file_bytes:
        raise PayloadTooLarge(f"'{name}' is larger than the {_mib(limits.max_file_bytes)} limit per file.")
    costly = image_headers.costly(data)
    if costly is not None:
        raise BadInput(f"'{name}' {costly}; save it again.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = open_image(io.BytesIO(data))
    except tiff_tags.TooMuchMetadata:
        raise tiff_tags.named(name) from None
    except Image.DecompressionBombError:
        raise BadInput(f"'{name}' has too many pixels to be decoded safely.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise BadInput(not_an_image(name, data)) from None

    check_pixels(image, limits, name)
    slow = next((SLOW_DECODERS[t[0]] for t in image.tile if t[0] in SLOW_DECODERS), None)
    if slow is not None:
        raise BadInput(f"'{name}' is {slow}, which this server does not decode; save it as PNG.")
    if image.format in ("JPEG", "MPO") and data.count(b"\xff\xda") > MAX_JPEG_SCANS:  # (SOS: a scan's start marker)
        raise BadInput(f"'{name}' is a JPEG of more than {MAX_JPEG_SCANS} scans; save it again (as PNG, or a plain JPEG).")
    large = image.width * image.height > LARGE_PIXELS
    if large and not _LARGE_DECODES.take(limits.request_timeout_s):
        raise Overloaded(f"'{name}' waited too long for its turn to be decoded (large images go two at a time).", 5)
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
                image = ImageOps.exif_transpose(image)
        except tiff_tags.TooMuchMetadata:
            raise tiff_tags.named(name) from None
        except Exception:  # Pillow raises many types for corrupt data
            raise BadInput(f"'{name}' could not be decoded: the image data is truncated or corrupt.") from None
        check_pixels(image, limits, name)  # (what was decoded, should a format say one size and decode another)
        image = pixels_only(to_rgb(image))
        return then(image) if then is not None else image
    finally:
        if large:
            _LARGE_DECODES.give_back()


def pixels_only(image: Image.Image) -> Image.Image:
    """The image without the metadata Pillow read with it (text chunks, EXIF, ICC profile): nothing reads it past
    decoding, and a PNG's compressed text chunks inflate to 64 MB (a batch keeps its small images decoded until it
    reads them: 32 PNGs of 64 KB held 1.7 GB)."""
    image.info = {}
    return image


def check_pixels(image: Image.Image, limits: LimitSettings, name: str) -> None:
    check_size(image.size, limits, name)


def check_size(size: tuple[int, int], limits: LimitSettings, name: str) -> None:
    name = shown(name)
    width, height = size
    if width * height > limits.max_image_pixels:
        raise BadInput(
            f"'{name}' is {width}x{height} = {width * height:,} pixels, more than the limit of "
            f"{limits.max_image_pixels:,} pixels per image."
        )
    if width == 0 or height == 0:
        raise BadInput(f"'{name}' has no pixels.")
    if max(width, height) > MAX_SIDE:
        raise BadInput(
            f"'{name}' is {width}x{height} pixels: a side longer than {MAX_SIDE:,} pixels cannot be read. Scale it down, "
            "or cut it into parts."
        )


def load(source: ImageSource, limits: LimitSettings, name: str = "file", then: Prepare | None = None) -> Image.Image:
    """Any accepted source (bytes, a path, a binary stream, a PIL image) -> upright RGB image (``then``: as decode)."""
    if isinstance(source, Image.Image):
        check_pixels(source, limits, name)
        image = to_rgb(source)
        return then(image) if then is not None else image
    return decode(read_bytes(source, limits, name), limits, name, then)


def read_bytes(source: bytes | str | Path | BinaryIO, limits: LimitSettings, name: str = "file") -> bytes:
    """A file's bytes (given, at a path, or from a stream), never more than ``limits.max_file_bytes``."""
    if isinstance(source, (str, Path)):
        return read_path(source, limits)
    if isinstance(source, bytes):
        return source
    return read_limited(source, limits.max_file_bytes, name)


def fit_pixels(image: Image.Image, max_pixels: int) -> Image.Image:
    """A copy scaled down (aspect kept) to at most ``max_pixels``; the image itself when it already fits."""
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = (max_pixels / (width * height)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def fit_longest_side(image: Image.Image, longest: int) -> Image.Image:
    """A copy scaled down (aspect kept) so that its longest side is at most ``longest``; the image itself when it fits."""
    width, height = image.size
    if max(width, height) <= longest:
        return image
    scale = longest / max(width, height)
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)


def pad_to_aspect(image: Image.Image, max_aspect: float, min_side: int = 1) -> Image.Image:
    """A very thin or tiny image padded on the right or bottom (so coordinates are unchanged) with the median
    colour of its border, to at most ``max_aspect``:1 and at least ``min_side`` px a side; others unchanged.
    Engines resize images, and a side that rounds down to nothing breaks them."""
    import numpy as np

    width, height = image.size
    wanted = (max(width, min_side, math.ceil(height / max_aspect)), max(height, min_side, math.ceil(width / max_aspect)))
    if wanted == (width, height):
        return image
    rgb = image.convert("RGB")
    pixels = np.asarray(rgb)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    padded = Image.new("RGB", wanted, tuple(int(v) for v in np.median(border, axis=0)))
    padded.paste(rgb, (0, 0))
    return padded


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency flattened onto white (text on a transparent PNG stays legible)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
