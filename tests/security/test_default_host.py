"""Point 10, safe defaults: ``python app.py`` as the README runs it listens on 127.0.0.1 only; every interface needs
saying so (``--host``, ``CHATVLM_HOST``, ``GRADIO_SERVER_NAME``; Docker, compose and a Space do), and listening
beyond this machine without API keys logs one warning line that says so. The session's live server is the README's
way (tests/conftest.py README_WAY); one more cold start of ``python app.py`` asks for every interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import load_settings
from tests.conftest import EMBEDDED_DEFAULT, README_WAY, ROOT, start_server, stop_server

WARNING = "with no API keys"


def listening(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on at this port (from /proc/net/tcp: no psutil needed)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, state = fields[1], fields[3]
        ip_hex, port_hex = address.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(ip_hex))))
    return found


@pytest.fixture(scope="module")
def every_interface(tmp_path_factory) -> tuple[set[str], str]:
    """``python app.py --host 0.0.0.0`` (over a GRADIO_SERVER_NAME that says otherwise): where it listens, and its log
    once it answers."""
    log = tmp_path_factory.mktemp("cold") / "server.log"
    process, base = start_server(
        {**EMBEDDED_DEFAULT, **README_WAY, "GRADIO_SERVER_NAME": "127.0.0.1"}, log, args=("--host", "0.0.0.0")
    )
    try:
        return listening(int(base.rsplit(":", 1)[1])), log.read_text(errors="replace")
    finally:
        stop_server(process)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_the_readme_way_listens_on_this_machine_only(live_server, live_server_log):
    addresses, log = listening(int(live_server.rsplit(":", 1)[1])), live_server_log.read_text(errors="replace")
    assert addresses == {"127.0.0.1"}, log[-2000:]
    assert "open http://127.0.0.1:" in log and WARNING not in log


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_every_interface_when_asked_and_a_warning_without_keys(every_interface):
    addresses, log = every_interface
    assert addresses == {"0.0.0.0"}, log[-2000:]
    warnings = [line for line in log.splitlines() if WARNING in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "0.0.0.0" in warnings[0], log[-2000:]
    assert "CHATVLM_API_KEYS" in warnings[0]


def test_the_host_comes_from_the_command_line_the_environment_or_a_space():
    """What ``python app.py`` reads before ``--host`` (which overrides all): CHATVLM_HOST, then GRADIO_SERVER_NAME,
    then 0.0.0.0 on a Space, then config.yaml (127.0.0.1)."""
    config = ROOT / "config.yaml"
    assert load_settings(config, env={}).server.host == "127.0.0.1"
    assert load_settings(config, env={"GRADIO_SERVER_NAME": "0.0.0.0"}).server.host == "0.0.0.0"
    both = {"CHATVLM_HOST": "127.0.0.1", "GRADIO_SERVER_NAME": "0.0.0.0"}
    assert load_settings(config, env=both).server.host == "127.0.0.1"
    assert load_settings(config, env={"SPACE_ID": "me/ocr"}).server.host == "0.0.0.0"
    from inference.settings import ServerSettings

    assert ServerSettings().host == "127.0.0.1"  # a config file without server.host


def test_docker_and_compose_listen_on_every_interface_explicitly():
    assert "CHATVLM_HOST=0.0.0.0" in (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    assert compose.count("CHATVLM_HOST: 0.0.0.0") == 2  # the single-GPU service and the scale profile's front
