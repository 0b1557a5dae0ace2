"""Language hints: what users may type, parsed once into a :class:`Language` that the backends receive."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadInput

_HINT = re.compile(r"^[A-Za-z][A-Za-z_+\- ]{0,31}$")

# user spelling -> ISO 639-1 code
_ALIASES = {
    "en": "en", "eng": "en", "english": "en",
    "ru": "ru", "rus": "ru", "russian": "ru",
    "zh": "zh", "ch": "zh", "chi_sim": "zh", "chinese": "zh", "zh-cn": "zh",
    "de": "de", "deu": "de", "german": "de",
    "fr": "fr", "fra": "fr", "french": "fr",
    "es": "es", "spa": "es", "spanish": "es",
    "uk": "uk", "ukr": "uk", "ukrainian": "uk",
}

# ISO code -> Tesseract traineddata name
TESSERACT_CODES = {"en": "eng", "ru": "rus", "zh": "chi_sim", "de": "deu", "fr": "fra", "es": "spa", "uk": "ukr"}

# ISO code -> the Debian package that brings Tesseract's data for it
TESSERACT_PACKAGES = {code: f"tesseract-ocr-{name.replace('_', '-')}" for code, name in TESSERACT_CODES.items()}

NAMES = {"en": "English", "ru": "Russian", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish",
         "uk": "Ukrainian"}


@dataclass(frozen=True)
class Language:
    """A validated language hint: as the user wrote it (echoed back) and its ISO 639-1 code (or the lower-cased
    hint when it is not a known alias)."""

    text: str
    code: str

    @property
    def name(self) -> str:
        """English name for prompts: 'Russian'; the hint itself when unknown."""
        return NAMES.get(self.code, self.text)

    @property
    def tesseract(self) -> str:
        """Tesseract's traineddata name: 'rus'."""
        return TESSERACT_CODES.get(self.code, self.code)

    @property
    def package(self) -> str | None:
        """The Debian package with Tesseract's data for it, when known."""
        return TESSERACT_PACKAGES.get(self.code)


def parse(hint: str | None) -> Language | None:
    """The hint as a Language, None when empty; BadInput when it cannot be a language."""
    if hint is None:
        return None
    hint = hint.strip()
    if not hint:
        return None
    if not _HINT.match(hint):
        raise BadInput(f"language {hint[:40]!r} is not a language name or code (for example 'en', 'ru', 'russian').")
    key = hint.lower()
    return Language(text=hint, code=_ALIASES.get(key, key))
