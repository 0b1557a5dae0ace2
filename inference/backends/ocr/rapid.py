"""The embedded OCR engine: RapidOCR (PP-OCR models in ONNX, shipped inside its wheel).

Runs offline on the CPU, on a pool of RapidOCR instances (``rapid_pool``). The detector's input size is chosen
per image, light-on-dark pages are inverted, pages lying on their side or upside down are turned, and lines
come back in reading order (``inference.layout``); the page geometry is in ``rapid_geometry``, line recognition
within a script in ``rapid_script``, the options in ``rapid_options``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ...drop_caps import join_drop_caps
from ...images import pad_to_aspect
from ...languages import Language
from ...layout import quad_size, reading_order, upright_boxes
from ...settings import ModelSpec
from ...values import OcrLine, OcrOutput, unread_script_warning
from ..base import Backend
from .line_band import image_line_crop, line_crop, own_line
from .rapid_detect import find_lines
from .rapid_doubt import cannot_read, looks_wrong, lost, unread_languages
from .rapid_geometry import (
    MAX_ASPECT,
    is_dark,
    reading_confidence,
    tall_windows,
    turn_back,
    vertical_share,
)
from .rapid_options import RapidOptions
from .rapid_pool import RapidPool
from .rapid_script import Reading, Script, choose, recognise, script_for
from .rapid_sparse import with_sparse_text
from .script_check import worth_saying
from .structure import layout_beside, load_layout_model, page_structure, turn_blocks
from .tables import strip_rule_artefacts
from .tesseract import find_tessdata
from .unread_scripts import in_unread_script

logger = logging.getLogger(__name__)

# For the operator, when RapidOCR alone met a language or script it lacks (nothing installs more for it)
OTHER_BACKENDS = (
    "RapidOCR reads Latin and Chinese only; a model with backend embedded (RapidOCR and Tesseract) or tesseract reads "
    "Cyrillic and other scripts with Tesseract's data"
)
INSTALL_TESSERACT = " (apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus)"


def other_backends() -> str:
    """The advice, with what to install only where Tesseract is not (a warning told operators to install what they had)."""
    usable = find_tessdata("auto") is not None and importlib.util.find_spec("tesserocr") is not None
    return OTHER_BACKENDS + ("; use one of those models here" if usable else INSTALL_TESSERACT)


TURN_SAMPLE = 8  # lines of a page read with low confidence that RapidOCR also reads upside down
TURNED_LINE = 0.85  # a line running along the page's height read with lower confidence is also read turned half round...
TURN_MARGIN = 0.1  # ...and taken so when that reading is this much more confident


def _runs_along_the_height(box: Any) -> bool:
    """A detected box that RapidOCR's crop turns a quarter (its height at least 1.5 times its width, as in its
    get_rotate_crop_image)."""
    width, height = quad_size([[float(x), float(y)] for x, y in box])
    return height >= 1.5 * max(width, 1.0)


class RapidOcrBackend(RapidPool, Backend):
    tasks = frozenset({"ocr"})
    Options = RapidOptions

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.init_pool()

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        if importlib.util.find_spec("rapidocr") is None or importlib.util.find_spec("onnxruntime") is None:
            return "RapidOCR is not installed: pip install rapidocr onnxruntime"
        return None

    @property
    def workers(self) -> int:
        return self._size

    def load(self) -> None:
        self._advised: set[str] = set()
        self.load_pool()
        load_layout_model(self.options.structure)

    def unload(self) -> None:
        self.unload_pool()

    def detect_and_read(
        self, image: Image.Image, script: Script = "auto", found: Callable[[int], None] | None = None
    ) -> list[OcrLine]:
        """Every detected line with RapidOCR's reading of it, empty readings included (RapidOCR's own
        __call__ drops those, but a line in a script it cannot read is still a line for refine()).
        A long narrow image (a till receipt) is read in overlapping windows (side by side on the engines when
        the request is alone, else one after the other on one), each line from the window that holds its
        middle: shrunk whole to the detector's size, its text would be too small to find. ``found``: told how many
        lines were found in an image read whole, before they are read."""
        windows = tall_windows(*image.size, self.options)
        if len(windows) == 1:
            with self.engine() as engine:
                return self.read_with(engine, image, script, found=found)

        def read_window(window: tuple[int, int, int, int]) -> list[OcrLine]:
            top, bottom, keep_top, keep_bottom = window
            with self.engine() as engine:
                lines = self.read_with(engine, image.crop((0, top, image.width, bottom)), script, wide=False)
            shifted = [line.model_copy(update={"box": [[x, y + top] for x, y in line.box]}) for line in lines]
            return [line for line in shifted if keep_top <= sum(y for _, y in line.box) / len(line.box) < keep_bottom]

        return [line for part in self.side_by_side(read_window, windows) for line in part]

    def read_with(
        self,
        engine: Any,
        image: Image.Image,
        script: Script = "auto",
        wide: bool = True,
        found: Callable[[int], None] | None = None,
    ) -> list[OcrLine]:
        """One RapidOCR pass over an image, the detector sized for it (RapidOCR's run_ocr_steps, with the
        recognition shared out to the pool's idle engines and decoded within ``script``); ``wide``: the detector
        may run on every core when the request is alone (not for windows, which already run side by side)."""
        from rapidocr.utils.process_img import map_boxes_to_original

        image = pad_to_aspect(image, MAX_ASPECT)
        original = engine.load_img(image)
        with self.detector(engine, wide) as detector:
            lines = find_lines(engine, detector, original, self.options, finer_ok=wide)
            lines = with_sparse_text(detector, original, lines) if wide else lines  # (a few lines alone on a large image)
        if not lines.crops:
            return []
        crops = [own_line(c) for c in lines.crops]
        if found is not None:
            found(len(crops))
        if engine.use_cls:
            crops, _ = engine.cls_and_rotate(crops)
        sideways = frozenset(i for i, box in enumerate(lines.boxes) if _runs_along_the_height(box))
        readings = self.recognize(engine, crops, script, sideways)
        read = choose(readings, script)
        turned = set() if engine.use_cls else self.turned_lines(engine, crops, lines.boxes, readings, read, script)
        boxes = map_boxes_to_original(lines.boxes, lines.record, *original.shape[:2])
        boxes = [np.roll(box, 2, axis=0) if i in turned else box for i, box in enumerate(boxes)]
        return [
            OcrLine(
                text=str(text), box=[[float(x), float(y)] for x, y in box], confidence=round(float(score), 4), engine=engine_name
            )
            for (text, score, engine_name), box in zip(read, boxes, strict=True)
        ]

    def turned_lines(
        self,
        engine: Any,
        crops: list[np.ndarray],
        boxes: Any,
        readings: list[Reading],
        read: list[tuple[str, float, str]],
        script: Script,
    ) -> set[int]:
        """The lines running up the page that read better turned half round (their readings, ``read``: ``readings`` as
        ``choose`` took them, replaced). A line taller than wide is cut out turned a quarter to the left, upright when it
        runs down the page, upside down when it runs up it (arXiv's stamp in a paper's margin, "Downloaded from ..." along
        a journal page's edge); a line so read with low confidence is read turned, and the more confident reading kept
        (with a margin). On a page lying on its side (most lines tall) the page is turned instead (``upright``); with
        the angle classifier on, RapidOCR turns such crops itself."""
        tall = [i for i, box in enumerate(boxes) if _runs_along_the_height(box)]
        if not tall or 2 * len(tall) > len(boxes):
            return set()
        doubtful = [i for i in tall if read[i][1] < TURNED_LINE]
        turned = list(readings)
        upside_down = [np.ascontiguousarray(crops[i][::-1, ::-1]) for i in doubtful]
        for i, reading in zip(doubtful, self.read_lines(engine, upside_down), strict=True):
            turned[i] = reading
        chosen = choose(turned, script)  # (decoded as the page is: Latin, or Chinese where a line has more of it)
        better = {i for i in doubtful if chosen[i][1] > read[i][1] + TURN_MARGIN}
        for i in better:
            read[i] = chosen[i]
        return better

    def recognize(
        self, engine: Any, crops: list[np.ndarray], script: Script = "auto", sideways: frozenset[int] = frozenset()
    ) -> list[Reading]:
        """Read the line crops (the script decides only how they are decoded, in ``choose``); ``sideways``: the indexes of
        those cut turned a quarter (``turned_lines``)."""
        return self.share_out(engine, crops, self.read_lines)

    def read_lines(self, engine: Any, crops: list[np.ndarray], squeeze: float | None = None) -> list[Reading]:
        """RapidOCR's reading of line crops, on one engine (squeezed sideways by ``squeeze``, else by the option)."""
        options = self.options
        squeeze = options.rec_squeeze if squeeze is None else squeeze
        return recognise(engine.text_rec, crops, squeeze, options.rec_min_width, options.rec_batch_size)

    def refine(self, image: Image.Image, lines: list[OcrLine], language: Language | None, warnings: list[str]) -> list[OcrLine]:
        """Subclasses improve the lines here (re-read some with another engine). RapidOCR alone tells the user when the
        hint names a language it does not read, or, without a hint, when a good part of the page's lines seem to be in
        a script it lacks (``worth_saying``): lines it read poorly (``looks_wrong``) and lost most of (``lost``: blank,
        or their punctuation and digits), or wrote in a script no engine here reads (Greek: ``in_unread_script``)."""
        if language is not None:
            unread = unread_languages(language)
            if unread:
                warnings.append(cannot_read("This model", unread))
                self.advise(other_backends())
            return textless(lines)
        doubtful = [line for line in lines if looks_wrong(line, self.options)]  # (few on a Latin page: each is cut out)
        unread = {id(line) for line in doubtful if lost(line, image_line_crop(image, line.box))}
        unread |= {id(line) for line in lines if in_unread_script(line.text, ())}
        if worth_saying(len(unread), len(lines)):
            warnings.append(unread_script_warning(len(unread), "this model"))
            self.advise(other_backends())
        return textless(lines)

    def advise(self, advice: str) -> None:
        """Tell the operator (the log, once per advice) what would let this server read more."""
        if advice not in self._advised:
            self._advised.add(advice)
            logger.warning("OCR model '%s': %s", self.spec.id, advice)

    def upright(
        self, image: Image.Image, script: Script = "auto", found: Callable[[int], None] | None = None
    ) -> tuple[int, Image.Image, list[OcrLine]]:
        """The page turned so its lines read left to right (a scan fed sideways or upside down), as
        (counter-clockwise turn in degrees, turned image, its lines). A page whose lines are mostly vertical is
        tried at 90 and 270 degrees, one read with low confidence at 180 when a sample of its lines reads better so
        (``reads_better_turned``); the most confident reading wins, with a margin of 0.1 for the likelier case (a page
        of vertical lines is turned unless both turns read much worse; a page in a script RapidOCR reads poorly stays
        upright unless upside down reads much better). Upright pages cost nothing more. ``found``: told how many lines
        the page as sent has, before they are read."""
        lines = self.detect_and_read(image, script, found)
        if not self.options.auto_rotate or not lines:
            return 0, image, lines
        confidence = reading_confidence(lines)
        if vertical_share(lines) > 0.5:
            best, turns = (confidence - 0.1, 0, image, lines), (90, 270)
        elif confidence < self.options.upside_down_confidence and self.reads_better_turned(image, lines, script):
            best, turns = (confidence + 0.1, 0, image, lines), (180,)
        else:
            return 0, image, lines
        for turn in turns:
            turned = image.rotate(turn, expand=True)
            turned_lines = self.detect_and_read(turned, script)
            candidate = (reading_confidence(turned_lines), turn, turned, turned_lines)
            best = max(best, candidate, key=lambda c: c[0])
        return best[1], best[2], best[3]

    def reads_better_turned(self, image: Image.Image, lines: list[OcrLine], script: Script) -> bool:
        """Whether a page read with low confidence may be upside down: RapidOCR reads its widest lines as they are and
        turned half round, and the turned reading is the more confident. A handwritten page, or one in a script RapidOCR
        lacks, reads as poorly either way: it is not read again whole (a detection and every line). The lines are read
        in two halves (every other line): a first half that reads worse turned by TURN_MARGIN settles it (half the reads
        of a handwritten page; an upside-down page reads better turned by 0.2 and more, half or whole)."""
        pixels = np.asarray(image.convert("RGB"))
        widest = sorted(lines, key=lambda line: quad_size(line.box)[0], reverse=True)[:TURN_SAMPLE]
        crops = [line_crop(pixels, line.box) for line in widest]
        as_is: list[Reading] = []
        turned: list[Reading] = []
        for half in [part for part in (crops[0::2], crops[1::2]) if part]:
            with self.engine() as engine:
                read = self.share_out(engine, half + [np.ascontiguousarray(c[::-1, ::-1]) for c in half], self.read_lines)
            as_is, turned = as_is + read[: len(half)], turned + read[len(half) :]
            if turned_confidence(turned, script) < turned_confidence(as_is, script) - TURN_MARGIN:
                return False
        return turned_confidence(turned, script) > turned_confidence(as_is, script)

    def ocr(self, image: Image.Image, language: Language | None) -> OcrOutput:
        if self.options.invert_dark and is_dark(image):
            image = ImageOps.invert(image)
        warnings: list[str] = []
        with layout_beside(self.options.structure and self.alone()) as ahead:
            turn, upright, lines = self.upright(image, script_for(language), lambda count: ahead.start(image, count))
            lines = self.refine(upright, lines, language, warnings)
            lines = [
                line
                for line in lines
                if line.text.strip() and (line.engine != "rapidocr" or line.confidence >= self.options.text_score)
            ]
            lines = join_drop_caps(strip_rule_artefacts(lines))  # (a table's ruled lines read as "|"; "O" + "ver")
            rows = reading_order(upright_boxes([line.box for line in lines], [line.text for line in lines]))
            ordered = [lines[box.index] for row in rows for box in row]
            text = "\n".join(" ".join(lines[box.index].text.strip() for box in row) for row in rows)
            blocks = page_structure(upright, ordered, self.options.structure, ahead)
        if turn:
            ordered = [line.model_copy(update={"box": turn_back(line.box, turn, image.size)}) for line in ordered]
            blocks = turn_blocks(blocks, lambda box: turn_back(box, turn, image.size))
            warnings.append(f"The page was turned {turn} degrees to read it; boxes are in the image as sent.")
        return OcrOutput(text=text, lines=ordered, warnings=warnings, blocks=blocks)


def turned_confidence(readings: list[Reading], script: Script) -> float:
    """The confidence of readings (``choose``'s, for ``script``) by character: of a page's widest lines, one way up."""
    chosen = choose(readings, script)
    chars = sum(len(text) for text, _, _ in chosen)
    return sum(score * len(text) for text, score, _ in chosen) / chars if chars else 0.0


def textless(lines: list[OcrLine]) -> list[OcrLine]:
    """No lines when none holds a letter or a digit: a picture without text (its marks read as "•" or "|") has none."""
    return lines if any(ch.isalnum() for line in lines for ch in line.text) else []
