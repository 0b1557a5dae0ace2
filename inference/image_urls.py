"""Images given as URLs (OpenAI's ``image_url`` parts, MCP tool arguments): ``data:`` URLs always; ``http(s)``
URLs only when ``limits.image_urls`` allows it, since fetching one is a request the server makes on the client's
behalf: never to a private, loopback or link-local address (resolved once and pinned: :mod:`.pinned_fetch`), at most
``max_file_bytes``, within a short timeout."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlparse

import httpx

from .errors import BadInput, PayloadTooLarge
from .images import shown
from .pinned_fetch import Resolver, checked_addresses, fetch, system_resolver
from .settings import LimitSettings

FETCH_TIMEOUT_S = 10.0


def read(url: str, limits: LimitSettings, resolver: Resolver | None = None) -> bytes:
    """The bytes of an image URL, or BadInput / PayloadTooLarge saying what is wrong with it. ``resolver`` answers
    the addresses of an http(s) URL's host (default: the system's; see :mod:`.pinned_fetch`)."""
    url = (url or "").strip()
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:  # (an unpaired surrogate from JSON's escapes: no URL, and httpx would raise on it)
        raise BadInput("The image URL is not valid text (it holds an unpaired surrogate).") from None
    if url.startswith("data:"):
        return _data_url(url, limits)
    scheme = urlparse(url).scheme.lower()
    if scheme in ("http", "https"):
        if not limits.image_urls:
            raise BadInput(
                "Image URLs are not fetched by this server (limits.image_urls is off); send the image "
                "inline as a data: URL (data:image/png;base64,...)."
            )
        return _fetch(url, limits, resolver)
    raise BadInput(
        f"{shown(url)!r} is not an image URL: send a data:image/...;base64,... URL"
        + (" or an http(s) URL." if limits.image_urls else ".")
    )


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


def public_address(host: str, resolver: Resolver | None = None) -> bool:
    """Whether every address the host name resolves to is a public one (not private, loopback, link-local,
    multicast or reserved, nor an IPv6 form of such an IPv4 address)."""
    try:
        checked_addresses(host, 0, resolver or system_resolver)
    except BadInput:
        return False
    return True


def _fetch(url: str, limits: LimitSettings, resolver: Resolver | None) -> bytes:
    try:
        return fetch(url, limits.max_file_bytes, FETCH_TIMEOUT_S, resolver)
    except httpx.InvalidURL:
        raise BadInput(f"{shown(url)!r} is not a valid URL.") from None
