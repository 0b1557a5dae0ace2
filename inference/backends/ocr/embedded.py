"""The embedded default: RapidOCR's detector and reader, with Tesseract for the scripts RapidOCR
cannot read (Cyrillic and others), line by line.

RapidOCR finds the lines (straight or rotated; each crop is rectified) and reads Latin and
Chinese. A line goes to Tesseract when the language hint names only scripts RapidOCR lacks; without a
hint or with a mixed one (en+ru), when RapidOCR's reading of it is garbled and Tesseract reads it with
more letters, or when Tesseract's dictionaries show it is in another script (``script_check``: Cyrillic
comes out of RapidOCR as confident Latin look-alikes; on a page mostly in Cyrillic, so do its short words drawn
alike in both scripts: ``in_the_page_script``). Without Tesseract the backend still works; the user
is told what cannot be read, the operator what to install (the log, and ``advice`` in /models).

Printed Latin lines are read by Tesseract first (``tesseract_first``). A sample of each image's lines decides
whether that pays: on a page Tesseract keeps most lines, on a till receipt or a photo it keeps few, and RapidOCR
reads the rest directly.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from PIL import Image
from pydantic import Field

from ...languages import NAMES, TESSERACT_CODES, TESSERACT_PACKAGES, Language
from ...settings import ModelSpec
from ...values import OcrLine, unread_script_warning
from .blank_lines import Reexamined, reread
from .edge_rules import unruled
from .line_band import line_crop
from .line_merge import merged
from .rapid import RapidOcrBackend, textless
from .rapid_doubt import cannot_read, garbled, looks_wrong, unread_languages
from .rapid_options import RapidOptions
from .rapid_script import Reading, Script
from .script_check import (
    LETTERLESS_OTHER,
    MIN_OTHER,
    UNSURE_LINE,
    cyrillic_letters,
    dictionary_letters,
    has_english_words,
    in_another_script,
    in_words_of_the_script,
    letters,
    may_be_other_script,
    non_latin_letters,
    page_script_reading,
    read_as_look_alikes,
    reads_other_script,
    text_shaped,
    worth_saying,
)
from .tess_words import Word, Words, dictionary
from .tesseract import TesseractEngines, find_tessdata, installed_languages
from .tesseract_first import (
    FIRST_SAMPLE,
    Draft,
    halves,
    in_english,
    mends,
    padded,
    patch,
    printed,
    spread,
    tesseract_line,
    unreadable,
)
from .unread_scripts import in_unread_script

logger = logging.getLogger(__name__)
T = TypeVar("T")

UNSQUEEZED = 1.0  # images Tesseract is unsure of (receipts, photos): their small print loses spaces when squeezed
TESSERACT_LINES = 1  # Tesseract's line reads (1-20 ms each, with the width) are shared out to idle engines from two lines on


class EmbeddedOptions(RapidOptions):
    tessdata: str = Field("auto", description="Tesseract's language data; auto = $TESSDATA_PREFIX, then system folders")
    fallback_languages: str = Field("rus+eng", description="Tesseract languages for lines RapidOCR cannot read")
    tesseract_first: bool = Field(True, description="read Latin lines with Tesseract first, RapidOCR the doubtful words")
    tesseract_first_confidence: float = Field(
        0.85, ge=0, le=1, description="Tesseract's words at least this sure are kept (RapidOCR reads the others again)"
    )


class EmbeddedOcrBackend(RapidOcrBackend):
    Options = EmbeddedOptions

    @classmethod
    def advice(cls, spec: ModelSpec) -> str | None:
        """For the operator (/models, the start-up log): the scripts read here, and how to read more."""
        options = cls.Options.model_validate(spec.options)
        tessdata = find_tessdata(options.tessdata)
        if tessdata is None or importlib.util.find_spec("tesserocr") is None:
            return (
                "reads Latin and Chinese only: Tesseract is not installed for Cyrillic and other scripts "
                "(apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus)"
            )
        languages = ", ".join(sorted(installed_languages(tessdata)))
        return (
            f"reads Latin and Chinese, and with Tesseract: {languages}; "
            "an administrator can add more: apt-get install tesseract-ocr-LANG"
        )

    def load(self) -> None:
        super().load()
        tessdata = find_tessdata(self.options.tessdata)
        usable = tessdata is not None and importlib.util.find_spec("tesserocr") is not None
        self._tesseract = TesseractEngines(tessdata, self.workers) if usable else None
        self._english: Container[str] = frozenset()  # (English's words: see script_check.may_be_other_script)
        if self._tesseract is not None and "eng" in self._tesseract.languages:
            self._tesseract.prepare("eng")
            self._english = dictionary(self._tesseract.tessdata, "eng")

    def unload(self) -> None:
        super().unload()
        if self._tesseract is not None:
            self._tesseract.close()
            self._tesseract = None

    def recognize(
        self, engine: Any, crops: list[np.ndarray], script: Script = "auto", sideways: frozenset[int] = frozenset()
    ) -> list[Reading]:
        """Tesseract reads a sample of the lines first; when it is sure of most of them (a printed page), it
        reads the other lines first too, RapidOCR reads again the words it is unsure of (or the whole line,
        when those are most of it); otherwise RapidOCR reads every line Tesseract was not sure of. Lines in
        Chinese (a hint naming it) are RapidOCR's alone, as are those cut turned a quarter (``sideways``: a box taller than
        wide, as a table's "1" has, read "a" by Tesseract on its side), which ``turned_lines`` reads each way. Each step
        is shared out line by line (``share_out``): all of Tesseract's readings, then all of RapidOCR's (an engine that
        took turns between the two, line by line, spent ~4% more CPU: each evicts the other's weights from the cache)."""
        tesseract = self._tesseract
        if script == "any" or not self.options.tesseract_first or tesseract is None or "eng" not in tesseract.languages:
            return super().recognize(engine, crops, script)
        sure = self.options.tesseract_first_confidence
        upright = [crop for k, crop in enumerate(crops) if k not in sideways]

        def by_tesseract(lines: list[np.ndarray], accents: bool = True) -> dict[int, Reading | Draft | None]:
            """Tesseract's first reading of each line, by the line's id, shared out like its other line reads."""
            first = self.tesseract_reads(engine, lines, lambda c: tesseract_line(tesseract, c, sure, self._english, accents))
            return dict(zip((id(c) for c in lines), first, strict=True))

        sample = spread(len(upright), FIRST_SAMPLE)
        first, second = halves(sample)
        tried = by_tesseract([upright[i] for i in first])
        tesseract_first = bool(tried) and not (second and unreadable(list(tried.values())))
        if tesseract_first:  # (the sample's other half)
            tried |= by_tesseract([upright[i] for i in second])
            tesseract_first = printed(list(tried.values()), sure, self._english)
        if not tesseract_first:  # (a receipt, a photo: RapidOCR reads whole every line Tesseract was unsure of)
            tried = {key: r if isinstance(r, Reading) else None for key, r in tried.items()}
        else:  # (Tesseract reads the other lines, then RapidOCR what is left: each engine's weights stay in the cache)
            tried, english = in_english(tried, sure, self._english)  # (its names and terms as Tesseract read them)
            tried |= by_tesseract([c for c in upright if id(c) not in tried], accents=not english)

        def read(helper: Any, chunk: list[np.ndarray]) -> list[Reading]:
            first = [tried.get(id(c)) for c in chunk]
            drafts = {k: draft for k, draft in enumerate(first) if isinstance(draft, Draft)}
            patch(first, lambda cuts: self.read_lines(helper, cuts, UNSQUEEZED), sure, self._english, self.options.text_score)
            doubtful = [k for k, reading in enumerate(first) if not isinstance(reading, Reading)]
            squeeze = None if tesseract_first else UNSQUEEZED
            readings = dict(zip(doubtful, self.read_lines(helper, [chunk[k] for k in doubtful], squeeze), strict=True))
            mended = {k: r for k, r in readings.items() if k in drafts and mends(drafts[k], r, self.options.text_score)}
            drafted = {k: merged(r, drafts[k].as_read(), sure) for k, r in mended.items()}  # (patch not taken, or none)
            readings.update(drafted)
            return [readings.get(k, r) for k, r in enumerate(first)]  # type: ignore[misc]

        return self.share_out(engine, crops, read)

    def tesseract_reads(self, engine: Any, crops: list[np.ndarray], read: Callable[[np.ndarray], T]) -> list[T]:
        """``read`` (Tesseract's reading of a line crop) of each crop, shared out to idle engines like the recogniser's
        line reads, a line at a time (Tesseract reads no batches) from two lines on (``TESSERACT_LINES``)."""
        return self.share_out(engine, crops, lambda _, run: [read(c) for c in run], TESSERACT_LINES, batch=1)

    def plan(self, language: Language | None, warnings: list[str]) -> Plan:
        """How lines are re-read with Tesseract for this hint; the user told when a language named cannot be read."""
        installed = self._tesseract.languages if self._tesseract else set()
        if language is None:
            usable = "+".join(lang for lang in self.options.fallback_languages.split("+") if lang in installed) or None
            return Plan(usable, check=usable is not None and usable != "eng", warn_unread=True)
        others = unread_languages(language)
        if not others:
            return Plan(None)
        names = [TESSERACT_CODES.get(code, code) for code in others]
        missing = [code for code, name in zip(others, names, strict=True) if name not in installed]
        if missing:
            warnings.append(cannot_read("This server", missing))
            self.advise(language_advice(missing, self._tesseract is not None))
            return Plan(None)
        lang = "+".join(dict.fromkeys([*names, *(["eng"] if "eng" in installed else [])]))
        forced = len(others) == len(language.codes)  # (only scripts RapidOCR lacks: every line is Tesseract's)
        return Plan(lang, forced=forced, check=not forced)

    def refine(self, image: Image.Image, lines: list[OcrLine], language: Language | None, warnings: list[str]) -> list[OcrLine]:
        """Lines RapidOCR read re-read by Tesseract where the plan says (see ``script_check``), shared out like
        recognition (a lone request's lines on every core); the lines no installed engine reads said, when they
        are a good part of the page."""
        plan, pixels = self.plan(language, warnings), np.asarray(image)
        if plan.lang is None and not plan.warn_unread:  # (a hint of Latin languages: nothing to re-read or say)
            return textless(lines)
        todo = [line for line in lines if plan.forced or (not line.engine.startswith("tesseract") and self.doubtful(line))]
        # (lines Tesseract first read surely, or patched with words that look Latin: see ``patch``, need nothing; nor do
        # lines RapidOCR read with no sign of another script: they are not cut out again)
        cuts = [line_crop(pixels, line.box) for line in todo]
        line_of = {id(cut): line for cut, line in zip(cuts, todo, strict=True)}
        with self.engine() as engine:

            def reads(look: Callable[[OcrLine, np.ndarray, Plan], Reexamined]) -> Callable[[list[int]], list[Reexamined]]:
                return lambda keys: self.tesseract_reads(engine, [cuts[k] for k in keys], lambda c: look(line_of[id(c)], c, plan))

            if plan.check and not plan.forced:  # (many blank lines of a script none reads: see ``blank_lines``)
                found = reread(todo, reads(self.reexamine), reads(self.first_look))
            else:
                found = reads(self.reexamine)(list(range(len(todo))))
        for line, (reading, _, _) in zip(todo, found, strict=True):
            if reading is not None:
                line.text, line.confidence, line.engine = reading[0], round(reading[1], 4), "tesseract"
        if plan.check and plan.lang is not None:
            heard = {id(line): words for line, (_, _, words) in zip(todo, found, strict=True) if words is not None}
            self.in_the_page_script(pixels, lines, plan.lang, heard)
        unread = [line for line, (_, unreadable, _) in zip(todo, found, strict=True) if unreadable and line.engine != "tesseract"]
        installed = self._tesseract.languages if self._tesseract else set()
        said = {id(line) for line in unread}
        unread += [line for line in lines if id(line) not in said and in_unread_script(line.text, installed)]  # (Greek...)
        if plan.warn_unread and worth_saying(len(unread), len(lines)):
            warnings.append(unread_script_warning(len(unread)))
            self.advise(unread_advice(self._tesseract.languages if self._tesseract else None))
        return textless(lines)

    def doubtful(self, line: OcrLine) -> bool:
        """Whether RapidOCR's reading of a line may be of a script it lacks (see ``script_check``): garbled, with signs
        of another script, or read with low confidence and without a word of English. Only such lines are read again
        (by Tesseract's other languages) or said to be unread; a line read poorly with English words in it (handwriting)
        is Latin read poorly, not another script."""
        return (
            garbled(line, self.options)
            or may_be_other_script(line.text, self._english)
            or (looks_wrong(line, self.options) and not has_english_words(line.text, self._english))
        )

    def reexamine(self, line: OcrLine, cut: np.ndarray, plan: Plan) -> Reexamined:
        """One line RapidOCR read, as the plan says: Tesseract's (text, confidence) when it is Tesseract's to read
        (else None), whether no installed engine reads it (when that is to be said), and the words Tesseract read."""
        tesseract = self._tesseract
        if plan.forced and tesseract is not None:
            return tesseract.read_line(unruled(cut), plan.lang, invert=False), False, None
        wrong, confidence, words = looks_wrong(line, self.options), 0.0, None
        if tesseract is not None and plan.lang is not None and (wrong or plan.check):
            image_line = padded(cut)
            words = tesseract.read_words(image_line, plan.lang, invert=False)
            text = " ".join(w.text for w in words)
            confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
            more = non_latin_letters(text) > non_latin_letters(line.text) and letters(text) > letters(line.text)
            fewest = LETTERLESS_OTHER if not letters(line.text) else MIN_OTHER  # (what RapidOCR left: not a word of it)
            if (garbled(line, self.options) and more and confidence >= 0.5 and in_words_of_the_script(words, fewest)) or (
                plan.check
                and (
                    read_as_look_alikes(words, line.text, self._english)
                    or reads_other_script(words, lambda: tesseract.read_words(image_line, "eng", invert=False))
                )
            ):
                return (text, confidence), False, words
        return None, self.unread(line, cut, plan, confidence), words

    def first_look(self, line: OcrLine, cut: np.ndarray, plan: Plan) -> Reexamined:
        """A blank line of a page whose sample of them showed no script Tesseract reads (``blank_lines``): read with the
        plan's languages beside English alone (one pass of Tesseract's where the mix takes two on a line in none of
        them), and as any other line (``reexamine``) when that reads words of theirs surely ("Сыр" of "Сыр 210,00") or the
        line surely."""
        others = "+".join(code for code in (plan.lang or "").split("+") if code != "eng")
        words = self._tesseract.read_words(padded(cut), others, invert=False) if self._tesseract is not None and others else []
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        if dictionary_letters(words) >= LETTERLESS_OTHER or confidence >= UNSURE_LINE:
            return self.reexamine(line, cut, plan)
        return None, self.unread(line, cut, plan, confidence), None

    def unread(self, line: OcrLine, cut: np.ndarray, plan: Plan, confidence: float) -> bool:
        """Whether a line RapidOCR read poorly, read by Tesseract with ``confidence`` (a guess), is one no installed engine
        reads (when that is to be said): text-shaped, and not a size or a price."""
        numbers = letters(line.text) == 0 and any(ch.isdigit() for ch in line.text)
        wrong = looks_wrong(line, self.options)
        return plan.warn_unread and wrong and not numbers and confidence < UNSURE_LINE and text_shaped(cut)

    def in_the_page_script(self, pixels: np.ndarray, lines: list[OcrLine], lang: str, heard: dict[int, list[Word]]) -> None:
        """On a page mostly in Cyrillic (``in_another_script``: a Russian receipt), the lines not mostly in Cyrillic taken in
        Tesseract's reading with the plan's languages (``lang``) where that is the page's script (``page_script_reading``):
        short words drawn alike in both scripts ("Koca", "Het") or read in part ("e 1234" for "Чек 1234") show nothing on
        their own. ``heard``: the words Tesseract read already, by id of the line."""
        tesseract = self._tesseract
        if tesseract is None or not in_another_script([line.text for line in lines], self._english):
            return
        known = Words([dictionary(tesseract.tessdata, code) for code in lang.split("+") if code != "eng"])
        todo = [line for line in lines if 2 * cyrillic_letters(line.text) <= letters(line.text)]
        unheard = [line for line in todo if id(line) not in heard]
        if unheard:
            cuts = [line_crop(pixels, line.box) for line in unheard]
            with self.engine() as engine:
                read = self.tesseract_reads(engine, cuts, lambda c: tesseract.read_words(padded(c), lang, invert=False))
            heard = {**heard, **{id(line): words for line, words in zip(unheard, read, strict=True)}}
        for line in todo:
            words = heard[id(line)]
            text = page_script_reading(words, line.text, known)
            if text is not None:
                line.text, line.engine = text, "tesseract"
                line.confidence = round(sum(w.confidence for w in words) / len(words), 4)


@dataclass
class Plan:
    """How a page's lines are re-read with Tesseract: ``lang`` its languages (None: not at all); ``forced`` every line
    (a hint naming only scripts RapidOCR lacks), else the lines RapidOCR read poorly, and every line RapidOCR read when
    ``check`` (is it in another script?); ``warn_unread``: say which lines no installed engine reads."""

    lang: str | None
    forced: bool = False
    check: bool = False
    warn_unread: bool = False


def language_advice(missing: list[str], has_tesseract: bool) -> str:
    """What the operator installs to read these languages (ISO codes, or names no engine knows)."""
    packages = [TESSERACT_PACKAGES[code] for code in missing if code in TESSERACT_PACKAGES]
    unknown = [code for code in missing if code not in TESSERACT_PACKAGES]
    parts = []
    if packages:
        tesseract = "" if has_tesseract else "tesseract-ocr tesseract-ocr-eng "
        parts.append(
            f"requests for {', '.join(NAMES[c] for c in missing if c in NAMES)} need Tesseract's data: "
            f"apt-get install {tesseract}{' '.join(packages)}"
        )
    if unknown:
        parts.append(f"no engine reads {', '.join(map(repr, unknown))} (a Tesseract traineddata of that name would)")
    return "; ".join(parts)


def unread_advice(installed: set[str] | None) -> str:
    if installed is None:
        return (
            "lines in a script RapidOCR lacks (Latin and Chinese only) are not read: install Tesseract "
            "(apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus) for Cyrillic and others"
        )
    return (
        f"lines in a script no installed engine reads were met (Tesseract has: {', '.join(sorted(installed))}): "
        "install Tesseract's data for their language (apt-get install tesseract-ocr-LANG) for them to be read"
    )
