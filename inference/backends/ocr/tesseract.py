"""Tesseract 5 through tesserocr, offered when Tesseract's language data is installed.

tesserocr's wheel bundles the library but not the language data: that comes from
the system (Debian: ``apt-get install tesseract-ocr tesseract-ocr-rus``).
It is the offline reader for Cyrillic and other scripts RapidOCR has no model for. Without a hint a page is read in
the default language: one that comes back as Latin look-alikes of Cyrillic letters is said to the user, with the
installed Cyrillic languages to send (``script_check.cyrillic_read_as_latin``, ~0.1 ms a page).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import queue
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ...errors import BadInput, ModelUnavailable
from ...languages import CYRILLIC, NAMES, TESSERACT_CODES, Language
from ...settings import ModelSpec
from ...values import OcrLine, OcrOutput
from ..base import Backend
from .script_check import cyrillic_read_as_latin
from .structure import layout_beside, load_layout_model, page_structure
from .tables import strip_rule_artefacts
from .tess_words import Word, dictionary

_SEARCH = [
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
]

logger = logging.getLogger(__name__)


class TesseractOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tessdata: str = Field("auto", description="folder of *.traineddata; auto = TESSDATA_PREFIX, then the usual places")
    default_language: str = Field("eng", description="Tesseract language(s) used without a hint, e.g. eng or eng+rus")
    workers: int = Field(0, ge=0, description="parallel Tesseract instances; 0 = one per CPU core")
    structure: bool = Field(True, description="find the page's blocks (layout model, headers, page numbers...)")


def find_tessdata(setting: str) -> Path | None:
    candidates = [setting] if setting != "auto" else [os.environ.get("TESSDATA_PREFIX", ""), *_SEARCH]
    for folder in candidates:
        if folder and (Path(folder) / "eng.traineddata").is_file():
            return Path(folder)
    return None


def tesseract_missing(tessdata_setting: str) -> str | None:
    """None when Tesseract can run here, else what to install."""
    if importlib.util.find_spec("tesserocr") is None:
        return "tesserocr is not installed: pip install tesserocr"
    if find_tessdata(tessdata_setting) is None:
        return "Tesseract's language data was not found: apt-get install tesseract-ocr tesseract-ocr-eng"
    return None


def installed_languages(tessdata: Path) -> set[str]:
    return {p.name.removesuffix(".traineddata") for p in tessdata.glob("*.traineddata")} - {"osd", "equ"}


def utf8_text(read: Callable[..., str | None], *args: Any) -> str:
    """Tesseract's text, stripped; '' where it found none (tesserocr raises RuntimeError for a blank image)."""
    try:
        return (read(*args) or "").strip()
    except RuntimeError:
        return ""


class TesseractEngines:
    """Tesseract handles for concurrent use: one set per worker, each keyed by (language, page mode)."""

    def __init__(self, tessdata: Path, size: int):
        self.tessdata = tessdata
        self.languages = installed_languages(tessdata)
        self._size = size
        self._pool: queue.Queue = queue.Queue()
        for _ in range(size):
            self._pool.put({})

    def prepare(self, lang: str) -> None:
        """Load ``lang`` for single lines in every handle set now, so that no request pays for it."""
        import tesserocr

        sets = [self._pool.get() for _ in range(self._size)]
        try:
            for apis in sets:
                self._api(apis, lang, tesserocr.PSM.SINGLE_LINE)
        finally:
            for apis in sets:
                self._pool.put(apis)

    def _api(self, apis: dict, lang: str, psm: int):
        import tesserocr

        if (lang, psm) not in apis:
            apis[(lang, psm)] = tesserocr.PyTessBaseAPI(path=f"{self.tessdata}/", lang=lang, psm=psm)
        return apis[(lang, psm)]

    def read_page(self, image: Image.Image, lang: str) -> list[OcrLine]:
        import tesserocr

        apis = self._pool.get()
        try:
            api = self._api(apis, lang, tesserocr.PSM.AUTO)
            api.SetImage(image)
            api.Recognize()
            level, lines = tesserocr.RIL.TEXTLINE, []
            for item in tesserocr.iterate_level(api.GetIterator(), level):
                text = utf8_text(item.GetUTF8Text, level)
                if text:
                    x1, y1, x2, y2 = item.BoundingBox(level)
                    box = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
                    confidence = round(item.Confidence(level) / 100, 4)
                    lines.append(OcrLine(text=text, box=box, confidence=confidence, engine="tesseract"))
            api.Clear()
            return lines
        finally:
            self._pool.put(apis)

    def read_line(self, image: Image.Image, lang: str, invert: bool = True) -> tuple[str, float]:
        """One text line (an upright crop): its text and mean word confidence (0-1). ``invert``: as ``read_words``'."""
        import tesserocr

        apis = self._pool.get()
        try:
            api = self._api(apis, lang, tesserocr.PSM.SINGLE_LINE)
            api.SetVariable("tessedit_do_invert", "1" if invert else "0")
            api.SetImage(image)
            text = utf8_text(api.GetUTF8Text)
            confidence = api.MeanTextConf() / 100
            api.Clear()
            return text, confidence
        finally:
            self._pool.put(apis)

    def read_words(self, image: Image.Image, lang: str, invert: bool = True) -> list[Word]:
        """One text line (an upright crop): its words, each with its confidence (0-1) and box. ``invert``: Tesseract
        reads a line it is unsure of again inverted (light print on a dark band), and keeps the surer reading; not where
        the crop was made dark on light already (a line read again: ``tesseract_first.padded``, ``edge_rules.unruled``):
        one pass of its network on such a line, not two (the script check's lines, most of them unsure: all of a page's
        in a script no engine here reads, 0.37 -> 0.21 CPU-s for the 17 blank lines of the peer's Persian page)."""
        import tesserocr

        apis = self._pool.get()
        try:
            api = self._api(apis, lang, tesserocr.PSM.SINGLE_LINE)
            api.SetVariable("tessedit_do_invert", "1" if invert else "0")
            api.SetImage(image)
            words = []
            if utf8_text(api.GetUTF8Text):
                level = tesserocr.RIL.WORD
                for item in tesserocr.iterate_level(api.GetIterator(), level):
                    text, box = utf8_text(item.GetUTF8Text, level), item.BoundingBox(level)
                    if text and box is not None:
                        words.append(Word(text, item.Confidence(level) / 100, box, bool(item.WordIsFromDictionary())))
            api.Clear()
            return words
        finally:
            self._pool.put(apis)

    def close(self) -> None:
        while not self._pool.empty():
            for api in self._pool.get_nowait().values():
                api.End()


def language_error(language: Language, installed: set[str]) -> str:
    """The user's error for a language whose data is missing (what to install goes to the operator's log)."""
    if language.package:
        logger.warning("Tesseract: a request for %s needs: apt-get install %s", language.name, language.package)
    return f"Tesseract has no data for {language.name} on this server (it has: {', '.join(sorted(installed)) or 'none'})."


class TesseractBackend(Backend):
    tasks = frozenset({"ocr"})
    Options = TesseractOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self._tessdata = find_tessdata(self.options.tessdata)
        self._size = self.options.workers or max(1, os.cpu_count() or 1)
        self._engines: TesseractEngines | None = None
        self._other_scripts: list[str] = []  # installed Cyrillic languages a page read with the default may be in
        self._english: Container[str] = frozenset()

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        return tesseract_missing(cls.Options.model_validate(spec.options).tessdata)

    @property
    def workers(self) -> int:
        return self._size

    def load(self) -> None:
        assert self._tessdata is not None  # unavailable_reason() keeps us from here otherwise
        self._engines = TesseractEngines(self._tessdata, self._size)
        self.tesseract_language(None)  # a default language that is not installed fails the load, not a request
        self._engines.read_line(Image.new("RGB", (32, 16), "white"), self.options.default_language)
        default = self.options.default_language.split("+")
        if "eng" in default and not any(TESSERACT_CODES[code] in default for code in CYRILLIC):
            self._other_scripts = [code for code in CYRILLIC if TESSERACT_CODES[code] in self._engines.languages]
            self._english = dictionary(self._tessdata, "eng")
        load_layout_model(self.options.structure)

    def unload(self) -> None:
        engines, self._engines = self._engines, None
        if engines is not None:
            engines.close()

    def tesseract_language(self, language: Language | None) -> str:
        languages = self._engines.languages if self._engines else set()
        if language is None:
            missing = [p for p in self.options.default_language.split("+") if p not in languages]
            if missing:
                raise ModelUnavailable(
                    f"Model '{self.spec.id}': Tesseract's default language '{self.options.default_language}' is not "
                    f"installed (installed: {', '.join(sorted(languages)) or 'none'})."
                )
            return self.options.default_language
        if all(name in languages for name in language.tesseract.split("+")):
            return language.tesseract
        raise BadInput(language_error(language, languages))

    def ocr(self, image: Image.Image, language: Language | None) -> OcrOutput:
        if self._engines is None:
            raise RuntimeError("Tesseract backend used before load()")
        lang = self.tesseract_language(language)
        with layout_beside(self.options.structure and self.alone()) as ahead:
            ahead.start(image)
            lines = strip_rule_artefacts(self._engines.read_page(image, lang))
            blocks = page_structure(image, lines, self.options.structure, ahead)
        warnings: list[str] = []
        if language is None and self._other_scripts:
            texts = [line.text for line in lines]
            if cyrillic_read_as_latin(texts, self._english):
                warnings.append(other_script_warning(self._other_scripts))
            elif (mixed := sum(cyrillic_read_as_latin([text], self._english) for text in texts)) >= MIXED_LINES:
                warnings.append(other_script_warning(self._other_scripts, mixed))  # (a page partly in Russian)
        return OcrOutput(text="\n".join(line.text for line in lines), lines=lines, blocks=blocks, warnings=warnings)


MIXED_LINES = 2  # lines read with English that each look like Cyrillic (``cyrillic_read_as_latin``): a page partly in it


def other_script_warning(codes: list[str], lines: int = 0) -> str:
    """The user's warning for a page read with the default language that may be in one of these (ISO codes); ``lines``:
    how many of its lines, when the others seem English (a page in Russian and English)."""
    names = " or ".join(NAMES[code] for code in codes)
    if lines:
        hints = " or ".join(f"language={code}+en" for code in codes)
        return f"{lines} lines of this page may be in another script ({names}?): send its languages ({hints}) to read them."
    hints = " or ".join(f"language={code}" for code in codes)
    return f"This page may be in another script ({names}?): send its language ({hints}) to read it."
