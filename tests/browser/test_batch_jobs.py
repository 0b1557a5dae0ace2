"""The Batch tab's "Your jobs" in a browser (issue #20, point 7): a job sent by REST is listed with its state and
pages; picked and followed, its result shows; after a reload of the page the list is there again and following the
job shows its result again (nothing was tied to the first page)."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.e2e.test_jobs import scanned


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
