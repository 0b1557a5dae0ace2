"""Scripts neither recogniser reads that RapidOCR's model still writes: its dictionary has some of their letters (Greek's
small letters among them), so it reads such a line surely but lossily ("αλα σα, αυτ εναι" for "Καλημέρα σας, αυτή
είναι") and the script check of doubtful lines (``script_check``) never sees it. A line mostly in one of these
scripts is one no installed engine reads, unless Tesseract has a language of that script."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Container

# the first word of a letter's Unicode name -> Tesseract's languages written in that script
SCRIPT_LANGUAGES = {
    "GREEK": ("ell", "grc"),
    "ARABIC": ("ara", "fas", "urd", "pus", "snd", "uig"),
    "HEBREW": ("heb", "yid"),
    "DEVANAGARI": ("hin", "mar", "nep", "san"),
    "BENGALI": ("ben", "asm"),
    "TAMIL": ("tam",),
    "THAI": ("tha",),
    "ARMENIAN": ("hye",),
    "GEORGIAN": ("kat", "kat_old"),
}


WORDS = 2  # words of 3 letters or more in that script: a formula's "α β γ" or "sin θ" is no line of text in it


def _script(ch: str) -> str:
    return unicodedata.name(ch, "").split(" ")[0]


def _letter(ch: str) -> bool:
    """A letter, or a mark written on one (Devanagari's, Bengali's, Thai's vowel signs are no letters to isalpha)."""
    return ch.isalpha() or unicodedata.category(ch).startswith("M")


def in_unread_script(text: str, installed: Container[str]) -> bool:
    """Whether most of the letters of ``text`` are of one script in SCRIPT_LANGUAGES that no ``installed`` Tesseract
    language is written in, with WORDS words of it (a formula's letters are none)."""
    if text.isascii():  # (most lines: no letter of those scripts)
        return False
    letters = [ch for ch in text if _letter(ch)]
    script, count = Counter(_script(ch) for ch in letters).most_common(1)[0] if letters else ("", 0)
    if 2 * count <= len(letters) or script not in SCRIPT_LANGUAGES or any(code in installed for code in SCRIPT_LANGUAGES[script]):
        return False
    words = "".join(ch if _letter(ch) else " " for ch in text).split()
    return sum(len(word) >= 3 and all(_script(ch) == script for ch in word) for word in words) >= WORDS
