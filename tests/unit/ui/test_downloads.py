"""The files the UI writes (ui/downloads.py): each event's downloads (the OCR tab's, the Batch tab's) in a folder of
their own under the process's folder, deleted once Gradio has long had its copy, and when the app shuts down (an OCR
result did stay in /tmp for good, a folder per request); the example images kept while the process runs; the process's
folder gone when it exits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.result_stream import ResultGone
from inference.results import BatchItem, BatchResult, OcrResult
from tests.conftest import ROOT
from ui import batch_files, downloads
from ui.ocr_view import write_downloads


def aged(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_old_downloads_are_deleted_as_new_ones_are_made_and_the_examples_kept():
    result = OcrResult(text="Invoice 4471", processing_time=0.1, model="embedded", image_size=[400, 300])
    first = [Path(p) for p in write_downloads(result, "scan.png")]
    assert [p.name for p in first] == ["scan.txt", "scan.md", "scan.json"] and all(p.is_file() for p in first)
    assert first[0].parent.parent == downloads.root()
    assert first[0].read_text(encoding="utf-8").strip() == "Invoice 4471"
    examples = downloads.folder("examples")
    aged(examples, 10 * downloads.KEEP_S)
    recent = downloads.download_folder()
    aged(first[0].parent, downloads.KEEP_S + 5)  # (Gradio copied these when the event returned)
    newest = downloads.download_folder()
    assert not first[0].parent.exists()
    assert recent.is_dir() and newest.is_dir() and examples.is_dir()
    assert newest != recent


def test_batch_downloads_go_there_too_and_every_download_goes_when_the_app_shuts_down():
    item = BatchItem(filename="scan.png", text="Invoice 4471", processing_time=0.1, status="success")
    batch = BatchResult(results=[item], total=1, successful=1, failed=0, processing_time=0.1, model="embedded")
    csv_path, json_path, md_path = (Path(p) for p in batch_files.write_downloads(batch))
    assert csv_path.parent.parent == downloads.root() and json_path.parent == csv_path.parent
    assert "Invoice 4471" in csv_path.read_text(encoding="utf-8") and "Invoice 4471" in md_path.read_text(encoding="utf-8")
    examples = downloads.folder("examples")
    downloads.remove_downloads()  # (the app's shutdown: assembly.py)
    assert not csv_path.parent.exists() and examples.is_dir()


def test_the_process_folder_is_deleted_when_the_process_exits():
    made = subprocess.run(
        [sys.executable, "-c", "from ui import downloads; print(downloads.download_folder()); print(downloads.folder('icon'))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert len(made) == 2 and all(Path(p).parent.name.startswith("chatvlm-ui-") for p in made), made
    assert not Path(made[0]).parent.exists()


def test_downloads_are_not_written_when_the_disk_would_keep_less_than_min_free_disk_mb(monkeypatch):
    # (an attack pass: each follow of a job in the Batch tab wrote its whole result again, 86 MB of JSON for a dense
    # 20-page job, kept 5 minutes and copied by Gradio, with no disk check)
    item = BatchItem(filename="scan.png", text="Invoice 4471", processing_time=0.1, status="success")
    batch = BatchResult(results=[item], total=1, successful=1, failed=0, processing_time=0.1, model="embedded")
    ocr = OcrResult(text="Invoice 4471", processing_time=0.1, model="embedded", image_size=[400, 300])
    free = shutil.disk_usage(downloads.root()).free
    monkeypatch.setattr(downloads, "_keep_free", 0)
    downloads.keep_free(free + 2**30)  # (more than the disk has: as on a full disk)
    before = set(downloads.root().glob(f"{downloads.DOWNLOADS}*"))
    assert batch_files.write_downloads(batch) == [] and write_downloads(ocr, "scan.png") == []
    assert set(downloads.root().glob(f"{downloads.DOWNLOADS}*")) == before  # (no folder made either)
    downloads.keep_free(0)
    assert len(batch_files.write_downloads(batch)) == 3 and len(write_downloads(ocr, "scan.png")) == 3


def test_a_job_s_json_is_written_out_from_its_pieces_and_stopped_when_the_disk_runs_short(monkeypatch):
    # (a job's whole result is written out a few pages at a time, not held: its size is known only once written)
    item = BatchItem(filename="scan.pdf", text="Invoice 4471", processing_time=0.1, status="success")
    batch = BatchResult(results=[item], total=1, successful=1, failed=0, processing_time=0.1, model="embedded")
    let_go: list[int] = []

    def pieces(count: int, size: int = 2**20):
        try:
            yield '{"results":['
            for k in range(count):
                yield ("," if k else "") + '"' + "x" * size + '"'
            yield "]}"
        finally:
            let_go.append(count)  # (a job's result holds its place among those written out at once until let go)

    monkeypatch.setattr(downloads, "_keep_free", 0)
    paths = batch_files.write_downloads(batch, lambda: pieces(3))
    assert len(json.loads(Path(paths[1]).read_text(encoding="utf-8"))["results"]) == 3 and let_go == [3]
    free = shutil.disk_usage(downloads.root()).free
    downloads.keep_free(free - 12 * 2**20)  # (12 MB left to use: the JSON would be 40 MB, and Gradio copies it)
    before = set(downloads.root().glob(f"{downloads.DOWNLOADS}*"))
    assert batch_files.write_downloads(batch, lambda: pieces(40)) == [] and let_go == [3, 40]
    assert set(downloads.root().glob(f"{downloads.DOWNLOADS}*")) == before  # (what was written of it deleted)
    downloads.keep_free(free - 2**20)  # (1 MB left: a JSON of 3 MB, under CHECKED_BYTES, is checked once whole)
    assert batch_files.write_downloads(batch, lambda: pieces(3)) == [] and let_go == [3, 40, 3]
    downloads.keep_free(0)

    def gone():
        yield '{"results":['
        raise ResultGone("This job's result was deleted while it was being sent.")

    with pytest.raises(ResultGone):  # (the follow says it; nothing half written is left)
        batch_files.write_downloads(batch, gone)
    assert set(downloads.root().glob(f"{downloads.DOWNLOADS}*")) == before
    downloads.keep_free(free + 2**30)  # (a full disk: the pieces are not even begun)
    assert batch_files.write_downloads(batch, lambda: pieces(40)) == [] and let_go == [3, 40, 3]
    downloads.keep_free(0)
