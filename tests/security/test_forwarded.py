"""Point 8, forwarded headers: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from
``server.trusted_proxies`` (none by default), so a client cannot take a new address per request to escape the
rate limit or the wrong-key limit. The servers here run with the uvicorn options ``python app.py`` uses
(``api.startup.uvicorn_options``); the test's connections come from 127.0.0.1, which uvicorn alone would trust."""

from __future__ import annotations

import pytest

from tests.helpers import ENGLISH, encode, render_lines
from tests.security.conftest import KEYS, USER, live

PNG = encode(render_lines(ENGLISH[:1]))


def ocr(client, address: str):
    return client.post("/ocr", params={"model": "rapidocr"}, files={"file": ("d.png", PNG)}, headers={"X-Forwarded-For": address})


def wrong_key(client, address: str):
    return client.get("/models", headers={"X-Forwarded-For": address, "X-API-Key": "guess-guess-guess"})


@pytest.fixture(scope="module")
def direct(settings):
    """No trusted proxy (the default): keys on, 2 wrong keys a minute."""
    with live(settings, auth={"api_keys": KEYS, "failed_auth_limit": "2/minute"}) as (client, _):
        yield client


@pytest.fixture(scope="module")
def behind_proxy(settings):
    """The same behind a proxy on this host (server.trusted_proxies: [127.0.0.1])."""
    with live(settings, auth={"api_keys": KEYS, "failed_auth_limit": "2/minute"}, server={"trusted_proxies": ["127.0.0.1"]}) as (
        client,
        _,
    ):
        yield client


def signs_in_securely(client) -> bool:
    """Whether a sign-in that says it came over HTTPS gets a Secure cookie (the scheme was believed)."""
    signed_in = client.post("/login", data={"key": USER}, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    return "secure" in signed_in.headers["set-cookie"].lower()


def test_a_forged_address_is_no_new_identity(direct):
    assert not signs_in_securely(direct)  # the scheme is not believed either
    assert [wrong_key(direct, f"10.9.8.{i}").status_code for i in range(4)] == [401, 401, 429, 429]


def test_a_trusted_proxy_names_the_client(behind_proxy):
    assert signs_in_securely(behind_proxy)
    assert [wrong_key(behind_proxy, f"10.9.8.{i}").status_code for i in range(4)] == [401] * 4  # four clients
    assert [wrong_key(behind_proxy, "10.9.9.9").status_code for _ in range(3)] == [401, 401, 429]


def test_with_keys_off_a_forged_address_does_not_escape_the_rate_limit(settings):
    with live(settings, limits={"rate_limit": "2/minute"}) as (client, _):
        assert [ocr(client, f"10.2.2.{i}").status_code for i in range(3)] == [200, 200, 429]
    with live(settings, limits={"rate_limit": "2/minute"}, server={"trusted_proxies": ["127.0.0.0/8"]}) as (client, _):
        assert [ocr(client, f"10.2.2.{i}").status_code for i in range(3)] == [200, 200, 200]  # three clients
        assert ocr(client, "10.2.2.0").status_code == 200 and ocr(client, "10.2.2.0").status_code == 429


def test_an_ipv6_client_is_counted_by_its_network_not_by_each_address_it_picks(behind_proxy, settings):
    """(an attack pass: an IPv6 subscriber is given a /64 and picks addresses in it at will; counted one by one, each
    request could come from a new address with a new budget.) Wrong keys and, with keys off, the rate limit."""
    assert [wrong_key(behind_proxy, f"2001:db8:5:6::{i:x}").status_code for i in range(4)] == [401, 401, 429, 429]
    assert wrong_key(behind_proxy, "2001:db8:5:7::1").status_code == 401  # another subscriber's network
    assert wrong_key(behind_proxy, "::ffff:10.7.7.7").status_code == 401  # an IPv4 client, mapped: its own address
    with live(settings, limits={"rate_limit": "2/minute"}, server={"trusted_proxies": ["127.0.0.0/8"]}) as (client, _):
        assert [ocr(client, f"2001:db8:1:2:{i:x}::1").status_code for i in range(3)] == [200, 200, 429]
        assert ocr(client, "2001:db8:1:3::1").status_code == 200


def test_with_keys_off_the_hosts_own_addresses_are_one_client(settings):
    """(an attack pass: any process on the host may send from any of 127.0.0.0/8, and each address was a client of its
    own: a new rate-limit budget, job quota and upload room for each.)"""
    import httpx

    with live(settings, limits={"rate_limit": "2/minute"}) as (client, _):
        statuses = []
        for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            transport = httpx.HTTPTransport(local_address=source)
            with httpx.Client(base_url=str(client.base_url), transport=transport, timeout=60) as local:
                answer = local.post("/ocr", params={"model": "rapidocr"}, files={"file": ("d.png", PNG)})
                statuses.append(answer.status_code)
        assert statuses == [200, 200, 429], statuses
