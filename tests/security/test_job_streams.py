"""A job's event streams at most 8 a key (an attack pass): each stream was counted once its response began, after
its checks and an await, so 200 opened at once by one client all passed the check and 33 were held open. Each is
counted at its check now; the ninth and later get 429, and the eight are served."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.e2e.test_jobs import scanned

from .conftest import live

pytestmark = pytest.mark.slow  # (a flood: 60 streams at once, a release's check, ~5 s; one over: tests/e2e/test_job_events.py)

AT_ONCE = 60


async def open_together(base: str, url: str) -> Counter:
    async def one(client: httpx.AsyncClient) -> int:
        async with client.stream("GET", url) as response:
            if response.status_code == 200:
                await asyncio.sleep(3)  # (held open while the others are opened)
            return response.status_code

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=AT_ONCE)) as client:
        return Counter(await asyncio.gather(*(one(client) for _ in range(AT_ONCE))))


def test_streams_opened_together_are_counted_each_at_its_check(settings, tmp_path):
    with live(settings, server={"data_dir": str(tmp_path)}) as (client, _):
        job = client.post("/jobs", files=[("files", ("long.pdf", scanned(40, 24)))])
        assert job.status_code == 202, job.text
        seen = asyncio.run(open_together(str(client.base_url), f"/jobs/{job.json()['id']}/events"))
        assert seen == Counter({200: 8, 429: AT_ONCE - 8}), seen
        assert client.delete(f"/jobs/{job.json()['id']}").status_code == 200
