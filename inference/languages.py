"""Language hints: what users may type, and what each engine calls it."""

from __future__ import annotations

import re

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


def clean_hint(hint: str | None) -> str | None:
    """The hint as the user gave it (stripped), None when empty; BadInput when it cannot be a language."""
    if hint is None:
        return None
    hint = hint.strip()
    if not hint:
        return None
    if not _HINT.match(hint):
        raise BadInput(f"language {hint[:40]!r} is not a language name or code (for example 'en', 'ru', 'russian').")
    return hint


def iso_code(hint: str | None) -> str | None:
    """The ISO 639-1 code of a hint, or the lower-cased hint itself when it is not a known alias."""
    if hint is None:
        return None
    key = hint.strip().lower()
    return _ALIASES.get(key, key)
