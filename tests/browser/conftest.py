"""Browser fixtures: Debian's Chromium (its headless shell) driven by Playwright, one browser per run of browser tests, a
fresh page per test, and a screenshot of every page a failed test left behind with its console and the requests it made (in
$CHATVLM_TEST_ARTIFACTS, default test-artifacts/, which CI keeps)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (.ci/run installs it)")
# Debian's headless shell (Chromium's old headless mode, without the browser's own window stack): the same pages for
# ~13% less CPU than the full browser in the browser tests here (88-92 against 101-105 core-seconds); the full one
# where the shell is not installed.
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-proxy-server",
]
ARTIFACTS = Path(os.environ.get("CHATVLM_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


# One Chromium per test process, opened by the first browser test and closed after the last of a run of them (the
# browser files are one unit of work, run one after the other: tests/work_order.py), before other tests run (with
# Playwright's event loop left open, their asyncio.run() fails): each test opens its own pages, each page its own
# context (cookies, storage), so tests share the browser and nothing else. Its start (Playwright's driver, Chromium's
# processes) costs 3-4 s of CPU, paid once per run of browser tests instead of once per file or test.
OPEN: list = []  # [(Playwright, Browser)] while one is open


def shared_browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium-headless-shell (or chromium) is not installed (.ci/run installs it)")
    if OPEN and not OPEN[0][1].is_connected():  # it crashed under an earlier test: a new one for the next
        close_browser()
    if not OPEN:
        driver = playwright.sync_playwright().start()
        try:
            OPEN.append((driver, driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)))
        except BaseException:
            driver.stop()
            raise
    return OPEN[0][1]


def close_browser() -> None:
    while OPEN:
        driver, browser = OPEN.pop()
        try:
            browser.close()
        except playwright.Error:
            pass  # already gone
        finally:
            driver.stop()


@pytest.fixture
def browser():
    return shared_browser()


@pytest.hookimpl(trylast=True)  # after the test's own fixtures (its pages) are torn down
def pytest_runtest_teardown(item, nextitem):
    if nextitem is None or "tests/browser/" not in nextitem.nodeid:
        close_browser()


@pytest.fixture
def open_page(browser, request):
    """open_page(url, width=1280, height=900) -> a page at the UI, its tabs built; screenshots kept on failure."""
    pages = []

    def opened(url: str, width: int = 1280, height: int = 900):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.console = []
        page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"))
        # what the page asked of the server and when, kept beside the screenshot: a step that waited for an answer
        # (an upload, an event) says which request it was
        started = time.monotonic()
        page.on("request", lambda r: page.console.append(f"{time.monotonic() - started:7.2f} -> {r.method} {r.url}"))
        page.on(
            "requestfinished",
            lambda r: page.console.append(f"{time.monotonic() - started:7.2f} <- {r.method} {r.url}"),
        )
        page.on(
            "requestfailed",
            lambda r: page.console.append(f"{time.monotonic() - started:7.2f} !! {r.method} {r.url}: {r.failure}"),
        )
        page.on("crash", lambda _: page.console.append(f"{time.monotonic() - started:7.2f} !! the page crashed"))
        page.goto(url, wait_until="domcontentloaded")
        page.bring_to_front()  # the page under test is the active one (a background page may not draw frames)
        playwright.expect(page.get_by_role("tab", name="OCR")).to_be_visible(timeout=60_000)
        pages.append(page)
        return page

    yield opened
    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for i, page in enumerate(pages):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            keep_failed(page, f"{request.node.name}-{i}")
        page.close()


# Whether the page still draws frames: a wait on a locator (visible, stable, enabled) checks at each animation frame,
# so a page that stopped drawing fails those waits while its script runs and it shows what was waited for. Asked
# with a time limit (a page whose script is stuck answers nothing).
DRAWING = """() => {
  if (window.__drawing === undefined) {
    window.__drawing = '';
    requestAnimationFrame(() => { window.__drawing = window.__drawing || 'animation frames drawn'; });
    setTimeout(() => { window.__drawing = window.__drawing || 'no animation frame in 3 s'; }, 3000);
  }
  return window.__drawing && `${window.__drawing}; visibility ${document.visibilityState}, focus ${document.hasFocus()}`;
}"""


def keep_failed(page, name: str) -> None:
    """The screenshot, console and requests of a page a failed test left behind (the last 60 lines also printed in
    the report), with whether the page still drew frames."""
    try:
        page.console.append(f"at the failure: {page.wait_for_function(DRAWING, polling=100, timeout=6_000).json_value()}")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=15_000)
    except playwright.Error as exc:
        page.console.append(f"at the failure: the page did not answer in time, its script stuck? ({exc.message[:200]})")
    (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(page.console))
    print(f"{name}'s last console messages and requests:", *page.console[-60:], sep="\n")


def upload(page, target: str, path: Path) -> None:
    page.locator(f"{target} input[type=file]").set_input_files(str(path))
    page.locator(f"{target} img").first.wait_for(timeout=30_000)


@contextmanager
def pages_kept(name: str) -> Iterator[list]:
    """A list for the pages a test opens itself: each closed after it, and kept (screenshot, console) if it fails."""
    pages: list = []
    try:
        yield pages
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(pages):
            keep_failed(page, f"{name}-{i}")
        raise
    finally:
        for page in pages:
            page.close()
