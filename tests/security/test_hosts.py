"""Point 3, DNS rebinding: a page on another site makes its name resolve to this server; the browser then sends
that name as ``Host`` (and the same name as ``Origin``, so comparing the two proves nothing). Only the server's own
names are answered: anything else is a 400 that says how to allow a name, on every route (REST, the Gradio UI and
API, the docs), keys on or off."""

from __future__ import annotations

import pytest

from api.hosts import allowed_hosts
from inference import load_settings
from tests.conftest import ROOT
from tests.security.conftest import ADMIN, KEYS, live


@pytest.fixture(scope="module")
def named_server(settings):
    """Keys on, and names of its own: one exact name and a domain's names."""
    with live(settings, auth={"api_keys": KEYS}, server={"allowed_hosts": ["ocr.example.com", "*.corp.example"]}) as (client, _):
        yield client


def as_host(client, name: str) -> dict[str, str]:
    """Headers of a browser that reached this server under ``name`` (with the server's port): Host and Origin agree."""
    host = f"{name}:{client.base_url.port}"
    return {"Host": host, "Origin": f"http://{host}"}


REBOUND = [  # what a page on a rebinding site can make its browser send
    ("DELETE", "/models/embedded", {}),
    ("GET", "/metrics", {}),
    ("POST", "/models/rapidocr/load", {}),
    ("GET", "/models", {}),
    ("GET", "/", {"Accept": "text/html"}),  # the Gradio UI
    ("GET", "/gradio_api/info", {}),
    ("POST", "/gradio_api/run/ocr", {"Content-Type": "application/json"}),
    ("GET", "/openapi.json", {}),
    ("GET", "/health", {}),
]


def test_a_rebound_name_is_refused_on_every_route_with_keys_off(open_server):
    client = open_server
    for name in ("evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "testserver"):
        for method, path, extra in REBOUND:
            response = client.request(
                method, path, headers={**as_host(client, name), **extra}, content=b'{"data": []}' if method == "POST" else None
            )
            assert response.status_code == 400, (name, method, path, response.status_code)
            detail = response.json()["detail"]
            assert "server.allowed_hosts" in detail and "CHATVLM_ALLOWED_HOSTS" in detail, detail
    # without the port too, and a name that only ends like an allowed one
    assert client.get("/health", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/health", headers={"Host": "notlocalhost"}).status_code == 400


def test_the_servers_own_names_are_answered_with_any_port(open_server):
    client = open_server
    for host in ("localhost", "LOCALHOST", "localhost.", "127.0.0.1", "[::1]"):
        for port in ("", f":{client.base_url.port}", ":443"):
            response = client.get("/health", headers={"Host": host + port})
            assert response.status_code == 200, (host, port, response.text)
    own = as_host(client, "localhost")
    assert client.get("/", headers={**own, "Accept": "text/html"}).status_code == 200  # the UI from its own name
    # its own pages may still act (same Origin and an allowed Host); other sites' pages still may not
    assert client.post("/models/rapidocr/load", headers=own).status_code == 200
    other = client.post("/models/rapidocr/load", headers={"Host": own["Host"], "Origin": "http://evil.example"})
    assert other.status_code == 403


def test_allowed_hosts_adds_names_and_keys_do_not_open_other_names(named_server):
    client = named_server
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for name in ("ocr.example.com", "a.corp.example", "x.y.corp.example", "localhost"):
        assert client.get("/models", headers={**as_host(client, name), **admin}).status_code == 200, name
    for name in ("corp.example", "evil.example", "ocr.example.com.evil.example", "acorp.example"):
        for method, path, extra in REBOUND:
            response = client.request(method, path, headers={**as_host(client, name), **admin, **extra})
            assert response.status_code == 400, (name, method, path, response.status_code)


def test_the_default_names_follow_the_host_and_the_space(tmp_path):
    """The list a server starts with: loopback names, server.host when it names this machine, a Space's own host;
    CHATVLM_ALLOWED_HOSTS adds names; '*' only when set."""
    config = ROOT / "config.yaml"
    plain = allowed_hosts(load_settings(config, env={}))
    assert plain == ["localhost", "127.0.0.1", "[::1]"]
    everywhere = allowed_hosts(load_settings(config, env={"CHATVLM_HOST": "0.0.0.0"}))
    assert everywhere == plain  # 0.0.0.0 is no name
    named = allowed_hosts(load_settings(config, env={"CHATVLM_HOST": "ocr-box.lan"}))
    assert "ocr-box.lan" in named
    assert "[fd00::5]" in allowed_hosts(load_settings(config, env={"CHATVLM_HOST": "fd00::5"}))
    space = load_settings(config, env={"SPACE_ID": "me/ocr", "SPACE_HOST": "me-ocr.hf.space"})
    assert space.server.host == "0.0.0.0" and "me-ocr.hf.space" in allowed_hosts(space)
    added = load_settings(
        config, env={"CHATVLM_ALLOWED_HOSTS": "a.example, B.example", "SPACE_ID": "me/ocr", "SPACE_HOST": "me-ocr.hf.space"}
    )
    assert {"a.example", "b.example", "me-ocr.hf.space"} <= set(allowed_hosts(added))
    assert "*" not in plain and "*" not in allowed_hosts(added)
