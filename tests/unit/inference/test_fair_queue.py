"""The in-process job queue's order: keys take turns, a key's jobs take turns, and a key's high-priority job goes
before its normal ones (never before another key's turn)."""

from __future__ import annotations

from inference.job_queue import FairQueue, Unit


def units(job: str, n: int) -> list[Unit]:
    return [Unit(job, 0, page) for page in range(1, n + 1)]


def drain(queue: FairQueue) -> list[str]:
    out = []
    while (unit := queue.take(timeout=0)) is not None:
        out.append(f"{unit.job}{unit.page}")
    return out


def test_keys_then_jobs_take_turns():
    queue = FairQueue()
    queue.add("alice", units("A", 3))
    queue.add("alice", units("B", 2))
    queue.add("bob", units("C", 2))
    assert drain(queue) == ["A1", "C1", "B1", "C2", "A2", "B2", "A3"]


def test_a_keys_high_priority_job_goes_first_among_its_own():
    queue = FairQueue()
    queue.add("alice", units("A", 2), priority=1)
    queue.add("alice", units("H", 2), priority=2)
    queue.add("bob", units("C", 2), priority=0)
    assert drain(queue) == ["H1", "C1", "H2", "C2", "A1", "A2"]


def test_a_dropped_job_leaves_nothing_behind():
    queue = FairQueue()
    queue.add("alice", units("A", 3))
    queue.add("bob", units("B", 1))
    queue.drop("A")
    assert drain(queue) == ["B1"] and len(queue) == 0
