"""The order of the work between pytest-xdist's test processes: loaded by tests/conftest.py (in the controller and in
each worker)."""

from __future__ import annotations

import functools
import re

import pytest

from tests.servers import ROOT

# pytest-xdist hands out units of work in the order collected (--no-loadscope-reorder: its own order, by test count,
# put the long release checks last, one worker busy with them while the other had nothing left). A unit is a whole
# file (--dist loadfile: a file's servers are shared by its tests), except in the unit tier: the files that load the
# tiny models in the test process (torch and transformers: ~5 s of CPU to import) or import the UI (Gradio) are one
# unit, so only one of the two test processes pays for those imports (`python -m pytest tests/unit`: ~4 s sooner).
# The units that cost most go first and the many quick unit files last, so that both workers end together.
TIER_COST = {"browser": 8, "e2e": 3, "security": 3, "distributed": 3}  # a test's rough cost by tier (unit: 1)
SLOW_COST = 30  # a test marked slow
IN_PROCESS_MODELS = "tests/unit: the tiny models and the UI in the test process"
LOADS_MODELS = re.compile(r"\btiny_(build|config|settings|service|client)\b|^\s*(import|from) (gradio|ui|app|assembly)\b", re.M)


@functools.cache
def unit_of_work(path: str) -> str:
    """The unit of work a test file belongs to (its path, or IN_PROCESS_MODELS), in pytest-xdist's controller and in
    each worker alike (read from the file: the controller collects nothing)."""
    if path.startswith("tests/unit/") and LOADS_MODELS.search((ROOT / path).read_text(encoding="utf-8")):
        return IN_PROCESS_MODELS
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None  # pytest-xdist's own
    from xdist.scheduler import LoadFileScheduling

    class ByUnitOfWork(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid.split("::", 1)[0])

    return ByUnitOfWork(config, log)


def pytest_collection_modifyitems(config, items):
    cost: dict[str, int] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        unit = unit_of_work(item.nodeid.split("::")[0])
        tier = unit.split("/")[1] if unit.count("/") >= 2 else ""
        cost[unit] = cost.get(unit, 0) + (SLOW_COST if item.get_closest_marker("slow") else TIER_COST.get(tier, 1))
        first.setdefault(unit, index)

    def order(item):
        unit = unit_of_work(item.nodeid.split("::")[0])
        return -cost[unit], first[unit]  # a unit's tests stay together, in their order

    items.sort(key=order)
