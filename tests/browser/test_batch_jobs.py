"""The Batch tab's "Your jobs" in a browser (issue #20, point 7): a job sent by REST is listed with its state and
pages; picked and followed, its result shows; after a reload of the page the list is there again and following the
job shows its result again (nothing was tied to the first page). A long batch that Read all sends as a job is listed
(and picked) as soon as it is sent, while it is read."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from tests.e2e.test_jobs import scanned
from ui.batch_tab import JOB_PAGES


def test_your_jobs_lists_a_job_and_follows_it_again_after_a_reload(live_server, open_page):
    sent = httpx.post(f"{live_server}/jobs", files=[("files", ("reattach.pdf", scanned(4, 20)))], timeout=60)
    assert sent.status_code == 202, sent.text
    job = sent.json()["id"]
    page = open_page(f"{live_server}/")
    for attempt in range(2):  # the first visit, then the same after a reload
        page.get_by_role("tab", name="Batch").click()
        expect(page.locator("#batch-jobs")).to_contain_text(job, timeout=30_000)
        page.locator("#batch-job input").click()
        page.locator("ul[role=listbox] li", has_text=job[:8]).click()
        page.locator("#batch-job-follow").click()
        expect(page.locator("#batch-totals")).to_contain_text("1 read", timeout=120_000)
        expect(page.locator("#batch-results")).to_contain_text("reattach.pdf")
        expect(page.locator("#batch-jobs")).to_contain_text("4/4")  # the list refreshed: done, every page read
        if attempt == 0:
            page.reload(wait_until="domcontentloaded")
            expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)


def test_the_job_buttons_say_what_they_did_and_it_stays_said(live_server, open_page):
    page = open_page(f"{live_server}/")
    page.get_by_role("tab", name="Batch").click()
    message = page.locator("#batch-message")
    page.locator("#batch-job-cancel").click()  # (no job picked: was Gradio's error about a tuple)
    expect(message).to_contain_text("Pick a job from the list first", timeout=30_000)
    sent = httpx.post(f"{live_server}/jobs", files=[("files", ("long.pdf", scanned(40, 20)))], timeout=60)
    assert sent.status_code == 202, sent.text
    job = sent.json()["id"]
    page.locator("#batch-jobs-refresh").click()
    expect(page.locator("#batch-jobs")).to_contain_text(job, timeout=30_000)
    expect(message).to_contain_text("Pick a job from the list first")  # (a refresh leaves it: only a new notice changes it)
    page.locator("#batch-job input").click()
    page.locator("ul[role=listbox] li", has_text=job[:8]).click()
    page.locator("#batch-job-cancel").click()
    expect(message).to_contain_text(f"Job {job} is cancelled", timeout=30_000)  # (it said 'was cancelled when...')
    expect(page.locator("#batch-jobs")).not_to_contain_text(job, timeout=30_000)  # the list after it: gone
    page.wait_for_timeout(1000)  # (no event to wait for: the list's refresh wiped the message as it came)
    expect(message).to_contain_text("and deleted")


# What "Your jobs" showed for the job being read, each change of its first row's state and pages kept (every 50 ms)
PAGES_SEEN = """() => {
  window.__pagesSeen = [];
  setInterval(() => {
    const cell = (n) => document.querySelector(`#batch-jobs [role=row] .body-cell[data-col='${n}']`)?.innerText.trim();
    const shown = `${cell(1)} ${cell(2)}`;
    if (cell(0) && window.__pagesSeen.at(-1) !== shown) window.__pagesSeen.push(shown);
  }, 50);
}"""


def test_a_long_batch_read_here_is_listed_as_soon_as_its_job_is_sent(live_server, open_page, tmp_path):
    long = tmp_path / "long-scan.pdf"
    long.write_bytes(scanned(JOB_PAGES + 1, 20))  # (more pages than the tab reads at once: it runs as a job)
    page = open_page(f"{live_server}/")
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-files input[type=file]").set_input_files(str(long))
    expect(page.locator("#batch-files")).to_contain_text("long-scan", timeout=60_000)  # uploaded
    page.evaluate(PAGES_SEEN)
    page.locator("#batch-run").click()
    said = page.get_by_text(re.compile(r"running as job \w+")).first
    expect(said).to_be_visible(timeout=60_000)
    told = said.inner_text()
    job = re.search(r"running as job (\w+)", told).group(1)
    # listed while it is read, and picked (was: listed once it had ended, or after a Refresh)
    expect(page.locator("#batch-jobs")).to_contain_text(job, timeout=30_000)
    row = page.locator("#batch-jobs [role=row]", has_text=job)
    expect(row.locator(".body-cell[data-col='1']")).to_have_text(re.compile(r"^\s*(queued|running)\s*$"))  # its state
    expect(page.locator("#batch-job input")).to_have_value(re.compile(rf"^{job[:8]} · "))
    assert "Refresh" not in told and "Your jobs, below, lists it" in told  # (it said to press Refresh for that)
    expect(page.locator("#batch-totals")).to_contain_text("1 read", timeout=180_000)  # then followed to its result
    seen = page.evaluate("window.__pagesSeen")  # its row moved while it was read (it said 'queued 0/?' to the end)
    assert any(re.fullmatch(rf"running [1-9]\d*/{JOB_PAGES + 1}", s) for s in seen), seen
    expect(row.locator(".body-cell[data-col='1']")).to_have_text(re.compile(r"^\s*done\s*$"), timeout=30_000)  # listed again
    expect(row.locator(".body-cell[data-col='2']")).to_have_text(re.compile(rf"^\s*{JOB_PAGES + 1}/{JOB_PAGES + 1}\s*$"))


def test_a_new_run_clears_the_last_runs_totals_and_downloads(live_server, open_page, english_file, tmp_path):
    """A long batch sent as a job after a short one: the short one's totals and downloads went on showing beside the
    job's progress, as if they were its results (a new user's walk)."""
    long = tmp_path / "long-scan.pdf"
    long.write_bytes(scanned(JOB_PAGES + 1, 20))
    page = open_page(f"{live_server}/")
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-files input[type=file]").set_input_files(str(english_file))
    expect(page.locator("#batch-files")).to_contain_text(english_file.stem, timeout=60_000)
    page.locator("#batch-run").click()
    expect(page.locator("#batch-totals")).to_contain_text("1 read", timeout=60_000)
    expect(page.locator("#batch-downloads a")).not_to_have_count(0)
    page.locator("#batch-files input[type=file]").set_input_files(str(long))  # then a long one with it
    expect(page.locator("#batch-files")).to_contain_text("long-scan", timeout=60_000)
    page.locator("#batch-run").click()
    expect(page.get_by_text(re.compile(r"running as job \w+")).first).to_be_visible(timeout=60_000)
    assert page.locator("#batch-totals").inner_text().strip() == ""  # while the job is read: nothing of the last run
    expect(page.locator("#batch-downloads a")).to_have_count(0)
    expect(page.locator("#batch-results")).not_to_contain_text(english_file.name)
    expect(page.locator("#batch-totals")).to_contain_text(re.compile(r"\d read"), timeout=180_000)  # then the job's own
    expect(page.locator("#batch-results")).to_contain_text("long-scan.pdf")  # (the files added to the first: both)


def test_deleting_a_finished_jobs_result_is_asked_first(live_server, open_page):
    """The button "Cancel job" on a job that had ended deleted it and its result at once (a new user's walk): the button says it
    deletes, and a finished job's result is deleted only once the browser's confirm is accepted."""
    sent = httpx.post(f"{live_server}/jobs", files=[("files", ("kept.pdf", scanned(1, 20)))], timeout=60)
    assert sent.status_code == 202, sent.text
    job = sent.json()["id"]
    for _ in range(240):
        if httpx.get(f"{live_server}/jobs/{job}", timeout=30).json()["state"] == "done":
            break
        time.sleep(0.25)
    page = open_page(f"{live_server}/")
    page.get_by_role("tab", name="Batch").click()
    button, message = page.locator("#batch-job-cancel"), page.locator("#batch-message")
    expect(button).to_have_text("Cancel / delete job")
    expect(page.locator("#batch-jobs")).to_contain_text(job, timeout=30_000)
    page.locator("#batch-job input").click()
    page.locator("ul[role=listbox] li", has_text=job[:8]).click()
    asked: list[str] = []

    def answer(accept: bool):
        def on(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on

    page.once("dialog", answer(False))  # asked, and declined: kept
    button.click()
    expect(message).to_contain_text(f"Job {job} has ended (done): it and its result are kept", timeout=30_000)
    assert len(asked) == 1 and "Delete it and its result?" in asked[0] and job in asked[0], asked
    assert httpx.get(f"{live_server}/jobs/{job}/result", timeout=30).status_code == 200
    page.once("dialog", answer(True))  # asked again, and accepted: deleted
    button.click()
    expect(message).to_contain_text(f"Job {job} had already ended (done); it and its result are deleted", timeout=30_000)
    assert len(asked) == 2
    expect(page.locator("#batch-jobs")).not_to_contain_text(job, timeout=30_000)
    assert httpx.get(f"{live_server}/jobs/{job}", timeout=30).status_code == 404
