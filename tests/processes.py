"""The processes below a process, found by their parents in Linux's /proc (PostgreSQL's backends are in process
groups of their own, so a signal to a server's group would not reach them): for tests/services.py's kill()."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def processes() -> dict[int, tuple[str, int]]:
    """pid -> (state, parent pid) of every process (Linux's /proc; empty elsewhere)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            table[int(stat.parent.name)] = (fields[0], int(fields[1]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def descendants(root: int) -> set[int]:
    """Every process below ``root``. PostgreSQL's backends are in process groups of their own (setsid), so a
    signal to the server's group would not reach them: they are found by their parents."""
    children: dict[int, list[int]] = {}
    for pid, (_, parent) in processes().items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those that still run (a zombie does not: it only waits for its parent to reap it, and holds no memory)."""
    table = processes()
    return {pid for pid in pids if pid in table and table[pid][0] != "Z"}


def send_signal(pids: set[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
