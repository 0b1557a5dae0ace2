"""Connections that send nothing, or pile up (an attack pass: 20,000 connections that never finished their headers
took every file descriptor and the server answered no one): a request's headers have ``limits.header_timeout_s``,
one address holds at most ``limits.connections_per_address`` connections at once, and a body must come at
``api.connections.MIN_BODY_RATE`` on average (one sent a byte every 5 s held its connection as long as it liked)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.security.conftest import live


def closed_by_server(sock: socket.socket, within_s: float) -> bool:
    """Whether the server closes ``sock`` within ``within_s`` (it reads b"" then)."""
    sock.settimeout(within_s)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except OSError:  # reset
        return True


def connect(base: str) -> socket.socket:
    host, port = httpx.URL(base).host, httpx.URL(base).port
    return socket.create_connection((host, port), timeout=5)


def test_headers_that_never_end_are_cut_off_and_others_are_served(settings):
    with live(settings, limits={"header_timeout_s": 1.5}) as (client, _):
        base = str(client.base_url)
        silent, dripping, kept = connect(base), connect(base), connect(base)
        dripping.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # answered, then kept alive, then silent
        assert b"200 OK" in kept.recv(4096)
        started = time.monotonic()
        assert closed_by_server(silent, 5) and closed_by_server(dripping, 5)
        assert time.monotonic() - started < 4
        assert client.get("/health").status_code == 200
        for sock in (silent, dripping, kept):
            sock.close()


def test_one_address_holds_a_bounded_number_of_connections(settings):
    with live(settings, limits={"connections_per_address": 4, "header_timeout_s": 30}) as (client, _):
        base = str(client.base_url)
        held = [connect(base) for _ in range(4)]
        time.sleep(0.3)  # (accepted)
        extra = connect(base)
        assert closed_by_server(extra, 3)  # the fifth: closed at once
        assert not closed_by_server(held[0], 0.5)  # the four stay
        for sock in [*held, extra]:
            sock.close()
        time.sleep(0.3)
        with httpx.Client(base_url=base) as fresh:
            assert fresh.get("/health").status_code == 200  # the address is served again


@pytest.mark.slow  # a release check: timing of slow clients (a body trickled for seconds, ~5 s)
def test_a_body_that_trickles_is_cut_off_and_one_that_comes_is_read(settings):
    with live(settings, limits={"header_timeout_s": 1.5}) as (client, _):
        base = str(client.base_url)
        slow = connect(base)
        form = b"multipart/form-data; boundary=b"  # (read whole before any answer: the route waits for it)
        head = b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + form + b"\r\nContent-Length: 100000\r\n\r\n"
        slow.sendall(head + b"--b\r\nContent-Disposition: form-data; name=file; filename=x.png\r\n\r\nx")
        started = time.monotonic()
        while not closed_by_server(slow, 0.5):  # a byte every half second (the attack's was every 5 s)
            assert time.monotonic() - started < 10, "a trickling body was still being taken after 10 s"
            slow.sendall(b"x")
        assert time.monotonic() - started >= 1.4  # (its grace: header_timeout_s)
        # a body that comes at the rate, in pieces over ~3 s, is read and answered
        body = b"--b\r\nContent-Disposition: form-data; name=file; filename=x.png\r\n\r\n" + b"x" * 20000 + b"\r\n--b--\r\n"
        steady = connect(base)
        steady.sendall(
            f"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for k in range(0, len(body), 4000):
            steady.sendall(body[k : k + 4000])
            time.sleep(0.5)
        steady.settimeout(30)
        answer = b"".join(iter(lambda: steady.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 400") and b"not an image" in answer, answer[:300]
        assert client.get("/health").status_code == 200
        for sock in (slow, steady):
            sock.close()


@pytest.mark.slow  # a release check: timing of slow clients (a body trickled for seconds, ~5 s)
def test_a_body_sent_ahead_then_trickled_is_cut_off_once_its_lead_is_spent(settings):
    """Most of a body at once, then a byte every half second: what came ahead counts for BANKED_WINDOWS windows (3 s
    here), not for as long as the average allows (90 KB ahead at 1 KB/s: 90 s)."""
    with live(settings, limits={"header_timeout_s": 1.0}) as (client, _):
        sock = connect(str(client.base_url))
        form = b"multipart/form-data; boundary=b"
        head = b"POST /ocr HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + form + b"\r\nContent-Length: 1000000\r\n\r\n"
        sock.sendall(head + b"--b\r\nContent-Disposition: form-data; name=file; filename=x.png\r\n\r\n" + b"x" * 90_000)
        started = time.monotonic()
        while not closed_by_server(sock, 0.5):
            assert time.monotonic() - started < 15, "a body sent ahead then trickled was still being taken after 15 s"
            sock.sendall(b"x")
        assert time.monotonic() - started >= 2.5  # (its lead, 3 windows' worth, and the grace before)
        assert client.get("/health").status_code == 200
        sock.close()
