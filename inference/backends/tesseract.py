"""Tesseract 5 through tesserocr, offered when Tesseract's language data is installed.

tesserocr's wheel bundles the library but not the language data: that comes from
the system (Debian: ``apt-get install tesseract-ocr tesseract-ocr-rus``).
It is the offline reader for Cyrillic and other scripts RapidOCR has no model for.
"""

from __future__ import annotations

import importlib.util
import os
import queue
from pathlib import Path

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BadInput
from ..languages import NAMES, TESSERACT_CODES, TESSERACT_PACKAGES, iso_code
from ..settings import ModelSpec
from .base import Backend, OcrLine, OcrOutput

_SEARCH = [
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
]


class TesseractOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tessdata: str = Field("auto", description="folder of *.traineddata; auto = TESSDATA_PREFIX, then the usual places")
    default_language: str = Field("eng", description="Tesseract language(s) used without a hint, e.g. eng or eng+rus")
    workers: int = Field(0, ge=0, description="parallel Tesseract instances; 0 = one per CPU core")


def find_tessdata(setting: str) -> Path | None:
    candidates = [setting] if setting != "auto" else [os.environ.get("TESSDATA_PREFIX", ""), *_SEARCH]
    for folder in candidates:
        if folder and (Path(folder) / "eng.traineddata").is_file():
            return Path(folder)
    return None


def installed_languages(tessdata: Path) -> set[str]:
    return {p.name.removesuffix(".traineddata") for p in tessdata.glob("*.traineddata")} - {"osd", "equ"}


class TesseractBackend(Backend):
    tasks = frozenset({"ocr"})
    Options = TesseractOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self._tessdata = find_tessdata(self.options.tessdata)
        self._languages = installed_languages(self._tessdata) if self._tessdata else set()
        self._size = self.options.workers or max(1, os.cpu_count() or 1)
        self._pool: queue.Queue | None = None

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        if importlib.util.find_spec("tesserocr") is None:
            return "tesserocr is not installed: pip install tesserocr"
        options = TesseractOptions.model_validate(spec.options)
        if find_tessdata(options.tessdata) is None:
            return "Tesseract's language data was not found: apt-get install tesseract-ocr tesseract-ocr-eng"
        return None

    @property
    def parallelism(self) -> int:
        return self._size

    def load(self) -> None:
        import tesserocr  # noqa: F401  (fail here, not in a request, if the library is broken)

        pool: queue.Queue = queue.Queue()
        for _ in range(self._size):
            pool.put({})  # one dict per worker: Tesseract language string -> PyTessBaseAPI
        self._pool = pool
        self._api({}, self.options.default_language)

    def unload(self) -> None:
        pool, self._pool = self._pool, None
        while pool is not None and not pool.empty():
            for api in pool.get_nowait().values():
                api.End()

    def tesseract_language(self, language: str | None) -> str:
        if language is None:
            return self.options.default_language
        code = iso_code(language)
        name = TESSERACT_CODES.get(code, code)
        if name in self._languages:
            return name
        readable = NAMES.get(code, language)
        package = TESSERACT_PACKAGES.get(code)
        how = f" Install it with: apt-get install {package}." if package else ""
        raise BadInput(
            f"Tesseract has no data for {readable} on this server.{how} "
            f"Installed: {', '.join(sorted(self._languages))}."
        )

    def _api(self, apis: dict, lang: str):
        import tesserocr

        if lang not in apis:
            apis[lang] = tesserocr.PyTessBaseAPI(path=f"{self._tessdata}/", lang=lang)
        return apis[lang]

    def ocr(self, image: Image.Image, language: str | None) -> OcrOutput:
        import tesserocr

        pool = self._pool
        if pool is None:
            raise RuntimeError("Tesseract backend used before load()")
        lang = self.tesseract_language(language)
        apis = pool.get()
        try:
            api = self._api(apis, lang)
            api.SetImage(image)
            api.Recognize()
            level = tesserocr.RIL.TEXTLINE
            lines = []
            for item in tesserocr.iterate_level(api.GetIterator(), level):
                text = (item.GetUTF8Text(level) or "").strip()
                if not text:
                    continue
                x1, y1, x2, y2 = item.BoundingBox(level)
                box = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
                lines.append(OcrLine(text=text, box=box, confidence=round(item.Confidence(level) / 100, 4)))
            api.Clear()
        finally:
            pool.put(apis)
        return OcrOutput(text="\n".join(line.text for line in lines), lines=lines)
