"""bench/lanes.py runs end to end against the session's live server (a real run, small; no timing asserted: it
prints the latencies and their ratio for a person to read)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.e2e.test_bench import rate, summary_of


@pytest.mark.slow  # a benchmark's smoke run (about 10 s of OCR)
def test_lanes_benchmark_prints_its_summary(live_server):
    result = subprocess.run(
        [sys.executable, "bench/lanes.py", live_server, "--model", "embedded", "--pages", "16", "--requests", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = summary_of(result.stdout)
    for key in ("alone_p50", "during_p50", "ratio_p50", "during_max", "ratio_max"):
        rate(summary[key])
    assert summary["job_running"] in ("0", "1") and int(summary["job_pages_during"]) >= 0, summary
    assert "alone" in result.stdout and "during" in result.stdout
