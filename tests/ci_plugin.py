"""CI allows no skip: loaded by tests/conftest.py."""

from __future__ import annotations

import os

import pytest

# -- CI allows no skip ---------------------------------------------------------------------------------------------
# `.ci/run` installs everything a skip waits for (Tesseract and its data, Chromium, a Cyrillic font, playwright,
# transformers serve); with CI set (CI=true in its environment) a skipped test fails, with the skip's reason.


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where .ci/run makes every test possible: {reason}"


def pytest_collectreport(report):
    if in_ci() and report.skipped:  # a module skipped as a whole (pytest.importorskip, a module-level skip)
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        CI_SKIPPED_MODULES.append(f"{report.nodeid}: {reason}")


CI_SKIPPED_MODULES: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if CI_SKIPPED_MODULES:
        terminalreporter.section("skipped in CI", red=True)
        for line in CI_SKIPPED_MODULES:
            terminalreporter.line(f"FAILED (skipped in CI) {line}")


def pytest_sessionfinish(session, exitstatus):
    if CI_SKIPPED_MODULES and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
