"""Batch tab: many files in, a table of results out, downloadable as CSV and JSON."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from inference import InferenceService, call_cancellable
from inference.results import BatchResult

from .common import language_box, model_dropdown, user_errors
from .mcp_tools import hide_from_mcp

COLUMNS = ["file", "status", "time_s", "text"]


def table(result: BatchResult) -> pd.DataFrame:
    rows = [
        [item.filename, item.status, item.processing_time, item.text if item.status == "success" else item.error]
        for item in result.results
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def write_downloads(result: BatchResult) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="chatvlm-batch-"))
    csv_path, json_path = folder / "ocr_results.csv", folder / "ocr_results.json"
    pd.DataFrame([item.model_dump() for item in result.results]).to_csv(csv_path, index=False)
    json_path.write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), encoding="utf-8")
    return [str(csv_path), str(json_path)]


def build(service: InferenceService) -> None:
    limit = service.limits.max_batch_files
    with gr.Row():
        with gr.Column(scale=1):
            files = gr.File(file_count="multiple", file_types=["image"], label=f"Images (up to {limit})")
            model = model_dropdown(service, "ocr")
            language = language_box()
            run = gr.Button("Run batch", variant="primary")
        with gr.Column(scale=2):
            totals = gr.Markdown()
            results = gr.Dataframe(headers=COLUMNS, label="Results", wrap=True, interactive=False)
            downloads = gr.File(label="Download (CSV, JSON)", file_count="multiple", interactive=False)

    @user_errors
    async def batch_ocr(paths, model_id, hint, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        paths = [p if isinstance(p, str) else getattr(p, "name", str(p)) for p in (paths or [])]
        if not paths:
            raise gr.Error("Add one or more images first.")
        progress((0, len(paths)), desc="Reading", unit="files")

        def report(done: int, total: int) -> None:
            progress((done, total), desc="Reading", unit="files")

        items = [(Path(p).name, p) for p in paths]
        result = await call_cancellable(service.batch_ocr, items, model_id, hint or None, progress=report)
        summary = (f"**{result.total}** files: **{result.successful}** read, **{result.failed}** failed, "
                   f"in {result.processing_time:.2f} s with `{result.model}`.")
        return table(result), summary, write_downloads(result)

    run.click(hide_from_mcp(batch_ocr), [files, model, language], [results, totals, downloads], api_name="batch_ocr")
