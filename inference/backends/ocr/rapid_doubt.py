"""Signs that RapidOCR's reading of a line is not the line, for both RapidOCR backends: its packaged recogniser reads
Latin letters, Chinese and Japanese (``RAPIDOCR_LANGUAGES``), and a line in a script it lacks comes back garbled: blank, as its
punctuation and digits (", !" for "Привет, мир!"), or as look-alike letters. The embedded backend has such lines read
again by Tesseract (``script_check``); RapidOCR alone says how many it could not read (``lost``).
"""

from __future__ import annotations

import re

import numpy as np

from ...languages import NAMES, Language
from ...layout import quad_size
from ...values import OcrLine
from .rapid_options import RapidOptions
from .script_check import ink_runs, text_shaped

# what the packaged recogniser reads (ISO 639-1 codes, and Tesseract's for the same languages, which hints may name):
# Chinese, Japanese (its dictionary has the kana) and the languages written in Latin letters that its dictionary has
# every letter of (tests/unit/inference/test_rapid_languages.py checks them; not Vietnamese: it lacks some)
LATIN_LANGUAGES = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "nl": "nld", "ca": "cat",
    "gl": "glg", "eu": "eus", "pl": "pol", "cs": "ces", "sk": "slk", "sl": "slv", "hr": "hrv", "bs": "bos",
    "sv": "swe", "da": "dan", "no": "nor", "nb": "nor", "fi": "fin", "et": "est", "lv": "lav", "lt": "lit",
    "hu": "hun", "ro": "ron", "tr": "tur", "is": "isl", "ga": "gle", "sq": "sqi", "af": "afr", "id": "ind",
    "ms": "msa", "sw": "swa", "tl": "tgl", "la": "lat", "mt": "mlt", "cy": "cym",
}  # fmt: skip
RAPIDOCR_LANGUAGES = {*LATIN_LANGUAGES, *LATIN_LANGUAGES.values(), "zh", "chi_sim", "chi_tra", "ja", "jpn"}
LOST = 0.25  # a reading with fewer letters and digits than this share of its line's runs of ink lost most of the line


def unread_languages(language: Language) -> list[str]:
    """The hint's languages (ISO codes, or names no engine knows) that RapidOCR's models do not read."""
    return [code for code in language.codes if code not in RAPIDOCR_LANGUAGES]


def cannot_read(who: str, codes: list[str]) -> str:
    """The user's warning that ``who`` ("This server", "This model") reads none of these languages."""
    said = ", ".join(NAMES.get(code, repr(code)) for code in codes)
    return f"{who} cannot read {said}; the text is RapidOCR's reading in Latin and Chinese characters."


def looks_wrong(line: OcrLine, options: RapidOptions) -> bool:
    """RapidOCR's reading of a line in a script it may lack: low confidence, or garbled."""
    return line.confidence < options.min_confidence or garbled(line, options)


def garbled(line: OcrLine, options: RapidOptions) -> bool:
    """A reading of a line in a script the recogniser lacks (whatever its confidence): too few characters for
    the line's width, gaps where words were dropped (at its start too: " 210,00" for "Сыр 210,00"), mostly
    punctuation, or words cut to stubs."""
    width, height = quad_size(line.box)
    visible = [ch for ch in line.text if not ch.isspace()]
    alnum = sum(ch.isalnum() for ch in visible)
    words = [w.strip(".,:;!?()") for w in line.text.split()]
    words = [w for w in words if w.isalpha()]
    stubs = sum(len(w) <= 2 and w.islower() for w in words)  # Cyrillic read as Latin: "o", "ma", "py"...
    odd = sum(bool(_LOOKALIKE.search(w)) for w in line.text.split())  # ...or "3aka3 oT mapta" (заказ от марта)
    return (
        len(visible) < options.min_chars_per_height * width / max(height, 1.0)
        or "  " in line.text.strip()
        or line.text[:1].isspace()
        or alnum < 0.6 * len(visible)
        or (len(words) >= 3 and stubs >= 0.5 * len(words))
        or (bool(words) and all(len(w) == 1 and w.islower() for w in words))  # (only a stub: "o 494,90" for "Итого ...")
        or odd >= 2
    )


# A word as Cyrillic comes out of a Latin reader: digits on both sides of letters (3 for з) or the reverse,
# or a capital after a small letter (т read as T).
_LOOKALIKE = re.compile(r"\d[^\W\d_]+\d|[^\W\d_]\d+[^\W\d_]|[a-z][A-Z]")


def lost(line: OcrLine, crop: np.ndarray) -> bool:
    """Whether RapidOCR's reading of a line (``crop``, shaped like text: ``text_shaped``) kept few of its characters:
    fewer letters and digits than LOST of the runs of ink along it (about one a character; more on a dot-matrix
    receipt). PP-OCRv6 reads most Cyrillic lines as blank, or as their punctuation and digits: 0.00-0.22 of the runs
    on the data set's Russian pages; at least 0.28 on its English ones (lines read with some confidence)."""
    kept = sum(ch.isalnum() for ch in line.text)
    return text_shaped(crop) and kept < LOST * ink_runs(crop)[0]
