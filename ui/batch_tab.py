"""Batch tab: many files in, a table of results out (failed rows stand out), downloadable as CSV, JSON and Markdown;
progress moves file by file."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio
import gradio as gr

from inference import InferenceService, call_cancellable
from inference.cancel import waiters
from inference.errors import NotFound
from inference.results import BatchResult, JobList, JobStatus

from . import examples
from .batch_files import write_downloads
from .batch_jobs import CONFIRM_DELETE, JOB_COLUMNS, RECENT_JOBS, cancelled, job_choices, job_table, kept
from .batch_view import COLUMNS, PREVIEW_CHARS, SHOW_RESULTS, on_screen, styled, summary, table
from .endpoints import endpoint, hide_from_mcp
from .errors import keep_on_error, refusal
from .queue_bounds import FOLLOWING, UI_EVENTS_AT_ONCE, caller_left
from .widgets import (
    DOCUMENT_TYPES,
    caller_of,
    file_path,
    language_hint,
    language_picker,
    model_dropdown,
    principal_of,
)

JOB_PAGES = 64  # a batch with more pages than this runs as a job (see through_a_job)
ROWS_EVERY_S = 1.0  # while a job is followed, "Your jobs" is read again this often (its row: its pages read)
Read = tuple[BatchResult, list[str]]  # a batch's result and its downloads' paths


def build(service: InferenceService, refresh_on: list | None = None) -> None:
    """The tab; ``refresh_on`` (page load, tab select) re-read "Your jobs"."""
    limit = service.limits.max_batch_files
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            files = gr.File(
                file_count="multiple",
                file_types=["image", *DOCUMENT_TYPES],
                label=f"Images or PDFs (up to {limit} files)",
                elem_id="batch-files",
                height=190,  # a long list scrolls inside: Read all, the progress and the table stay on the first screen
            )
            pages = gr.Textbox(label="Pages of each PDF", placeholder="all, or e.g. 1-3,5", max_lines=1, elem_id="batch-pages")
            model, _ = model_dropdown(service, "ocr", elem_id="batch-model")
            with gr.Accordion("Language", open=False):
                language = language_picker(elem_id="batch-language")
            run = gr.Button("Read all", variant="primary", elem_id="batch-run")
        with gr.Column(scale=2, min_width=300, elem_id="batch-output"):
            message = gr.Markdown(elem_id="batch-message")
            totals = gr.Markdown(elem_id="batch-totals")
            results = gr.Dataframe(
                headers=COLUMNS,
                label=f"Results (each text's first {PREVIEW_CHARS} characters, the downloads have them whole; time_s: "
                "a file's pages' seconds added up, read side by side)",
                wrap=True,
                interactive=False,
                max_height=460,
                column_widths=["28%", "10%", "9%", "53%"],
                elem_id="batch-results",
            )
            downloads = gr.File(
                label="Download (CSV, JSON, Markdown)", file_count="multiple", interactive=False, elem_id="batch-downloads"
            )
    shown = examples.images()
    gr.Examples([[list(shown.values())]], inputs=[files], label=examples.LICENCE)
    with gr.Accordion("Your jobs", open=True, elem_id="batch-jobs-panel"):
        gr.Markdown(
            "Jobs sent with your key (a long batch here, or POST /jobs), newest first; with no keys, the server's. "
            "A running job goes on when you leave the page: pick it and press Follow to see its progress and result."
        )
        jobs_table = gr.Dataframe(headers=JOB_COLUMNS, label="Jobs", interactive=False, max_height=300, elem_id="batch-jobs")
        with gr.Row():
            picked_job = gr.Dropdown(label="Job", choices=[], allow_custom_value=False, scale=3, elem_id="batch-job")
            refresh = gr.Button("Refresh", scale=1, elem_id="batch-jobs-refresh")
            follow_button = gr.Button("Follow", variant="primary", scale=1, elem_id="batch-job-follow")
            cancel_button = gr.Button("Cancel / delete job", variant="stop", scale=1, elem_id="batch-job-cancel")
        confirmed = gr.Checkbox(False, visible=False)  # (what the button's confirm said: CONFIRM_DELETE)
    # while a run or a follow waits on a job, "Your jobs" is read again every ROWS_EVERY_S, so that the job's row shows
    # its pages read (it said "queued 0/?" until the end); a timer's own events: the follow's progress bar stays
    rows = gr.Timer(ROWS_EVERY_S, active=False)

    async def read_all(
        request: gr.Request, paths, model_id, hint, progress: gr.Progress, page_spec: str | None = None, keep: bool = False
    ) -> Read | JobStatus:
        """The batch's result and its downloads (a long batch's: its job's, or the job once sent when ``keep``)."""
        paths = [file_path(p) for p in (paths or []) if file_path(p)]
        if not paths:
            raise refusal("Add one or more images or PDFs first.")
        items = [(Path(p).name, p) for p in paths]
        count = await anyio.to_thread.run_sync(lambda: page_count(items, page_spec), limiter=waiters())  # (PDF readers)
        progress((0, count), desc="Reading", unit="pages")

        def report(done: int, total: int) -> None:  # called from the service's thread as each page finishes
            progress((done, total), desc="Reading", unit="pages")

        if count > JOB_PAGES:
            principal, caller = principal_of(request), caller_of(request)
            return await through_a_job(items, model_id, hint, page_spec, report, principal, caller, request, keep)
        result = await call_cancellable(
            service.batch_ocr, items, model_id or None, hint, progress=report, pages=page_spec or None, caller=caller_of(request)
        )
        return result, await anyio.to_thread.run_sync(write_downloads, result)

    def page_count(items, page_spec) -> int:
        """Pages the batch will read (PDFs are opened, not rendered); images and bad files count as one."""
        return sum(service.page_count(Path(path).read_bytes(), page_spec or None) for _, path in items)

    async def through_a_job(
        items, model_id, hint, page_spec, report, principal, caller, request: gr.Request, keep: bool = False
    ) -> Read | JobStatus:
        """A long batch runs as a job (POST /jobs's queue): it survives a restart of the server. ``keep`` (the Batch
        tab's own button): the job is returned once sent, for the tab to list it at once and follow it (leaving the page
        keeps it running: "Your jobs" finds it again after a reload); else (the Gradio API's /batch_ocr) its progress is
        polled here, and a call that is given up cancels it. Its owner is the REST API's (the service's rule: the key
        that sent it; an admin sees every job)."""
        job = await anyio.to_thread.run_sync(
            lambda: service.submit_job(items, model_id or None, hint, page_spec or None, False, principal, caller)
        )
        gr.Info(
            f"Long batch: running as job {job.id} (GET /jobs/{job.id} on the REST API)"
            + ("; it goes on if you leave this page (Your jobs, below, lists it)." if keep else ".")
        )
        if keep:
            return job
        try:
            return await follow(job, principal, report, request)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: service.cancel_job(job.id, principal))
            raise

    async def follow(job, principal, report, request: gr.Request) -> Read:
        """Poll the job, its progress reported, until it ends; its result and downloads (gr.Error if it failed or was
        cancelled, or once its follower has gone: a closed tab's follow held its place in the queue until the job ended).
        The result is built without its lines (a long job's took GBs); the JSON download is written out from the whole."""
        if job.pages_total:
            report(job.pages_done, job.pages_total)
        while job.state in ("queued", "running"):
            await anyio.sleep(0.5)
            if await caller_left(request):
                raise gr.Error(f"The job {job.id} is no longer followed: its follower left.", print_exception=False)
            try:
                job = await anyio.to_thread.run_sync(service.job, job.id, principal)
            except NotFound:  # (a cancel deletes the job)
                raise refusal(f"The job {job.id} was cancelled (or has expired) while it was followed.", 409) from None
            if job.pages_total:
                report(job.pages_done, job.pages_total)
        if job.state == "cancelled":
            raise refusal(f"The job {job.id} was cancelled.", 409)
        if job.state != "done":  # (it failed: said as it is, without a traceback)
            raise gr.Error(f"The job {job.state}: {job.error or 'no result'}.", print_exception=False)
        result = await anyio.to_thread.run_sync(lambda: service.job_result(job.id, principal, lines=False))
        whole = partial(service.job_result_json, job.id, principal)
        return result, await anyio.to_thread.run_sync(write_downloads, result, whole)

    @keep_on_error(7)
    async def batch_for_ui(paths, model_id, picked, page_spec, request: gr.Request, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        """The results; a long batch's job is listed (and picked) under Your jobs as soon as it is sent, then followed
        (its row read again on a timer: only then, not for a batch read here)."""
        read = await read_all(request, paths, model_id, language_hint(picked), progress, page_spec, keep=True)
        if isinstance(read, JobStatus):
            jobs, choice, _ = await jobs_for_ui(read.id, request)
            yield gr.skip(), gr.skip(), gr.skip(), jobs, choice, gr.Timer(active=True), gr.skip()
            read = await follow_job(read.id, request, progress)
        result, downloads = read
        yield styled(on_screen(table(result))), summary(result), downloads, gr.skip(), gr.skip(), gr.skip(), ""

    for button in (run, follow_button):  # pressed after scrolling down, the progress and the results come into view
        button.click(None, None, None, js=SHOW_RESULTS, api_visibility="private")

    def started(given, follows: bool = True):
        """A run starts (Read all, Follow): the last run's table, totals and downloads go (they looked like the new run's
        beside its progress); a press with nothing to read or follow leaves them. A followed job's row is read again on
        a timer (``follows``; Read all's, once its files became a job: ``batch_for_ui``)."""
        return (None, "", None, gr.Timer(active=True) if follows else gr.skip()) if given else (gr.skip(),) * 4

    shown = [results, totals, downloads, rows]
    busy = run.click(
        lambda paths: (gr.Button(interactive=False), "", *started(paths, follows=False)),
        [files],
        [run, message, *shown],
        queue=False,
        api_visibility="private",
    )
    read_all_event = busy.then(  # (one press, one reading: the button is back when it ends)
        hide_from_mcp(batch_for_ui),
        [files, model, language, pages],
        [results, totals, downloads, jobs_table, picked_job, rows, message],
        api_visibility="private",
        show_progress_on=[results],  # (one progress bar, over the table it fills)
    )
    ended = (gr.Button(interactive=True), gr.Timer(active=False))
    read_all_event.then(lambda: ended, None, [run, rows], queue=False, api_visibility="private")

    # The Gradio API's /batch_ocr: progress updates, errors raised to the client.
    async def batch_ocr(paths, model_id, hint, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Read the text of several images or documents (PDF, TIFF); each file gets its own status. Progress moves
        page by page. Returns the table of results, a summary line, and the results as CSV, JSON and Markdown files."""
        result, downloads = await read_all(request, paths, model_id, hint or None, progress)  # type: ignore[misc]
        return table(result), summary(result), downloads

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

    # "Your jobs": the signed-in key's recent jobs; Follow reattaches to one (after a reload too) until its result.
    async def listing_of(request: gr.Request) -> JobList:
        return await anyio.to_thread.run_sync(lambda: service.job_listing(principal_of(request), None, RECENT_JOBS))

    async def follow_job(job_id: str | None, request: gr.Request, progress: gr.Progress) -> Read:
        if not job_id:
            raise refusal("Pick a job from the list first.")
        principal = principal_of(request)
        job = await anyio.to_thread.run_sync(service.job, job_id, principal)

        def report(done: int, total: int) -> None:
            progress((done, total), desc="Reading", unit="pages")

        return await follow(job, principal, report, request)

    @keep_on_error(3)
    async def jobs_for_ui(picked, request: gr.Request):
        """The list; the job picked stays picked while it is listed, else the newest unfinished one is. The message stays
        (what a read, a follow or a cancel said: the list is read again after each)."""
        listing = await listing_of(request)
        ids = [job.id for job in listing.jobs]
        running = next((job.id for job in listing.jobs if job.state in ("queued", "running")), None)
        return job_table(listing), gr.update(choices=job_choices(listing), value=picked if picked in ids else running), gr.skip()

    async def rows_for_ui(request: gr.Request):
        return job_table(await listing_of(request))

    rows.tick(hide_from_mcp(rows_for_ui), None, [jobs_table], api_visibility="private", queue=False, show_progress="hidden")

    @keep_on_error(4)
    async def follow_for_ui(job_id, request: gr.Request, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        result, downloads = await follow_job(job_id, request, progress)
        return styled(on_screen(table(result))), summary(result), downloads, ""

    @keep_on_error(1)
    async def cancel_for_ui(job_id, confirmed, request: gr.Request):
        """A running job is cancelled (and deleted); one that has ended is deleted with its result only once the browser's
        confirm said so (its state is read again here: the list the confirm went by may be older)."""
        if not job_id:
            raise refusal("Pick a job from the list first.")
        principal = principal_of(request)
        if not confirmed:
            job = await anyio.to_thread.run_sync(service.job, job_id, principal)
            if job.state not in ("queued", "running"):
                return kept(job)
        last = await anyio.to_thread.run_sync(service.cancel_job, job_id, principal, bool(confirmed))
        return cancelled(last) if confirmed or last.state == "cancelled" else kept(last)  # (it ended meanwhile: kept)

    listed = [jobs_table, picked_job, message]

    read_all_event.then(hide_from_mcp(jobs_for_ui), [picked_job], listed, api_visibility="private")
    gr.on([refresh.click, *(refresh_on or [])], hide_from_mcp(jobs_for_ui), [picked_job], listed, api_visibility="private")
    follow_button.click(started, [picked_job], shown, queue=False, api_visibility="private").then(
        hide_from_mcp(follow_for_ui),  # (following a job waits on it: its own places, a few for each client: queue_bounds)
        [picked_job],
        [results, totals, downloads, message],
        api_visibility="private",
        show_progress_on=[results],
        concurrency_id=FOLLOWING,
        concurrency_limit=UI_EVENTS_AT_ONCE,
    ).then(lambda: gr.Timer(active=False), None, [rows], queue=False, api_visibility="private").then(
        hide_from_mcp(jobs_for_ui), [picked_job], listed, api_visibility="private"
    )
    cancel_button.click(
        hide_from_mcp(cancel_for_ui), [picked_job, confirmed], [message], js=CONFIRM_DELETE, api_visibility="private"
    ).then(hide_from_mcp(jobs_for_ui), [picked_job], listed, api_visibility="private")

    # The Gradio API's /batch_jobs and /follow_job: the same, for a client (and its tests).
    async def batch_jobs(request: gr.Request):
        """The caller's recent jobs (newest first; with no API keys, the server's): id, state, pages read of the
        total, files, model, when submitted."""
        return job_table(await listing_of(request))

    async def follow_batch_job(job_id, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Follow a job by its id until it ends, its progress page by page; then its result as /batch_ocr gives it:
        the table of results, a summary line, and the results as CSV, JSON and Markdown files."""
        result, downloads = await follow_job(job_id, request, progress)
        return table(result), summary(result), downloads

    endpoint("batch_jobs", batch_jobs, [], [partial(gr.Dataframe, headers=JOB_COLUMNS, label="jobs")])
    endpoint(
        "follow_job",
        follow_batch_job,
        [partial(gr.Textbox, label="job_id")],
        [
            partial(gr.Dataframe, headers=COLUMNS, label="results"),
            partial(gr.Markdown, label="totals"),
            partial(gr.File, file_count="multiple", label="downloads"),
        ],
        concurrency_id=FOLLOWING,  # (it waits on a job: the followers' own places, a few for each client)
        concurrency_limit=UI_EVENTS_AT_ONCE,
    )
