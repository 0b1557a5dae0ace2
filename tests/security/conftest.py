"""The attack suite's fixtures: a live server (real uvicorn on a free port, in this process) with chosen settings,
keys on or off. Each test here sends what a hostile client would and checks the server refuses it, says nothing it
should not, and goes on serving others."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import ADMIN_KEY as ADMIN
from tests.conftest import OTHER_KEY as OTHER
from tests.conftest import USER_KEY as USER
from tests.conftest import serve_in_thread

KEYS = [f"user:{USER}", f"admin:{ADMIN}", f"user:{OTHER}"]  # the session's keyed_server has these


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


# Servers shared by the modules, one per configuration, where nothing a test sends changes what the server answers
# the next one. Servers with limits (rate limits, the wrong-key budget, upload lifetimes) stay each test's own.
@pytest.fixture(scope="session")
def open_server(settings):
    """The plain settings (keys off, no rate limit), for the session; yields an HTTP client with its base URL set."""
    with live(settings) as (client, _):
        yield client


@pytest.fixture(scope="session")
def keyed_client(keyed_server):
    """The session's keys-on server (tests/conftest.py's ``keyed_server``, with :data:`KEYS`), for tests that send
    good keys or none: a wrong key would spend this address's wrong-key budget for the tests after it."""
    with httpx.Client(base_url=keyed_server, timeout=120) as client:
        yield client
