"""The order of the work between pytest-xdist's test processes: loaded by tests/conftest.py (in the controller and in
each worker)."""

from __future__ import annotations

import functools
import os
import re

import pytest

from tests.servers import ROOT

# pytest-xdist hands out units of work in the order collected (--no-loadscope-reorder: its own order, by test count,
# put the long release checks last, one worker busy with them while the other had nothing left). A unit is a whole
# file (--dist loadfile: a file's servers are shared by its tests), except:
# - in the unit tier, the files that load the tiny models in the test process (torch and transformers: ~5 s of CPU to
#   import) or import the UI (Gradio) are one unit, so only one of the two test processes pays for those imports
#   (`python -m pytest tests/unit`: ~4 s sooner);
# - the browser files are one unit, so that one Chromium serves them all (tests/browser/conftest.py closes it after a
#   run of browser tests: Playwright's event loop must not outlive them; each start costs 3-4 s of CPU).
# The units that cost most go first and the many quick unit files last, so that both workers end together.
TIER_COST = {"browser": 8, "e2e": 3, "security": 3, "distributed": 3}  # a test's rough cost by tier (unit: 1)
SLOW_COST = 30  # a test marked slow
IN_PROCESS_MODELS = "tests/unit: the tiny models and the UI in the test process"
LOADS_MODELS = re.compile(r"\btiny_(build|config|settings|service|client)\b|^\s*(import|from) (gradio|ui|app|assembly)\b", re.M)
BROWSER = "tests/browser"

# The session's cold `python app.py` servers (tests/conftest.py: live_server, tiny_server) are launched as soon as the
# tests are collected by the first worker only (~3.5 s of CPU to start each, then held to the end: launched by every
# worker, one that never used them paid for them), and the units that use them go to that worker first; another worker
# that still gets one (it ran out of other work) launches that server when its first test needs it.
FIRST_WORKER = "gw0"
USES_COLD_SERVERS = re.compile(r"\b(live_server|live_server_log|tiny_server)\b")


@functools.cache
def unit_of_work(path: str) -> str:
    """The unit of work a test file belongs to (its path, IN_PROCESS_MODELS or BROWSER), in pytest-xdist's controller
    and in each worker alike (read from the file: the controller collects nothing)."""
    if path.startswith("tests/unit/") and LOADS_MODELS.search((ROOT / path).read_text(encoding="utf-8")):
        return IN_PROCESS_MODELS
    if path.startswith(f"{BROWSER}/"):
        return BROWSER
    return path


@functools.cache
def uses_cold_servers(unit: str) -> bool:
    if unit == IN_PROCESS_MODELS:
        return False
    files = sorted((ROOT / BROWSER).glob("test_*.py")) if unit == BROWSER else [ROOT / unit]
    return any(USES_COLD_SERVERS.search(path.read_text(encoding="utf-8")) for path in files)


def launches_early() -> bool:
    """Whether this test process launches the cold session servers as soon as its tests are collected."""
    return os.environ.get("PYTEST_XDIST_WORKER", FIRST_WORKER) == FIRST_WORKER


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None  # pytest-xdist's own
    from xdist.scheduler import LoadFileScheduling

    class ByUnitOfWork(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid.split("::", 1)[0])

        def _assign_work_unit(self, node) -> None:
            """The next unit in cost order: the first worker's of the units that use the cold servers, the others' of
            the rest, while there are both."""
            first = node.gateway.id == FIRST_WORKER
            preferred = next((unit for unit in self.workqueue if uses_cold_servers(unit) == first), None)
            if preferred is not None:
                self.workqueue.move_to_end(preferred, last=False)
            super()._assign_work_unit(node)

    return ByUnitOfWork(config, log)


def pytest_collection_modifyitems(config, items):
    cost: dict[str, int] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        path = item.nodeid.split("::")[0]
        unit, tier = unit_of_work(path), path.split("/")[1] if path.count("/") >= 2 else ""
        cost[unit] = cost.get(unit, 0) + (SLOW_COST if item.get_closest_marker("slow") else TIER_COST.get(tier, 1))
        first.setdefault(unit, index)

    def order(item):
        unit = unit_of_work(item.nodeid.split("::")[0])
        return -cost[unit], first[unit]  # a unit's tests stay together, in their order

    items.sort(key=order)
