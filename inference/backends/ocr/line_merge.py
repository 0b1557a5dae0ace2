"""One line read by both engines: RapidOCR's reading of the whole line (Tesseract drafted it, and a patch of the words
it was unsure of did not take) mended with what Tesseract read better. RapidOCR's recogniser drops spaces in tight or
bold print ("Compositionofthe") and letters in small print ("withot the onent of the author(s) ndor"); Tesseract's
reading of the same line has the spaces and, where it is sure, the words. Only that is taken: a space between two words
Tesseract is fairly sure of where RapidOCR has none, and a word Tesseract is sure of for the word of RapidOCR's in its
place that is like it, both in ASCII; or Tesseract's whole reading, when it is sure of most of it and RapidOCR's is
another, shorter text (a line on a coloured band). Everything else stays RapidOCR's (its symbols and accents:
Tesseract's English has none), and no character of either reading is written twice."""

from __future__ import annotations

from difflib import SequenceMatcher

from .rapid_script import Reading
from .tesseract import Word

MAX_CHARS = 300  # longer lines (a leader of dots makes aligning characters slow) stay as RapidOCR read them
SPACE_SURE = 0.5  # a space Tesseract put between two words it is at least this sure of splits RapidOCR's run of letters
ALIKE = 0.5  # a word of Tesseract's replaces RapidOCR's in its place when they are at least this alike (difflib's ratio)
UNLIKE = 0.5  # two readings of a line less alike than this differ wholesale...
MOSTLY_SURE = 0.75  # ...and Tesseract's is taken whole when it is sure of this share of its words and has more letters


def merged(reading: Reading, words: list[Word], sure: float) -> Reading:
    """``reading`` (RapidOCR's) with Tesseract's spaces and sure words (``words``: its reading of the same line; ``sure``:
    the confidence of a word it is sure of); a reading with characters beyond Latin (Chinese) is left as it is."""
    ours = reading.latin
    if reading.text != ours or not ours.strip() or len(ours) > MAX_CHARS or not words:
        return reading
    theirs = " ".join(word.text for word in words)
    if _wholesale(ours, theirs) and sum(word.confidence >= sure for word in words) >= MOSTLY_SURE * len(words):
        text = theirs  # (RapidOCR read a line on a coloured band as "Disa a   t   o ofthe")
    else:
        text = _worded(_spaced(ours, words), words, sure)
    return reading if text == ours else Reading.latin_only(text, reading.latin_score, "rapidocr+tesseract")


def _wholesale(ours: str, theirs: str) -> bool:
    """Whether Tesseract's reading of the line differs from RapidOCR's wholesale, with more letters."""
    letters = [sum(ch.isalpha() for ch in text) for text in (ours, theirs)]
    return letters[1] > letters[0] and SequenceMatcher(None, ours, theirs, autojunk=False).ratio() < UNLIKE


def _spaced(ours: str, words: list[Word]) -> str:
    """RapidOCR's text with a space where Tesseract has one between two words it is fairly sure of and RapidOCR has
    the letters on both sides run together."""
    theirs, spaces = "", set()
    for i, word in enumerate(words):
        if i:
            if min(words[i - 1].confidence, word.confidence) >= SPACE_SURE:
                spaces.add(len(theirs))
            theirs += " "
        theirs += word.text
    parts, done = [], 0
    for tag, i1, _, j1, j2 in SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
        if tag == "insert" and theirs[j1:j2] == " " and j1 in spaces and 0 < i1 < len(ours) and " " not in ours[i1 - 1 : i1 + 1]:
            parts += [ours[done:i1], " "]
            done = i1
    return "".join(parts) + ours[done:]


def _worded(ours: str, words: list[Word], sure: float) -> str:
    """RapidOCR's words with each that differs from the sure, ASCII words of Tesseract's in its place (aligned in order;
    one word of RapidOCR's paired with the one, two or three of Tesseract's it is most like, when alike: "ofaessin" with
    "of accessing") replaced by Tesseract's."""
    mine, theirs = ours.split(), [word.text for word in words]
    out = list(mine)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, mine, theirs, autojunk=False).get_opcodes():
        if tag != "replace":
            continue
        j = j1
        for i in range(i1, i2):
            pair = next((run for k in range(j, j2) if (run := _alike(mine[i], theirs, k, j2))), None)
            if pair is None:
                continue
            k, end = pair
            j = end
            if all(word.confidence >= sure for word in words[k:end]) and (mine[i] + "".join(theirs[k:end])).isascii():
                out[i] = " ".join(theirs[k:end])
    return " ".join(out) if out != mine else ours


def _alike(word: str, theirs: list[str], k: int, end: int) -> tuple[int, int] | None:
    """The run of up to three of ``theirs`` from ``k`` (before ``end``) most like ``word``, as (k, past its end), when
    alike enough."""
    ratio, stop = max((SequenceMatcher(None, word, "".join(theirs[k:e])).ratio(), e) for e in range(k + 1, min(k + 3, end) + 1))
    return (k, stop) if ratio >= ALIKE else None
