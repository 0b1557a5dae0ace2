"""Connections that send nothing, or pile up: a request's headers must arrive within ``limits.header_timeout_s`` of
the connection (or of the last answer on a kept-alive one), and one client address holds at most
``limits.connections_per_address`` connections at once (``server.trusted_proxies`` excepted: many clients come
through them). uvicorn alone waits for headers for ever: 20,000 connections that never finished theirs took every
file descriptor, and the server answered no one (its accept loop logged 'Too many open files' 579,584 times in 40 s).

A request's body must then come at :data:`MIN_BODY_RATE` on average, measured from its headers (after the same grace
of ``limits.header_timeout_s``, and not while the server itself has stopped reading it): a body sent a byte every 5 s
held its connection, its slot of the address's and a partly spooled upload for as long as the client liked. What a
client sends ahead of the rate counts for :data:`BANKED_WINDOWS` windows at most: sent 49 MB of a 50 MB body at once,
it could otherwise trickle the rest for 13 hours.

This is uvicorn's h11 protocol with those checks, given to uvicorn by ``python app.py`` (and the tests' servers);
``uvicorn app:app`` on its own command line runs without them (put a reverse proxy in front)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from inference.callers import address_name

MIN_BODY_RATE = 1024  # bytes a second, on average, of a request's body (a phone's slowest upload sends ten times that)
BANKED_WINDOWS = 3  # ...bytes sent ahead of it count for this many windows of header_timeout_s at most (30 s by default)


def trusted_addresses(proxies: Sequence[str]) -> Callable[[str], bool]:
    """Whether an address is one of ``proxies`` (addresses, networks, or '*')."""
    if any(p.strip() == "*" for p in proxies):
        return lambda address: True
    networks = [ipaddress.ip_network(p.strip(), strict=False) for p in proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    return trusted


def guarded_protocol(header_timeout_s: float, per_address: int, trusted: Callable[[str], bool]) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request's headers and a cap on an address's connections."""
    open_from: Counter[str] = Counter()  # (the event loop's thread only)

    class GuardedH11Protocol(H11Protocol):
        _counted: str | None = None
        _timer: asyncio.TimerHandle | None = None
        _armed: Any = None
        _body_of: Any = None  # the request whose body is coming, since when, and how many bytes of it came
        _body_since = 0.0  # (the last look at it)
        _body_bytes = 0  # (since then)
        _body_ahead = 0.0  # bytes sent ahead of the rate, up to BANKED_WINDOWS' worth
        _body_timer: asyncio.TimerHandle | None = None

        def data_received(self, data: bytes) -> None:
            if self._body_of is not None and self._body_of is self.cycle:
                self._body_bytes += len(data)
            super().data_received(data)
            cycle = self.cycle
            if cycle is not None and cycle is not self._body_of and cycle.more_body and not self.transport.is_closing():
                self._body_of, self._body_since, self._body_bytes = cycle, self.loop.time(), len(data)  # (its first bytes
                # may have come with the headers)
                self._body_ahead = 0.0
                self._watch_body()

        def _watch_body(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
            self._body_timer = self.loop.call_later(header_timeout_s, self._body_late)

        def _body_late(self) -> None:
            """Closed when the body came slower than MIN_BODY_RATE since its headers, what came ahead of it counted for
            BANKED_WINDOWS windows at most (not while the server has stopped reading it: nothing is owed for that window)."""
            self._body_timer = None
            cycle = self._body_of
            if cycle is None or cycle is not self.cycle or not cycle.more_body or self.transport.is_closing():
                self._body_of = None
                return
            now = self.loop.time()
            ahead = self._body_ahead + self._body_bytes - MIN_BODY_RATE * (now - self._body_since)
            if self.flow.read_paused:
                ahead = max(ahead, 0.0)
            elif ahead < 0:
                self._body_of = None
                self.transport.close()
                return
            self._body_since, self._body_bytes = now, 0
            self._body_ahead = min(ahead, MIN_BODY_RATE * BANKED_WINDOWS * header_timeout_s)
            self._watch_body()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else None
            if address is not None and not trusted(address):
                address = address_name(address)
                if open_from[address] >= per_address:
                    transport.close()  # (its connection_lost removes it from the server's connections)
                    return
                open_from[address] += 1
                self._counted = address
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._armed = self.cycle
            self._timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _headers_late(self) -> None:
            """No request began since the timer was set (nothing sent, or headers still coming): closed."""
            self._timer = None
            idle = self.cycle is self._armed and (self.cycle is None or self.cycle.response_complete)
            if idle and not self.transport.is_closing():
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request's headers have the same time

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a request that breaks HTTP (a chunk size that is no number in its body), which closes
            the connection: the request's route, started at the headers, is told its client has gone (its own answer
            is dropped). Else it answered too, raised in h11 (the connection was done), and the log got two tracebacks
            (~12 KB) a request."""
            super().send_400_response(msg)
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()

        def handle_websocket_upgrade(self, event: Any) -> None:
            self._release()  # a WebSocket is another protocol's from now on
            super().handle_websocket_upgrade(event)

        def connection_lost(self, exc: Exception | None) -> None:
            self._release()
            super().connection_lost(exc)

        def _release(self) -> None:
            self._disarm()
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None
            self._body_of = None
            if self._counted is not None:
                open_from[self._counted] -= 1
                if open_from[self._counted] <= 0:
                    del open_from[self._counted]
                self._counted = None

    return GuardedH11Protocol
