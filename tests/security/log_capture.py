"""What the server writes to its log while a test sends one hostile request: every log record (the root logger's and
uvicorn's, which may not propagate) and, with pytest's ``capsys``, what a library printed to stderr (Gradio prints its
event errors' tracebacks with ``traceback.print_exc``). A bad request is worth its access line and at most one short
line more, never a traceback: else anyone fills the server's disk at a request's price (an attack pass)."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any

SHORT = 1024  # bytes a refused request may add to the log, its access line included (a line is ~150)
SETTLE_S = 0.3  # what a server writes after its answer (uvicorn's line for an app that raised) comes within this


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not any(seen is record for seen in self.records):  # (a record of uvicorn's reaches it on two loggers)
            self.records.append(record)


@contextmanager
def logged():
    """Every log record written meanwhile (the root logger's and uvicorn's, which may not propagate)."""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def loud(records: list[logging.LogRecord]) -> list[str]:
    return sorted({f"{r.name}: {r.getMessage()[:80]}" for r in records if r.levelno >= logging.WARNING or r.exc_info})


@contextmanager
def written(capsys: Any):
    """Yields a list that holds, once the block has run, the text the server wrote meanwhile: its log records as a
    file handler formats them (tracebacks included) and what was printed to stderr."""
    text: list[str] = []
    capsys.readouterr()  # (what came before)
    handler = Records()
    with logged() as records:
        yield text
        time.sleep(SETTLE_S)
    text.extend(handler.format(record) + "\n" for record in records)
    text.append(capsys.readouterr().err)


def size_of(text: list[str]) -> int:
    return sum(len(part.encode("utf-8", "replace")) for part in text)


def show(text: list[str]) -> str:
    """The start of what was written, for an assertion's message."""
    return "".join(text)[:600]
