"""Batch tab: many files in, a table of results out (failed rows stand out), downloadable as CSV and JSON;
progress moves file by file."""

from __future__ import annotations

import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import pandas as pd

from inference import InferenceService, call_cancellable
from inference.results import BatchResult

from . import examples
from .endpoints import endpoint, hide_from_mcp
from .errors import keep_on_error, refusal
from .widgets import (
    DOCUMENT_TYPES,
    caller_of,
    file_path,
    language_hint,
    language_picker,
    model_dropdown,
    principal_of,
)

COLUMNS = ["file", "status", "time_s", "text"]
JOB_PAGES = 64  # a batch with more pages than this runs as a job (see through_a_job)


def table(result: BatchResult) -> pd.DataFrame:
    rows = [
        [item.filename, item.status, round(item.processing_time, 2), item.text if item.status == "success" else item.error]
        for item in result.results
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def styled(frame: pd.DataFrame) -> Any:
    """The table with its failed rows in red, so they stand out at a glance."""
    return frame.style.apply(
        lambda row: ["background-color: #fde2e1; color: #991b1b" if row["status"] == "error" else ""] * len(row), axis=1
    )


def write_downloads(result: BatchResult) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="chatvlm-batch-"))
    csv_path, json_path = folder / "ocr_results.csv", folder / "ocr_results.json"
    pd.DataFrame([item.model_dump() for item in result.results]).to_csv(csv_path, index=False)
    json_path.write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), encoding="utf-8")
    return [str(csv_path), str(json_path)]


def summary(result: BatchResult) -> str:
    failed = f"**{result.failed}** failed" if result.failed else "none failed"
    return (
        f"**{result.total}** files: **{result.successful}** read, {failed}, "
        f"in {result.processing_time:.2f} s with `{result.model}`."
    )


def build(service: InferenceService) -> None:
    limit = service.limits.max_batch_files
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            files = gr.File(
                file_count="multiple",
                file_types=["image", *DOCUMENT_TYPES],
                label=f"Images or PDFs (up to {limit} files)",
                elem_id="batch-files",
            )
            pages = gr.Textbox(label="Pages of each PDF", placeholder="all, or e.g. 1-3,5", max_lines=1, elem_id="batch-pages")
            model, _ = model_dropdown(service, "ocr", elem_id="batch-model")
            with gr.Accordion("Language", open=False):
                language = language_picker(elem_id="batch-language")
            run = gr.Button("Read all", variant="primary", elem_id="batch-run")
        with gr.Column(scale=2, min_width=300):
            message = gr.Markdown(elem_id="batch-message")
            totals = gr.Markdown(elem_id="batch-totals")
            results = gr.Dataframe(
                headers=COLUMNS,
                label="Results",
                wrap=True,
                interactive=False,
                max_height=520,
                column_widths=["22%", "12%", "10%", "56%"],
                elem_id="batch-results",
            )
            downloads = gr.File(label="Download (CSV, JSON)", file_count="multiple", interactive=False, elem_id="batch-downloads")
    shown = examples.images()
    gr.Examples([[list(shown.values())]], inputs=[files], label=examples.LICENCE)

    async def read_all(
        request: gr.Request, paths, model_id, hint, progress: gr.Progress, page_spec: str | None = None
    ) -> BatchResult:
        paths = [file_path(p) for p in (paths or []) if file_path(p)]
        if not paths:
            raise refusal("Add one or more images or PDFs first.")
        items = [(Path(p).name, p) for p in paths]
        count = await anyio.to_thread.run_sync(lambda: page_count(items, page_spec))
        progress((0, count), desc="Reading", unit="pages")

        def report(done: int, total: int) -> None:  # called from the service's thread as each page finishes
            progress((done, total), desc="Reading", unit="pages")

        if count > JOB_PAGES:
            return await through_a_job(items, model_id, hint, page_spec, report, principal_of(request), caller_of(request))
        return await call_cancellable(
            service.batch_ocr, items, model_id or None, hint, progress=report, pages=page_spec or None, caller=caller_of(request)
        )

    def page_count(items, page_spec) -> int:
        """Pages the batch will read (PDFs are opened, not rendered); images and bad files count as one."""
        return sum(service.page_count(Path(path).read_bytes(), page_spec or None) for _, path in items)

    async def through_a_job(items, model_id, hint, page_spec, report, principal, caller) -> BatchResult:
        """A long batch runs as a job (POST /jobs's queue): it survives a restart of the server, and its progress is
        polled here; leaving the page or pressing Stop cancels it. Its owner is the REST API's (the service's rule:
        the key that sent it; an admin sees every job)."""
        job = await anyio.to_thread.run_sync(
            lambda: service.submit_job(items, model_id or None, hint, page_spec or None, False, principal, caller)
        )
        gr.Info(f"Long batch: running as job {job.id} (GET /jobs/{job.id} on the REST API).")
        try:
            while job.state in ("queued", "running"):
                await anyio.sleep(0.5)
                job = await anyio.to_thread.run_sync(service.job, job.id, principal)
                if job.pages_total:
                    report(job.pages_done, job.pages_total)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: service.cancel_job(job.id, principal))
            raise
        if job.state != "done":
            raise gr.Error(f"The job {job.state}: {job.error or 'no result'}.")
        return await anyio.to_thread.run_sync(lambda: service.job_result(job.id, principal))

    @keep_on_error(4)
    async def batch_for_ui(paths, model_id, picked, page_spec, request: gr.Request, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        result = await read_all(request, paths, model_id, language_hint(picked), progress, page_spec)
        return styled(table(result)), summary(result), write_downloads(result), ""

    run.click(
        hide_from_mcp(batch_for_ui),
        [files, model, language, pages],
        [results, totals, downloads, message],
        api_visibility="private",
    )

    # The Gradio API's /batch_ocr: progress updates, errors raised to the client.
    async def batch_ocr(paths, model_id, hint, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Read the text of several images or documents (PDF, TIFF); each file gets its own status. Progress moves
        page by page. Returns the table of results, a summary line, and the results as CSV and JSON files."""
        result = await read_all(request, paths, model_id, hint or None, progress)
        return table(result), summary(result), write_downloads(result)

    endpoint(
        "batch_ocr",
        batch_ocr,
        [
            partial(gr.File, file_count="multiple", label="files"),
            partial(gr.Textbox, label="model"),
            partial(gr.Textbox, label="language"),
        ],
        [
            partial(gr.Dataframe, headers=COLUMNS, label="results"),
            partial(gr.Markdown, label="totals"),
            partial(gr.File, file_count="multiple", label="downloads"),
        ],
    )
