"""The embedded default: RapidOCR's detector and reader, with Tesseract for the scripts RapidOCR
cannot read (Cyrillic and others), line by line.

RapidOCR finds the lines (straight or rotated; each crop is rectified) and reads Latin and
Chinese. A line goes to Tesseract when the language hint names a script RapidOCR lacks, or,
without a hint, when RapidOCR's reading of it looks wrong (far fewer characters than the line's
width holds, or low confidence) and Tesseract reads it with more letters. Without Tesseract the
backend still works, and says what to install.

Printed Latin lines are read by Tesseract first (``tesseract_first``). A sample of each image's lines decides
whether that pays: on a page Tesseract keeps most lines, on a till receipt or a photo it keeps few, and RapidOCR
reads the rest directly.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import numpy as np
from PIL import Image
from pydantic import Field

from ...languages import Language
from ...values import OcrLine
from .rapid import RapidOcrBackend
from .rapid_options import RapidOptions
from .rapid_script import Reading, Script
from .tesseract import TesseractEngines, find_tessdata
from .tesseract_first import FIRST_SAMPLE, FIRST_SHARE, patch, spread, tesseract_line

RAPIDOCR_LANGUAGES = {"en", "zh"}  # what the packaged PP-OCR models read well


class EmbeddedOptions(RapidOptions):
    tessdata: str = Field("auto", description="Tesseract's language data; auto = $TESSDATA_PREFIX, then system folders")
    fallback_languages: str = Field("rus+eng", description="Tesseract languages for lines RapidOCR cannot read")
    min_chars_per_height: float = Field(0.8, ge=0, description="a reading with fewer characters per line-height looks wrong")
    min_confidence: float = Field(0.75, ge=0, le=1, description="a reading below this confidence looks wrong")
    tesseract_first: bool = Field(True, description="read Latin lines with Tesseract first, RapidOCR the doubtful words")
    tesseract_first_confidence: float = Field(
        0.85, ge=0, le=1, description="Tesseract's words at least this sure are kept (RapidOCR reads the others again)"
    )


def crop(image: np.ndarray, box: list[list[float]]) -> Image.Image:
    """The line's quadrilateral, rectified to an upright image."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    return Image.fromarray(get_rotate_crop_image(image, np.array(box, dtype=np.float32)))


def looks_wrong(line: OcrLine, options: EmbeddedOptions) -> bool:
    """RapidOCR's reading of a line in a script it may lack: low confidence, or garbled."""
    return line.confidence < options.min_confidence or garbled(line, options)


def garbled(line: OcrLine, options: EmbeddedOptions) -> bool:
    """A reading of a line in a script the recogniser lacks (whatever its confidence): too few characters for
    the line's width, gaps where words were dropped, mostly punctuation, or words cut to stubs."""
    (x0, y0), (x1, y1), _, (x3, y3) = line.box[:4]
    width, height = float(np.hypot(x1 - x0, y1 - y0)), float(np.hypot(x3 - x0, y3 - y0))
    visible = [ch for ch in line.text if not ch.isspace()]
    alnum = sum(ch.isalnum() for ch in visible)
    words = [w.strip(".,:;!?()") for w in line.text.split()]
    words = [w for w in words if w.isalpha()]
    stubs = sum(len(w) <= 2 and w.islower() for w in words)  # Cyrillic read as Latin: "o", "ma", "py"...
    odd = sum(bool(_LOOKALIKE.search(w)) for w in line.text.split())  # ...or "3aka3 oT mapta" (заказ от марта)
    return (
        len(visible) < options.min_chars_per_height * width / max(height, 1.0)
        or "  " in line.text.strip()
        or alnum < 0.6 * len(visible)
        or (len(words) >= 3 and stubs >= 0.5 * len(words))
        or odd >= 2
    )


# A word as Cyrillic comes out of a Latin reader: digits on both sides of letters (3 for з) or the reverse,
# or a capital after a small letter (т read as T).
_LOOKALIKE = re.compile(r"\d[^\W\d_]+\d|[^\W\d_]\d+[^\W\d_]|[a-z][A-Z]")


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def foreign_letters(text: str) -> int:
    """Letters outside ASCII: what Tesseract adds when a line is in a script RapidOCR lacks."""
    return sum(ch.isalpha() and not ch.isascii() for ch in text)


class EmbeddedOcrBackend(RapidOcrBackend):
    Options = EmbeddedOptions

    def load(self) -> None:
        super().load()
        tessdata = find_tessdata(self.options.tessdata)
        usable = tessdata is not None and importlib.util.find_spec("tesserocr") is not None
        self._tesseract = TesseractEngines(tessdata, self.workers) if usable else None
        if self._tesseract is not None and "eng" in self._tesseract.languages:
            self._tesseract.prepare("eng")

    def unload(self) -> None:
        super().unload()
        if self._tesseract is not None:
            self._tesseract.close()
            self._tesseract = None

    def recognize(self, engine: Any, crops: list[np.ndarray], script: Script = "auto") -> list[Reading]:
        """Tesseract reads a sample of the lines first; when it is sure of most of them (a printed page), it
        reads the other lines first too, RapidOCR reads again the words it is unsure of (or the whole line,
        when those are most of it); otherwise RapidOCR reads every line Tesseract was not sure of. Lines in
        Chinese (a hint naming it) are RapidOCR's alone."""
        tesseract = self._tesseract
        if script == "any" or not self.options.tesseract_first or tesseract is None or "eng" not in tesseract.languages:
            return super().recognize(engine, crops, script)
        sample = spread(len(crops), FIRST_SAMPLE)
        sure = self.options.tesseract_first_confidence
        tried = dict(
            zip(
                (id(crops[i]) for i in sample),
                self.share_out(
                    engine, [crops[i] for i in sample], lambda _, chunk: [tesseract_line(tesseract, c, sure) for c in chunk]
                ),
                strict=True,
            )
        )
        tesseract_first = sum(isinstance(r, Reading) for r in tried.values()) >= FIRST_SHARE * len(sample)
        if not tesseract_first:  # (a receipt, a photo: RapidOCR reads whole every line Tesseract was unsure of)
            tried = {key: r if isinstance(r, Reading) else None for key, r in tried.items()}

        def read(helper: Any, chunk: list[np.ndarray]) -> list[Reading]:
            first = [
                tried[id(c)] if id(c) in tried else tesseract_line(tesseract, c, sure) if tesseract_first else None for c in chunk
            ]
            patch(first, lambda cuts: self.read_lines(helper, cuts), sure)
            doubtful = [k for k, reading in enumerate(first) if not isinstance(reading, Reading)]
            readings = dict(zip(doubtful, self.read_lines(helper, [chunk[k] for k in doubtful]), strict=True))
            return [readings.get(k, r) for k, r in enumerate(first)]  # type: ignore[misc]

        return self.share_out(engine, crops, read)

    def _fallback(self, language: Language | None, warnings: list[str]) -> str | None:
        """Tesseract's language string for re-reading lines, or None (with a warning when one is needed)."""
        installed = self._tesseract.languages if self._tesseract else set()
        if language is not None and all(code in RAPIDOCR_LANGUAGES for code in language.codes):
            return None
        if language is not None:
            if all(name in installed for name in language.tesseract.split("+")):
                return "+".join(dict.fromkeys([*language.tesseract.split("+"), *(x for x in ("eng",) if x in installed)]))
            package = language.package or "the Tesseract data for that language"
            warnings.append(
                f"Text in '{language.text}' needs Tesseract and its language data, which this server lacks; "
                f"install them with: apt-get install tesseract-ocr {package}. RapidOCR's reading is given instead."
            )
            return None
        usable = [lang for lang in self.options.fallback_languages.split("+") if lang in installed]
        return "+".join(usable) or None

    def refine(self, image: Image.Image, lines: list[OcrLine], language: Language | None, warnings: list[str]) -> list[OcrLine]:
        lang = self._fallback(language, warnings)
        if lang is None or self._tesseract is None:
            if language is None:  # (a hint Tesseract is needed for has had its warning from _fallback)
                unread_warning([line for line in lines if garbled(line, self.options)], None, warnings)
            return lines
        # a hint for scripts RapidOCR cannot read only (e.g. ru): every line; a mix (en+ru): the lines that look wrong
        forced = language is not None and not any(code in RAPIDOCR_LANGUAGES for code in language.codes)
        pixels = np.asarray(image)
        unread = []
        for line in lines:
            if not forced and not looks_wrong(line, self.options):
                continue
            text, confidence = self._tesseract.read_line(crop(pixels, line.box), lang)
            if forced or (
                foreign_letters(text) > foreign_letters(line.text) and letters(text) > letters(line.text) and confidence >= 0.5
            ):
                line.text, line.confidence, line.engine = text, round(confidence, 4), "tesseract"
            elif garbled(line, self.options):
                unread.append(line)
        if language is None:
            unread_warning(unread, lang, warnings)
        return lines


def unread_warning(lines: list[OcrLine], tesseract: str | None, warnings: list[str]) -> None:
    """Say so when lines seem to be in a script no installed engine reads (their text is a guess)."""
    if not lines:
        return
    how = (
        f"Tesseract ({tesseract}) could not read them either: install Tesseract's data for their language "
        f"(apt-get install tesseract-ocr-LANG, e.g. tesseract-ocr-ukr) and name it in the language hint"
        if tesseract
        else "install Tesseract with the data for their language (apt-get install tesseract-ocr tesseract-ocr-rus "
        "for Russian) and they are read with it"
    )
    warnings.append(
        f"{len(lines)} line(s) seem to be in a script that no installed engine reads (RapidOCR reads "
        f"Latin and Chinese); their text is a guess: {how}."
    )
