"""Fetching a URL on a client's behalf without being sent into the server's own networks (SSRF).

A host name is resolved once; every address it resolves to must be public; the connection then goes to one of
those checked addresses (pinned), never to a second resolution of the name, which DNS rebinding could point at
127.0.0.1 in between. The request keeps the name in its ``Host`` header and in TLS (SNI, and the certificate is
verified against the name). A redirect's target is resolved, checked and pinned the same way. IPv6 forms that
carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry.
Proxies from the environment are not used: a proxy would resolve the name again itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from .errors import BadInput, PayloadTooLarge
from .images import shown

Resolver = Callable[[str, int], Sequence[str]]
"""(host, port) -> the addresses the host resolves to, as strings."""

MAX_REDIRECTS = 3
MAX_ADDRESSES_TRIED = 3
REDIRECTS = (301, 302, 303, 307, 308)

IPv4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (and ::, ::1)
IPv4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are the IPv4 address
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): a local network's translator
TEREDO = ipaddress.ip_network("2001::/32")


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (what a plain connection would use)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)))


def _v4_public(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast


def is_public(address: str) -> bool:
    """Whether an address is one the server may connect to on a client's behalf: global unicast, and, for IPv6
    that embeds an IPv4 address, that IPv4 address global too."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_public(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
        return _v4_public(ip.ipv4_mapped)
    if ip in IPv4_COMPATIBLE or ip in IPv4_TRANSLATED or ip in NAT64_LOCAL or ip in TEREDO:
        return False  # deprecated, or only a local network's (a translator, a Teredo relay): never fetched
    if ip in NAT64:
        return _v4_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None and not _v4_public(ip.sixtofour):
        return False
    return ip.is_global and not ip.is_multicast


def checked_addresses(host: str, port: int, resolver: Resolver) -> list[str]:
    """The host's addresses, resolved once, if every one is public; else BadInput (nothing is fetched)."""
    refused = BadInput(
        f"The image URL's host {shown(host)!r} is not a public address; this server does not fetch "
        "from private or local networks."
    )
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError):
        raise refused from None
    if not addresses or not all(is_public(address) for address in addresses):
        raise refused
    return addresses


class Deadline:
    """The end of one exchange with another server, however slowly it answers. httpx's timeouts are per read, so a
    server that sent its answer's head a byte every few seconds held the exchange (a callback's, an image fetch's, and
    the thread that waits for it) for days: 100 KB of head at a byte every 9 s. Within ``with Deadline(s) as
    deadline``, a request sent with ``extensions=deadline.extensions`` has its connection shut ``s`` seconds after
    the block began (the request then fails as a broken connection; ``expired`` says why)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self.extensions: dict[str, Any] = {"trace": self._trace}  # (httpcore's trace: each step of the exchange)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            sock = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # (wakes a read waiting on it: close() alone would not)


class PinnedTransport(httpx.HTTPTransport):
    """Connects to one given address whatever the URL's host; the name stays in ``Host`` and in TLS (SNI and the
    certificate's check)."""

    def __init__(self, address: str):
        super().__init__(trust_env=False)
        self.address = address

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host
        request.extensions = {**request.extensions, "sni_hostname": name}
        request.url = request.url.copy_with(host=self.address)  # the Host header was set from the name already
        return super().handle_request(request)


def fetch(url: str, max_bytes: int, timeout_s: float, resolver: Resolver | None = None) -> bytes:
    """The body of an http(s) URL answered with 200, following at most MAX_REDIRECTS redirects, each hop resolved,
    checked and pinned; BadInput when a host is not public or the fetch fails, PayloadTooLarge over max_bytes.
    The whole fetch takes at most ``timeout_s`` per hop (a server that drips bytes does not hold it longer)."""
    resolver = resolver or system_resolver
    target = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        if target.scheme not in ("http", "https") or not target.host:
            raise BadInput(f"The image URL redirected to {shown(str(target))!r}, which is not an http(s) URL.")
        port = target.port or (443 if target.scheme == "https" else 80)
        addresses = checked_addresses(target.raw_host.decode("ascii"), port, resolver)
        status, body, location = _get_pinned(target, addresses, max_bytes, timeout_s)
        if status == 200:
            return body
        if status in REDIRECTS and location:
            try:
                target = target.join(location)
            except httpx.InvalidURL:
                raise BadInput("The image URL redirected to an invalid URL.") from None
            continue
        raise BadInput(f"Fetching the image URL answered HTTP {status}.")
    raise BadInput(f"The image URL redirected more than {MAX_REDIRECTS} times.")


def _get_pinned(target: httpx.URL, addresses: Sequence[str], max_bytes: int, timeout_s: float) -> tuple[int, bytes, str | None]:
    """(status, body if 200, Location) of one GET sent to the first of the checked addresses that connects."""
    failed = BadInput("The image URL could not be fetched (no answer in time, or the connection failed).")
    for address in addresses[:MAX_ADDRESSES_TRIED]:
        try:
            with (
                Deadline(timeout_s) as deadline,  # (the whole exchange, however its bytes come)
                httpx.Client(
                    transport=PinnedTransport(address), timeout=timeout_s, trust_env=False, follow_redirects=False
                ) as client,
                client.stream("GET", target, extensions=deadline.extensions) as response,
            ):
                if response.status_code != 200:
                    return response.status_code, b"", response.headers.get("location")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise PayloadTooLarge(f"The image at the URL is larger than the {max_bytes / 2**20:.1f} MiB limit.")
                return 200, bytes(data), None
        except httpx.ConnectError:
            continue  # the next checked address (another family, another server of the name)
        except (httpx.HTTPError, httpx.InvalidURL):
            raise failed from None
    raise failed
