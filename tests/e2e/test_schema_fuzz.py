"""Schemathesis (`--checks all`, a bounded number of examples) against the live app, with keys off and on:
no failure. tests/schemathesis.toml says which checks are narrowed and why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, serve_in_thread

pytestmark = pytest.mark.slow  # a release check: both schemathesis runs in full

CONFIG = ROOT / "tests" / "schemathesis.toml"


def fuzz(base: str, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "15",
        "--seed",
        "1",
        *extra,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def summary(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr)[-4000:]


def test_schemathesis_finds_nothing_with_keys_off(live_server):
    result = fuzz(live_server)
    assert result.returncode == 0, summary(result)
    assert " passed" in result.stdout


@pytest.mark.parametrize("key", ["admin-key-9876543210"])
def test_schemathesis_finds_nothing_with_keys_and_a_rate_limit(settings, key):
    configured = settings.model_copy(deep=True)
    configured.auth.api_keys = [f"admin:{key}"]
    configured.limits.rate_limit = "10000/minute"
    with serve_in_thread(configured) as (base, _):
        result = fuzz(base, "-H", f"Authorization: Bearer {key}")
    assert result.returncode == 0, summary(result)
