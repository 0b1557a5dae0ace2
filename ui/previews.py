"""The OCR tab's page previews, kept on disk as the client's files.

A preview (a document's page rendered, with what was found drawn on it) is a file Gradio keeps for the browser to
fetch, until ``limits.upload_ttl_s`` has passed: a small PDF of 200 pages, each on one noisy picture, made ~1 MB of
previews a page, so that one upload let a client keep hundreds of times its size on disk (an attack pass). So a
preview is saved here, where and as Gradio would save it (WebP, named by its content: Gradio finds it there and
copies nothing), and counted on the client's quota of kept files (``limits.upload_mb_per_key``, as its uploads are);
refused past it, or when the disk would keep less than ``limits.min_free_disk_mb``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import gradio as gr
from fastapi import HTTPException
from gradio import processing_utils
from PIL import Image

from inference.errors import SHORT_OF_DISK, Overloaded

from .errors import as_gr_error, refusal
from .uploads import Uploads

log = logging.getLogger(__name__)

FORMAT = "webp"  # gr.Image's own format for the images it is given


class Previews:
    """Where ``blocks`` keeps its files (``GRADIO_CACHE``), and its uploads' ledger once the file guard has put it in
    (``ui.files.guard``): each preview saved and held to its caller's quota."""

    def __init__(self, blocks: gr.Blocks, min_free: int):
        self.blocks, self.min_free = blocks, min_free

    def kept(self, image: Image.Image, caller: str | None) -> str:
        """The preview's path, saved and counted as ``caller``'s (gr.Error past its quota or short of disk)."""
        data = processing_utils.encode_pil_to_bytes(image, FORMAT)
        folder = Path(self.blocks.GRADIO_CACHE)
        folder.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(folder).free < len(data) + self.min_free:
            log.warning("refused to keep a preview: the disk would keep less than limits.min_free_disk_mb free")
            raise as_gr_error(Overloaded(SHORT_OF_DISK, retry_after=60))
        path = folder / processing_utils.hash_bytes(data) / f"image.{FORMAT}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)  # (the same content: the same file, touched, so that its age counts from now)
        uploads = self.blocks.upload_file_set
        if caller is None or not isinstance(uploads, Uploads):
            return str(path)
        try:
            if uploads.max_held:
                uploads.hold(caller, [str(path)])
        except HTTPException as exc:  # (hold has deleted it, unless it is someone's or Gradio's: then it stays)
            detail = str(exc.detail)
            raise refusal(f"No preview of this page: {detail[:1].lower()}{detail[1:]}", 429) from None
        uploads.own(str(path), caller)
        return str(path)
