"""The jobs' store on both of its databases, for the store's tests: SQLite (one process) and PostgreSQL (many)."""

from __future__ import annotations

import pytest

from inference.job_store import JobStore, database_url
from inference.page_results import PageRead


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = JobStore(database_url(tmp_path))
    else:
        store = JobStore(request.getfixturevalue("postgres_service").url)
    yield store
    store.close()


def page_read(idx: int, page: int, text: str = "x") -> PageRead:
    """A page read by the model, as a worker writes it."""
    return PageRead(idx, page, (10, 20), "ocr", 0.1, text=text)
