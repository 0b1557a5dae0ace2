"""Tesseract first: printed Latin lines are read by Tesseract, which reads a line of a page in well under half
RapidOCR's time; a reading whose every word Tesseract is sure of is kept; in one it is unsure of a few words
of, RapidOCR reads those words again (cut out of the line); the others are read whole by RapidOCR, and mended with
what Tesseract read surely (``line_merge``). The embedded backend decides, on a sample of each image's lines, whether
that pays."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from PIL import Image, ImageOps

from .edge_rules import dark_on_light, without_edge_rules
from .rapid_script import Reading, is_latin
from .script_check import is_english, may_be_other_script
from .tess_words import Word
from .tesseract import TesseractEngines

FIRST_SAMPLE = 8  # lines of an image Tesseract reads first, spread over it...
FIRST_SHARE = 0.6  # ...and the share of them it must read well to read the image's other lines first too
MOSTLY_SURE = 5  # a sample line read well: Tesseract unsure of at most one word in this many
MANY_WORDS = 40  # ...or a sample with at least this many words read surely...
SURE_SHARE = 0.85  # ...and this share of all its words (a page of small print and names: few lines all sure)
LINE_PADDING = 8  # px of the crop's background around a line given to Tesseract (it reads tight crops worse)
JOINS = ("—", "–", "/", "@", ".")  # marks inside a token that join several words (or make an address: bmj.com)
MIN_CUT = 4  # px: narrower cuts of unsure words (overlapping boxes) are not read alone; the line is read whole
ENGLISH_WORDS = 20  # words of a sample read surely, for a page that reads as English...
FOREIGN_SHARE = 0.05  # ...with at most this share of them outside English's dictionary (``plain_english``)
K = TypeVar("K")


def spread(count: int, sample: int) -> list[int]:
    """``sample`` indexes spread evenly over ``count`` (all of them when there are no more)."""
    if count <= sample:
        return list(range(count))
    return sorted({round(j * (count - 1) / (sample - 1)) for j in range(sample)})


def padded(crop: np.ndarray, again: bool = True) -> Image.Image:
    """A line crop in grey, with a margin of its own background (the median of its border); where ``again`` (a line
    read again: the script check, a hint of scripts only Tesseract reads), dark on light and without a table's rules at
    its ends (``edge_rules``), for Tesseract to read without its own inversion (``TesseractEngines.read_words``)."""
    image = Image.fromarray(crop).convert("L")
    pixels = np.asarray(image)
    if again:
        pixels = without_edge_rules(dark_on_light(pixels))
        image = Image.fromarray(pixels)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return ImageOps.expand(image, LINE_PADDING, fill=int(np.median(border)))


@dataclass
class Draft:
    """Tesseract's reading of a line it is unsure of some words of (up to all of them): its words (those that may have
    lost their accents counted unsure: ``foreign``), the image it read, and its words with the confidences it read them
    with (``read``: where its spaces are, for ``line_merge``; the words themselves by default)."""

    words: list[Word]
    image: Image.Image
    sure: float
    read: list[Word] | None = None

    def as_read(self) -> list[Word]:
        return self.words if self.read is None else self.read

    def patchable(self) -> bool:
        """Whether Tesseract is unsure of at most half its words: RapidOCR reads those words again; else the whole line
        (and Tesseract's reading only mends RapidOCR's: ``line_merge``)."""
        return 2 * sum(word.confidence < self.sure for word in self.words) <= len(self.words)

    def runs(self) -> list[tuple[int, int]]:
        """The runs of consecutive words it is unsure of, as (first, past the last) word indexes, each widened to the
        words outside it whose boxes reach into its cut (``widened``)."""
        runs: list[tuple[int, int]] = []
        for i, word in enumerate(self.words):
            if word.confidence >= self.sure:
                continue
            if runs and runs[-1][1] == i:
                runs[-1] = (runs[-1][0], i + 1)
            else:
                runs.append((i, i + 1))
        widened: list[tuple[int, int]] = []
        for first, end in map(self.widened, runs):
            if widened and first < widened[-1][1]:  # (one widened over the next: one run)
                previous = widened.pop()
                first, end = previous[0], max(previous[1], end)
            widened.append((first, end))
        return widened

    def widened(self, run: tuple[int, int]) -> tuple[int, int]:
        """The run with the words around it whose boxes reach more than MIN_CUT px into its cut (``edges``): their letters
        would be read twice ("the e plants") or the run's left out (Tesseract's boxes out of order: "Allgemeine" over the
        next three words and half of "Summen"). RapidOCR reads those words again with the run's."""
        first, end = run
        while True:
            left, right = self.edges((first, end))
            before = [i for i in range(first) if self.words[i].box[2] - left > MIN_CUT]
            after = [i for i in range(end, len(self.words)) if right - self.words[i].box[0] > MIN_CUT]
            if not before and not after:
                return first, end
            first, end = min(before, default=first), max(after, default=end - 1) + 1

    def edges(self, run: tuple[int, int]) -> tuple[int, int]:
        """Where the run's cut starts and ends: the middle of the gap before its words and of the gap after (never
        inside its own words), the line's ends for the first and last words."""
        first, end = run
        words, width = self.words, self.image.width
        left = min((words[first - 1].box[2] + words[first].box[0]) // 2, words[first].box[0]) if first else 0
        right = max((words[end - 1].box[2] + words[end].box[0]) // 2, words[end - 1].box[2]) if end < len(words) else width
        return max(0, left), min(width, right)

    def cut(self, run: tuple[int, int]) -> np.ndarray | None:
        """The run's words cut out of the line (``edges``); None when boxes that overlap leave too little to read."""
        left, right = self.edges(run)
        if right - left < MIN_CUT:
            return None
        return np.asarray(self.image.crop((left, 0, right, self.image.height)).convert("RGB"))

    def patched(self, found: dict[tuple[int, int], Reading]) -> Reading:
        """The line with each run's words replaced by RapidOCR's reading of them."""
        parts, scores, i = [], [], 0
        for (first, end), reading in sorted(found.items()):
            parts += [w.text for w in self.words[i:first]] + [reading.latin.strip()]
            scores += [w.confidence for w in self.words[i:first]] + [reading.latin_score]
            i = end
        parts += [w.text for w in self.words[i:]]
        scores += [w.confidence for w in self.words[i:]]
        return Reading.latin_only(" ".join(parts), round(min(scores), 4), "tesseract+rapidocr")


def foreign(word: Word, english: Container[str] = frozenset()) -> bool:
    """A word of three letters or more, not all capitals, that English's dictionary lacks, and not for want of a
    whole word (the first part of one broken at the line's end) or of one word alone (words joined by a dash or a
    slash, an address, a possessive; English words joined by hyphens: "stock-based", ``english`` its words): those are
    the dictionary's misses on every printed page."""
    text = word.text.rstrip('.,;:!?)]"”’')
    joined = text.endswith("-") or any(mark in text for mark in JOINS) or text.endswith(("’s", "'s"))
    parts = text.lstrip('(["“‘').split("-")
    compound = len(parts) > 1 and all(part and is_english(part, english) for part in parts)
    return not word.in_dictionary and not joined and not compound and sum(ch.isalpha() for ch in text) >= 3 and not text.isupper()


def tesseract_line(
    tesseract: TesseractEngines,
    crop: np.ndarray,
    sure: float,
    english: Container[str] = frozenset(),
    accents: bool = True,
) -> Reading | Draft | None:
    """Tesseract's reading of a Latin line: a Reading when it is sure of every word, else a Draft (None when it read
    no Latin words). ``english``: English's words (``foreign``); ``accents``: whether a word outside them may have lost
    its accents (not on a page that reads as English, ``plain_english``, in a line of English words with a name or a
    term among them: one word in MOSTLY_SURE at most; a line in German there is read as on any page)."""
    image = padded(crop, again=False)  # (a cell's rule read as a mark routes it to RapidOCR: "pc" read "Pe" else)
    read = tesseract.read_words(image, "eng")
    if not read or not is_latin(" ".join(word.text for word in read)):
        return None
    # a word in small letters outside English's dictionary may have lost its accents ("Marz" for März), or be a word of
    # another script in Latin look-alikes ("Tosap" for Товар): RapidOCR reads it too (not words in capitals: codes and
    # names on receipts, which Tesseract reads well)
    return drafted(counted(read, sure, english, accents), image, sure, read)


def counted(read: list[Word], sure: float, english: Container[str], accents: bool) -> list[Word]:
    """Tesseract's words with those outside English's dictionary counted unsure (``tesseract_line``'s ``accents``)."""
    outside = [foreign(w, english) for w in read]
    if not accents and sum(outside) * MOSTLY_SURE <= len(read):
        return read
    return [replace(w, confidence=min(w.confidence, sure / 2)) if out else w for w, out in zip(read, outside, strict=True)]


def drafted(words: list[Word], image: Image.Image, sure: float, read: list[Word]) -> Reading | Draft:
    """A Reading when Tesseract is sure of every word (as counted: ``words``), else a Draft."""
    if not any(word.confidence < sure for word in words):
        return Reading.latin_only(" ".join(w.text for w in words), round(min(w.confidence for w in words), 4), "tesseract")
    return Draft(words, image, sure, read)


def plain_english(sample: list[Reading | Draft | None], sure: float, english: Container[str] = frozenset()) -> bool:
    """Whether a printed page's sample reads as English: ENGLISH_WORDS words or more read surely, few of them
    (``FOREIGN_SHARE``) outside English's dictionary (``foreign``). Its other lines' words outside it are names and
    terms ("Kenema", "Hypothesizer", "Pronouncements"), not words that lost their accents: Tesseract's sure reading of
    them stands (RapidOCR read each again, and the whole line and its script where the word looked like another
    script's look-alikes: ~4% of the peer pages' time). A page in French or German has a fifth or more of such words."""
    words = [w for r in sample if isinstance(r, Draft) for w in r.as_read() if w.confidence >= sure]
    count = len(words) + sum(len(r.text.split()) for r in sample if isinstance(r, Reading))
    return count >= ENGLISH_WORDS and sum(foreign(w, english) for w in words) <= FOREIGN_SHARE * count


def uncapped(reading: Reading | Draft | None, sure: float, english: Container[str] = frozenset()) -> Reading | Draft | None:
    """A sample line counted as on a page in English (``plain_english``; ``counted``)."""
    if isinstance(reading, Draft) and reading.read is not None:
        return drafted(counted(reading.read, sure, english, False), reading.image, sure, reading.read)
    return reading


def in_english(sample: dict[K, Reading | Draft | None], sure: float, english: Container[str]) -> tuple[dict, bool]:
    """A printed page's sample, its lines counted as on a page in English where it reads as one (``plain_english``), and
    whether it does (the page's other lines are read so: ``tesseract_line``'s ``accents``)."""
    if not plain_english(list(sample.values()), sure, english):
        return sample, False
    return {key: uncapped(reading, sure, english) for key, reading in sample.items()}, True


def mends(draft: Draft, reading: Reading, text_score: float) -> bool:
    """Whether Tesseract's draft of a line mends RapidOCR's reading of it whole (``line_merge``): where Tesseract was sure
    of most of its words, always; else only a reading RapidOCR is at least ``text_score`` sure of (a line both doubt
    stays RapidOCR's, and is left out as its other unsure lines are)."""
    return draft.patchable() or reading.latin_score >= text_score


def mostly_sure(reading: Reading | Draft | None, sure: float, english: Container[str] = frozenset()) -> bool:
    """A sample line Tesseract read well: surely, or unsure of at most one word in MOSTLY_SURE for its own reasons
    (a word cut by a stain, small print: RapidOCR reads those words again). A word outside English's dictionary
    (``foreign``) says the line may be in another language, which RapidOCR reads with its accents."""
    if isinstance(reading, Draft) and reading.patchable():
        unsure = [word for word in reading.words if word.confidence < sure]
        return len(unsure) * MOSTLY_SURE <= len(reading.words) and not any(foreign(word, english) for word in unsure)
    return isinstance(reading, Reading)


def printed(sample: list[Reading | Draft | None], sure: float, english: Container[str] = frozenset()) -> bool:
    """Whether Tesseract read a sample of an image's lines well enough to read its other lines first too: most
    lines well (``mostly_sure``), or many words surely and few not (small print, names with their marks: lines
    of 15 words unsure of three). A till receipt or a photo has neither: short lines Tesseract is unsure of."""
    if sum(mostly_sure(r, sure, english) for r in sample) >= FIRST_SHARE * len(sample):
        return True
    words = [w.confidence >= sure for r in sample if isinstance(r, Draft) and r.patchable() for w in r.words]
    words += [True for r in sample if isinstance(r, Reading) for _ in r.text.split()]
    return sum(words) >= MANY_WORDS and sum(words) >= SURE_SHARE * len(words)


def halves(sample: list[int]) -> tuple[list[int], list[int]]:
    """A full sample's lines in two halves, each spread over the image (every other line), read one after the other: the
    first may settle the question (``unreadable``). A smaller sample (an image of a few lines) is read at once."""
    return (sample[0::2], sample[1::2]) if len(sample) == FIRST_SAMPLE else (sample, [])


def unreadable(first: list[Reading | Draft | None]) -> bool:
    """Whether the first half of a sample shows the image is not printed Latin: Tesseract unsure of more than half the words
    of each of its lines, or reading none (handwriting, a script it lacks). Its other half is not read: ``printed`` would
    need more lines read well than are left, or MANY_WORDS read surely in those four lines alone (a page of print and
    handwriting line by line is taken as not printed: RapidOCR reads it all, as it reads a receipt's)."""
    return all(r is None or (isinstance(r, Draft) and not r.patchable()) for r in first)


def patch(
    first: list[Reading | Draft | None],
    read: Callable[[list[np.ndarray]], list[Reading]],
    sure: float,
    english: Container[str] = frozenset(),
    text_score: float = 0.5,
) -> None:
    """RapidOCR reads the words each draft is unsure of (each run of them, cut out between the gaps around
    it); a draft whose every run it reads in Latin by the look of it (``english``: English's words, see
    ``script_check.may_be_other_script``), at least ``text_score`` sure, becomes a Reading (the rest of the line Tesseract
    read surely in English: no script check needed), the others None (read whole again, and checked for another script:
    ``script_check``). A run RapidOCR is unsure of too is taken as it read it: reading the whole line again read those
    words no better (olmOCR-Bench's pages and SROIE's receipts scored the same) at ~80 ms a line."""
    runs: list[tuple[int, tuple[int, int], np.ndarray]] = []
    for k, draft in enumerate(first):
        if isinstance(draft, Draft) and not draft.patchable():
            first[k] = None
        elif isinstance(draft, Draft):
            cuts = [(k, run, draft.cut(run)) for run in draft.runs()]
            if all(cut is not None for _, _, cut in cuts):
                runs += cuts  # type: ignore[arg-type]
            else:
                first[k] = None
    patches: dict[int, dict[tuple[int, int], Reading]] = {}
    for (k, run, _), reading in zip(runs, read([cut for _, _, cut in runs]), strict=True):
        patches.setdefault(k, {})[run] = reading
    for k, found in patches.items():
        draft = first[k]
        ok = isinstance(draft, Draft) and all(
            r.latin.strip() and r.latin_score >= text_score and not may_be_other_script(r.latin, english) for r in found.values()
        )
        first[k] = draft.patched(found) if ok else None  # type: ignore[union-attr]
