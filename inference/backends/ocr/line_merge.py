"""One line read by both engines: RapidOCR's reading of the whole line (Tesseract drafted it, unsure of most of its
words, or a patch of the words it was unsure of did not take) mended with what Tesseract read better. RapidOCR's
recogniser drops spaces in tight or bold print ("Compositionofthe") and letters in small print ("withot the onent of
the author(s) ndor"); Tesseract's reading of the same line has the spaces and, where it is sure, the words. Only that
is taken: a space between two words Tesseract is fairly sure of where RapidOCR has none, and a word Tesseract is sure
of for the word of RapidOCR's in its place that is like it, both in ASCII; or Tesseract's whole reading, when it is
sure of most of it and RapidOCR's is another, shorter text (a line on a coloured band). Everything else stays
RapidOCR's (its symbols and accents: Tesseract's English has none), and no character of either reading is written
twice."""

from __future__ import annotations

from difflib import SequenceMatcher

from .rapid_script import Reading
from .tess_words import Word

MAX_CHARS = 300  # longer lines (a leader of dots makes aligning characters slow) stay as RapidOCR read them
SPACE_SURE = 0.5  # a space Tesseract put between two words it is at least this sure of splits RapidOCR's run of letters
SPACE_LETTERS = 6  # ...one of them a dictionary word, the other one too or a word of this many letters
NUMBERED_LETTERS = 3  # ...or a dictionary word of this many letters before a number ("Table 1")
ALIKE = 0.5  # a word of Tesseract's replaces RapidOCR's in its place when they are at least this alike (difflib's ratio)
BALANCE = 0.6  # ...and the shorter has at least this share of the longer's letters and digits
UNLIKE = 0.5  # two readings of a line less alike than this differ wholesale...
MOSTLY_SURE = 0.75  # ...and Tesseract's is taken whole when this share of its words are dictionary words it is sure of
# and it has more letters


def merged(reading: Reading, words: list[Word], sure: float) -> Reading:
    """``reading`` (RapidOCR's) with Tesseract's spaces and sure words (``words``: its reading of the same line; ``sure``:
    the confidence of a word it is sure of); a reading with characters beyond Latin (Chinese) is left as it is."""
    ours = reading.latin
    if reading.text != ours or not ours.strip() or len(ours) > MAX_CHARS or not words:
        return reading
    theirs = " ".join(word.text for word in words)
    known = sum(word.confidence >= sure and word.in_dictionary for word in words)  # (not Cyrillic read as Latin)
    if _wholesale(ours, theirs) and known >= MOSTLY_SURE * len(words):  # (a line on a coloured band: "Disa a   t   o ofthe")
        return Reading.latin_only(theirs, round(sum(w.confidence for w in words) / len(words), 4), "rapidocr+tesseract")
    text = _worded(_spaced(ours, words), words, sure)
    return reading if text == ours else Reading.latin_only(text, reading.latin_score, "rapidocr+tesseract")


def _wholesale(ours: str, theirs: str) -> bool:
    """Whether Tesseract's reading of the line differs from RapidOCR's wholesale, with more letters."""
    letters = [sum(ch.isalpha() for ch in text) for text in (ours, theirs)]
    return letters[1] > letters[0] and SequenceMatcher(None, ours, theirs, autojunk=False).ratio() < UNLIKE


def _spacing(left: Word, right: Word) -> bool:
    """A space Tesseract put between two words that RapidOCR may have run together: both read fairly surely, one a
    dictionary word, the other one too or a word of SPACE_LETTERS letters ("the pretraining"; not "Kap lansky"); or a
    dictionary word of NUMBERED_LETTERS letters and a number ("Table 1", "Section 2.1:"; not "A 4", "COVID 19")."""
    if left.confidence < SPACE_SURE or right.confidence < SPACE_SURE:
        return False
    if _number(right.text):
        return left.in_dictionary and left.text.isalpha() and len(left.text) >= NUMBERED_LETTERS
    known = [w.in_dictionary or (w.text.isalpha() and len(w.text) >= SPACE_LETTERS) for w in (left, right)]
    return all(known) and (left.in_dictionary or right.in_dictionary)


def _number(text: str) -> bool:
    """A number as a caption or a heading has it: "1", "2.1", "3:" (not "4a", "1,000")."""
    figures = text.rstrip(".:;,)")
    return bool(figures) and all(part.isdigit() for part in figures.split("."))


def _spaced(ours: str, words: list[Word]) -> str:
    """RapidOCR's text with a space where Tesseract has one between two words it is fairly sure of (``_spacing``) and
    RapidOCR has a letter run together with a letter or a figure after it (not in "c.html", "4.2.1" or "10:30")."""
    theirs, spaces = "", set()
    for i, word in enumerate(words):
        if i:
            if _spacing(words[i - 1], word):
                spaces.add(len(theirs))
            theirs += " "
        theirs += word.text
    parts, done = [], 0
    for tag, i1, _, j1, j2 in SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
        joined = 0 < i1 < len(ours) and ours[i1 - 1].isalpha() and (ours[i1].isalpha() or ours[i1].isdigit())
        if tag == "insert" and theirs[j1:j2] == " " and j1 in spaces and joined:
            parts += [ours[done:i1], " "]
            done = i1
    return "".join(parts) + ours[done:]


def _worded(ours: str, words: list[Word], sure: float) -> str:
    """RapidOCR's words with Tesseract's sure, ASCII words in their place where they differ (aligned in order; one to
    three words of RapidOCR's paired with the one to three of Tesseract's they are most like: "ofaessin" with "of
    accessing", "Informa tion" with "Information")."""
    mine, theirs = ours.split(), [word.text for word in words]
    out: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, mine, theirs, autojunk=False).get_opcodes():
        if tag != "replace":
            out += mine[i1:i2]
            continue
        i, j = i1, j1
        while i < i2:
            pair = _pair(mine, i, i2, theirs, j, j2)
            if pair is None:
                out.append(mine[i])
                i += 1
                continue
            a, k, b = pair
            better = _better(mine[i : i + a], theirs[k : k + b], words[k : k + b], sure)
            out += theirs[k : k + b] if better else mine[i : i + a]
            i, j = i + a, k + b
    return " ".join(out) if out != mine else ours


def _pair(mine: list[str], i: int, i2: int, theirs: list[str], j: int, j2: int) -> tuple[int, int, int] | None:
    """The run of one to three of ``mine`` from ``i`` and the run of Tesseract's, from the first of ``theirs`` (in
    ``j``..``j2``) that pairs, they are most like, as (its length, start, length), when alike enough."""
    for k in range(j, j2):
        runs = [(a, b) for a in range(1, min(3, i2 - i) + 1) for b in range(1, min(3, j2 - k) + 1)]
        runs = [(a, b) for a, b in runs if _balanced(mine[i : i + a], theirs[k : k + b])]
        ratio, a, b = max(
            ((_ratio("".join(mine[i : i + a]), "".join(theirs[k : k + b])), a, b) for a, b in runs), default=(0, 0, 0)
        )
        if ratio >= ALIKE:
            return a, k, b
    return None


def _balanced(mine: list[str], theirs: list[str]) -> bool:
    """Runs with about as many letters and digits (not "C O N" for "CONTENTS": its other letters are RapidOCR's next
    words)."""
    lengths = sorted((len(_alnum(mine)), len(_alnum(theirs))))
    return lengths[0] >= BALANCE * lengths[1]


def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _better(mine: list[str], theirs: list[str], words: list[Word], sure: float) -> bool:
    """Whether Tesseract's words are the better reading of RapidOCR's: dictionary words it is sure of (not "1990" for
    "1999", "ofthe" for "of the"), all is ASCII, and they differ in letters or digits, or only join what RapidOCR split
    ("Informa tion"; not "12 50" for "12.50", "Smith" for "(Smith")."""
    if not all(word.confidence >= sure and word.in_dictionary for word in words) or not "".join(mine + theirs).isascii():
        return False
    if _alnum(mine) == _alnum(theirs):
        return len(theirs) < len(mine)
    return True


def _alnum(words: list[str]) -> str:
    return "".join(ch for word in words for ch in word if ch.isalnum())
