"""A /v1/chat/completions body may be ~200 MiB (up to limits.max_images images as base64 data: URLs), but the text in
it is bounded far below that (a conversation of 8 x limits.max_prompt_chars). A body of 200 MB of prompt text was read
and parsed whole before the conversation's check refused it (an attack pass: 790 MB a request, 6.3 GB for 12 at
once). Its JSON strings other than the images' data: URLs are counted as the body comes in (api/json_text.py) and it
is refused (413) as soon as they pass what a conversation can hold. Images still come as large as before."""

from __future__ import annotations

import base64
import contextlib
import json

from api.json_text import JsonText
from tests.polling import wait_until
from tests.security.test_body_limit import MiB, answered, connect, status_of

TEXT = b"of text besides its images' data: URLs"


def chunked(client, body_head: bytes, filler: bytes, size: int, body_tail: bytes) -> tuple[int, bytes | None]:
    """Send a chunked JSON body: head, ``size`` bytes of ``filler`` a chunk at a time, tail; stop when the server
    answers. (bytes sent, the answer)."""
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{client.base_url.port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sent, response = 0, None
    with connect(client) as sock:
        sock.sendall(head + f"{len(body_head):x}\r\n".encode() + body_head + b"\r\n")
        chunk = filler * (256 * 1024 // len(filler))
        while sent < size and response is None:
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:  # the server answered and closed while we were still sending
                break
            sent += len(chunk)
            response = answered(sock)
        if response is None:
            with contextlib.suppress(OSError):  # (answered and closed meanwhile)
                sock.sendall(f"{len(body_tail):x}\r\n".encode() + body_tail + b"\r\n0\r\n\r\n")
        response = response or answered(sock, wait=30)
    return sent, response


def test_prompt_text_past_what_a_conversation_holds_is_refused_as_it_comes_in(open_server):
    for name, head in (
        ("a message's content", b'{"model": "x", "messages": [{"role": "user", "content": "'),
        ("a text part", b'{"model": "x", "messages": [{"role": "user", "content": [{"type": "text", "text": "'),
        ("a text part that says data:", b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "data:'),
        ("an unknown field", b'{"model": "x", "messages": [], "note": "'),
    ):
        sent, response = chunked(open_server, head, b"all work and no play ", 60 * MiB, b'"}]}]}')
        assert response is not None and status_of(response) == 413 and TEXT in response, (name, response and response[:300])
        assert sent < 4 * MiB, f"{name}: {sent:,} bytes read before the answer"
    assert open_server.get("/health").status_code == 200


def test_text_made_to_look_like_something_else_is_still_text(open_server):
    """A second attack pass: UTF-16 (json.loads reads it; its quote bytes are other bytes: 200 MB counted as 1 KB), a
    value "data:" after a key "url" that had another value, and many tiny strings (each costs the count a little)."""
    text = {"model": "x", "messages": [{"role": "user", "content": "all work and no play " * 100_000}]}
    body = json.dumps(text).encode("utf-16")
    response = open_server.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "must be UTF-8" in response.text, response.text[:300]
    body = b'{"url": 0, "data:' + b"all work and no play " * 100_000 + b'": 1}'
    response = open_server.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and TEXT in response.content, response.text[:300]
    body = b'{"messages": [], "x": [' + b'"a":' * 300_000 + b'"a"]}'
    response = open_server.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "more than 100,000 strings" in response.text, response.text[:300]


def test_a_long_conversation_as_clients_write_it_is_not_refused(open_server, settings):
    """8 prompts of limits.max_prompt_chars (what a conversation may hold) of emoji, escaped as Python's json writes them
    (12 bytes each), and an image's data: URL after a space: past the edge, to the route."""
    chars = settings.limits.max_prompt_chars
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "\U0001f600" * chars} for i in range(8)]
    messages[-1]["content"] = [{"type": "text", "text": "\U0001f600" * chars}, "IMAGE"]
    body = json.dumps({"model": "x", "messages": messages}).encode()
    assert len(body) > 8 * chars * 12
    picture = b" data:image/png;base64," + base64.b64encode(b"\0" * 2 * MiB)
    body = body.replace(b'"IMAGE"', b'{"type": "image_url", "image_url": {"url": "' + picture + b'"}}')
    response = open_server.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code != 413 and TEXT not in response.content, response.text[:300]


def test_an_images_data_url_is_not_text(open_server):
    picture = b"data:image/png;base64," + base64.b64encode(b"\0" * 6 * MiB)  # 8 MB of base64 (not a real image)
    body = json.dumps(
        {"model": "x", "messages": [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, "IMAGE"]}]}
    ).encode()
    body = body.replace(b'"IMAGE"', b'{"type": "image_url", "image_url": {"url": "' + picture + b'"}}')
    response = open_server.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code != 413 and TEXT not in response.content, response.text[:300]  # (read by the route)


def test_the_count_follows_json_strings_through_escapes_and_chunk_ends():
    body = json.dumps(
        {
            "model": 'm"x\\',
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:AAAA\\/BB"}}]}],
            "url": "data:,any url's value that says data: is taken for an image's (as costly as one, at most)",
            "x": ["url", 0, "data:after a value"],
            "u\\rl": "data:",
        }
    ).encode()
    strings = ["model", 'm\\"x\\\\', "messages", "role", "user", "content", "type", "image_url", "image_url", "url"]
    strings += ["url", "x", "url", "data:after a value", "u\\\\rl", "data:"]
    for size in (1, 2, 3, 5, 64, len(body)):
        counted = JsonText()
        for start in range(0, len(body), size):
            counted.feed(body[start : start + size])
        # every string but the data: URLs of "url" (their first bytes may count while they come alone: 4 each at most)
        assert sum(len(s) for s in strings) <= counted.text <= sum(len(s) for s in strings) + 8, size


def test_a_client_sends_two_bodies_of_many_images_at_once_not_more(open_server):
    """Parsed, a body of many images takes ~4 times its size (12 of 200 MB at once took 7.4 GB): past 32 MiB, a client's
    third body at once is refused (429), and its place comes back when one of the others ends."""

    def large_body(sock) -> bytes | None:
        """Headers and 33 MiB of a 40 MiB body of an image; the answer, if one comes before the rest (a refusal)."""
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{open_server.base_url.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {40 * MiB}\r\n\r\n"
        ).encode()
        body = b'{"model": "x", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "'
        with contextlib.suppress(OSError):  # (refused: the server answers and closes while the body still comes)
            sock.sendall(head + body + b"data:image/png;base64," + b"A" * (33 * MiB))
        return answered(sock, wait=1.5)

    held = [connect(open_server), connect(open_server)]
    try:
        assert [large_body(sock) for sock in held] == [None, None]
        with connect(open_server) as third:
            response = large_body(third)
        assert response is not None and status_of(response) == 429 and b"At most 2 requests over 32 MiB" in response
        held.pop().close()  # one ends: its place comes back
        assert wait_until(lambda: large_body(fresh := connect(open_server)) is None and held.append(fresh) is None, 30, 0.5)
    finally:
        for sock in held:
            sock.close()
    assert open_server.get("/health").status_code == 200
