"""The rate limiter's storage (issue 19, point 5): this process's memory without a broker; Redis with one, where two
limiters (two replicas) spend one budget; and, while Redis does not answer, a window of the limiter's own (logged
once, without the URL) instead of an error or no limit."""

from __future__ import annotations

import logging
import uuid

import pytest

from inference.errors import RateLimited
from inference.rate_limit import RateLimiter, storage_for
from tests.conftest import free_port


def test_without_a_broker_the_window_is_this_process_s():
    assert storage_for(None) is None
    first, second = RateLimiter("2/minute"), RateLimiter("2/minute")
    assert [first.retry_after("caller") for _ in range(2)] == [None, None]
    assert first.retry_after("caller") is not None
    assert second.retry_after("caller") is None  # another process's memory


def test_two_limiters_on_one_redis_spend_one_budget(redis_service):
    caller = f"key-{uuid.uuid4().hex[:10]}"  # fresh: the session's Redis outlives this test
    a, b = (RateLimiter("3/minute", storage_for(redis_service.url)) for _ in range(2))
    assert [a.retry_after(caller), b.retry_after(caller), a.retry_after(caller)] == [None, None, None]
    assert 1 <= b.retry_after(caller) <= 60
    with pytest.raises(RateLimited, match="Try again in"):
        a.charge(caller)
    other_scope = RateLimiter("3/minute", storage_for(redis_service.url), scope="failed-auth")
    assert other_scope.retry_after(caller) is None  # one store, windows apart


def test_while_redis_does_not_answer_the_limit_holds_in_this_process(caplog):
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = RateLimiter("2/minute", storage_for(url))
    with caplog.at_level(logging.INFO, logger="inference.rate_limit"):
        assert [limiter.retry_after("caller") for _ in range(2)] == [None, None]
        assert limiter.retry_after("caller") is not None
        assert limiter.spend("other") is False and limiter.spend("other") is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis does not answer" in warnings[0].getMessage()  # once per outage
    assert "hunter2" not in caplog.text and str(url) not in caplog.text
