"""Images given as URLs (OpenAI's ``image_url`` parts, MCP tool arguments): ``data:`` URLs always; ``http(s)``
URLs only when ``limits.image_urls`` allows it, since fetching one is a request the server makes on the client's
behalf: never to a private, loopback or link-local address, at most ``max_file_bytes``, within a short timeout."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from urllib.parse import urlparse

from .errors import BadInput, PayloadTooLarge
from .images import shown
from .settings import LimitSettings

FETCH_TIMEOUT_S = 10.0


def read(url: str, limits: LimitSettings) -> bytes:
    """The bytes of an image URL, or BadInput / PayloadTooLarge saying what is wrong with it."""
    url = (url or "").strip()
    if url.startswith("data:"):
        return _data_url(url, limits)
    scheme = urlparse(url).scheme.lower()
    if scheme in ("http", "https"):
        if not limits.image_urls:
            raise BadInput("Image URLs are not fetched by this server (limits.image_urls is off); send the image "
                           "inline as a data: URL (data:image/png;base64,...).")
        return _fetch(url, limits)
    raise BadInput(f"{shown(url)!r} is not an image URL: send a data:image/...;base64,... URL"
                   + (" or an http(s) URL." if limits.image_urls else "."))


def _data_url(url: str, limits: LimitSettings) -> bytes:
    header, comma, payload = url.partition(",")
    if not comma or ";base64" not in header:
        raise BadInput("A data: image URL must be base64: data:image/png;base64,<data>.")
    if len(payload) > limits.max_file_bytes * 4 // 3 + 8:
        raise PayloadTooLarge(f"An inline image is larger than the {limits.max_file_bytes / 2**20:.1f} MiB limit.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("An inline image's base64 data is not valid base64.") from None


def public_address(host: str) -> bool:
    """Whether every address the host name resolves to is a public one (not private, loopback, link-local,
    multicast or reserved)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return False
    return bool(addresses)


def _fetch(url: str, limits: LimitSettings) -> bytes:
    import httpx

    host = urlparse(url).hostname or ""
    if not public_address(host):
        raise BadInput(f"The image URL's host {shown(host)!r} is not a public address; this server does not fetch "
                       "from private or local networks.")
    try:
        # no redirects: a public URL may not send the server on to a private one
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=False) as response:
            if response.status_code != 200:
                raise BadInput(f"Fetching the image URL answered HTTP {response.status_code}.")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > limits.max_file_bytes:
                    raise PayloadTooLarge(f"The image at the URL is larger than the "
                                          f"{limits.max_file_bytes / 2**20:.1f} MiB limit.")
            return bytes(data)
    except httpx.HTTPError:
        raise BadInput("The image URL could not be fetched (no answer in time, or the connection failed).") from None
