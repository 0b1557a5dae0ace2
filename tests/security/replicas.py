"""Two API replicas in this process (real uvicorn servers on free ports, each with its own data directory) that share
one real Redis (the broker: rate-limit windows, wrong-key bounds, logouts) and one real PostgreSQL, as the
distributed mode runs them (issue 19, point 5)."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

from tests.scratch import scratch

from .conftest import live


def redis_db(url: str, db: int) -> str:
    """The same Redis server, another database: a module's windows stay apart from the other tests' (a budget spent
    here must not refuse their requests for a minute)."""
    return f"{url.rsplit('/', 1)[0]}/{db}"


@contextmanager
def replicas(settings, broker_url: str, database_url: str, count: int = 2, **changes):
    """``count`` live servers with these settings changed and the broker and database set; yields their clients."""
    with ExitStack() as stack:
        clients = []
        for _ in range(count):
            server = {**changes.get("server", {}), "data_dir": scratch(prefix="chatvlm-test-replica-")}
            jobs = {"broker_url": broker_url, "database_url": database_url}
            client, _service = stack.enter_context(live(settings, **{**changes, "server": server, "jobs": jobs}))
            clients.append(client)
        yield clients
