"""The OCR engines' page structure: the layout model's regions (``layout_model``) with the engine's lines
assigned to them (``inference.page_structure``). The model runs once per page, on the page the lines were read
from, and only where it can help: a page of a few lines, or a strip (a till receipt, squashed to the model's
portrait input), gets its blocks from its lines alone."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from ...blocks import Block
from ...page_structure import Region, page_blocks
from ...values import OcrLine
from . import layout_model

MIN_LINES = 4  # fewer lines: no layout model (nothing to arrange)
ASPECT = (0.5, 2.2)  # height / width the model reads well (a page either way round); receipts are taller


def layout_regions(image: Image.Image, lines: list[OcrLine]) -> list[Region]:
    """The layout model's regions of the page, or none where the model is not worth running or not installed."""
    aspect = image.height / max(image.width, 1)
    if len(lines) < MIN_LINES or not ASPECT[0] <= aspect <= ASPECT[1]:
        return []
    model = layout_model.shared()
    return model(image) if model is not None else []


def page_structure(image: Image.Image, lines: list[OcrLine], enabled: bool = True) -> list[Block]:
    """The page's blocks in the lines' reading order (none when structure is turned off)."""
    if not enabled:
        return []
    return page_blocks(lines, image.size, layout_regions(image, lines))


def turn_blocks(blocks: list[Block], turn_back: Callable[[list[list[float]]], list[list[float]]]) -> list[Block]:
    """Blocks found on a turned page, with their boxes (and their lines') in the page as sent."""

    def rect(bbox: list[float]) -> list[float]:
        x0, y0, x1, y1 = bbox
        corners = turn_back([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        return [min(xs), min(ys), max(xs), max(ys)]

    return [
        block.model_copy(
            update={
                "bbox": rect(block.bbox) if block.bbox else None,
                "lines": [line.model_copy(update={"box": turn_back(line.box)}) for line in block.lines or []] or None,
            }
        )
        for block in blocks
    ]
