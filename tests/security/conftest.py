"""The attack suite's fixtures: a live server (real uvicorn on a free port, in this process) with chosen settings,
keys on or off. Each test here sends what a hostile client would and checks the server refuses it, says nothing it
should not, and goes on serving others."""

from __future__ import annotations

from contextlib import contextmanager

import httpx

from tests.conftest import serve_in_thread

USER, ADMIN, OTHER = "user-key-0123456789", "admin-key-9876543210", "other-user-key-55555"
KEYS = [f"user:{USER}", f"admin:{ADMIN}", f"user:{OTHER}"]


def changed(settings, **changes):
    """A deep copy of the settings with ``section={key: value}`` changes."""
    settings = settings.model_copy(deep=True)
    for section, values in changes.items():
        for key, value in values.items():
            setattr(getattr(settings, section), key, value)
    return settings


@contextmanager
def live(settings, **changes):
    """A live server with these settings changed; yields (an HTTP client with its base URL set, the service)."""
    with serve_in_thread(changed(settings, **changes)) as (base, service), httpx.Client(base_url=base, timeout=120) as client:
        yield client, service
