"""Language hints: what users may type, parsed once into a :class:`Language` that the backends receive."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadInput

_HINT = re.compile(r"^[A-Za-z][A-Za-z_+,\- ]{0,47}$")

# user spelling -> ISO 639-1 code
_ALIASES = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "ru": "ru",
    "rus": "ru",
    "russian": "ru",
    "zh": "zh",
    "ch": "zh",
    "chi_sim": "zh",
    "chinese": "zh",
    "zh-cn": "zh",
    "de": "de",
    "deu": "de",
    "german": "de",
    "fr": "fr",
    "fra": "fr",
    "french": "fr",
    "es": "es",
    "spa": "es",
    "spanish": "es",
    "uk": "uk",
    "ukr": "uk",
    "ukrainian": "uk",
}

# ISO code -> Tesseract traineddata name
TESSERACT_CODES = {"en": "eng", "ru": "rus", "zh": "chi_sim", "de": "deu", "fr": "fra", "es": "spa", "uk": "ukr"}

# ISO code -> the Debian package that brings Tesseract's data for it
TESSERACT_PACKAGES = {code: f"tesseract-ocr-{name.replace('_', '-')}" for code, name in TESSERACT_CODES.items()}

# The languages named here that are written in Cyrillic
CYRILLIC = ("ru", "uk")

NAMES = {"en": "English", "ru": "Russian", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish", "uk": "Ukrainian"}


@dataclass(frozen=True)
class Language:
    """A validated language hint: as the user wrote it (echoed back) and its ISO 639-1 codes, one per language
    named ('en', or 'en+ru' for a page in both); an unknown name stays as the lower-cased name."""

    text: str
    codes: tuple[str, ...]

    @property
    def code(self) -> str:
        return "+".join(self.codes)

    @property
    def name(self) -> str:
        """English name(s) for prompts: 'Russian', 'English and Russian'."""
        return " and ".join(NAMES.get(code, code) for code in self.codes)

    @property
    def tesseract(self) -> str:
        """Tesseract's language string: 'rus', 'eng+rus'."""
        return "+".join(TESSERACT_CODES.get(code, code) for code in self.codes)

    @property
    def package(self) -> str | None:
        """The Debian package(s) with Tesseract's data for it, when known."""
        packages = [TESSERACT_PACKAGES[code] for code in self.codes if code in TESSERACT_PACKAGES]
        return " ".join(packages) or None


def parse(hint: str | None) -> Language | None:
    """The hint as a Language, None when empty; BadInput when it cannot be a language. Several languages are
    joined with '+' or ',' (en+ru, eng+rus)."""
    if hint is None:
        return None
    hint = hint.strip()
    if not hint:
        return None
    if not _HINT.match(hint):
        raise BadInput(f"language {hint[:40]!r} is not a language name or code (for example 'en', 'ru', 'en+ru').")
    parts = [part.strip().lower() for part in re.split(r"[+,]", hint) if part.strip()]
    if not parts:
        raise BadInput(f"language {hint[:40]!r} names no language (for example 'en', 'ru', 'en+ru').")
    return Language(text=hint, codes=tuple(dict.fromkeys(_ALIASES.get(part, part) for part in parts)))
