"""How much PDF text layer one request holds (limits.max_text_lines): a text layer is read whole into the answer, 1-3 KB
a line until it is sent, and outside the request's time limit (an 87 KB PDF of 200 pages of 4,000 words each took 407 s
of CPU and 1 GB). The PDFs opened inside :func:`text_budget` share it (a batch's files): past it, a page fails its file
at once (400); in a job's opening (``lazy``) the page keeps only its text, its lines loaded when it is read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import BadInput


@dataclass
class _Budget:
    left: int
    lines: int
    lazy: bool


_BUDGET: ContextVar[_Budget | None] = ContextVar("text_budget", default=None)


@contextmanager
def text_budget(lines: int, lazy: bool = False) -> Iterator[None]:
    """The PDFs opened in the block hold at most ``lines`` text-layer lines together; ``lazy``: a page past them keeps
    its text alone (its lines loaded when it is read: a job's pages, read one at a time), else it fails its file."""
    token = _BUDGET.set(_Budget(lines, lines, lazy))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def kept(count: int, shown: str, number: int) -> bool:
    """Whether page ``number`` of ``shown`` keeps its ``count`` text-layer lines from its opening: always outside a
    budget, and while it lasts; past it, False in a lazy one (its lines loaded when it is read), else BadInput."""
    budget = _BUDGET.get()
    if budget is None or count <= budget.left:
        if budget is not None:
            budget.left -= count
        return True
    if budget.lazy:
        return False
    raise BadInput(
        f"'{shown}' has more text than one request reads: its text layer passes {budget.lines:,} lines at page {number} "
        "(limits.max_text_lines; a batch's files count together). Choose fewer pages (pages=1-50), send the files "
        "apart, or send it as a job (POST /jobs)."
    )
