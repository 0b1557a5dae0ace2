"""Who is asking, as the edges name a caller (an API key's fingerprint, or ``address <ip>`` when keys are off) for
the rate limit and for owning what they sent. Kernel: REST and UI both read it, neither imports the other."""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar

# Who is uploading, while Gradio's upload route runs: REST's gatekeeper sets it, ui/files.py keeps each upload for
# the caller that sent it.
UPLOADER: ContextVar[str | None] = ContextVar("chatvlm_uploader", default=None)

# Whose work this thread (or task) is doing: the service sets it when it charges a request to its caller, and the PDF
# readers' pool serves callers in turns by it (inference/pdf_sandbox.py). None: the server's own work (jobs' pages).
CALLER: ContextVar[str | None] = ContextVar("chatvlm_caller", default=None)


def address_caller(address: str) -> str:
    """The caller a client address is when no key names it (keys off, the UI served alone)."""
    return f"address {address_name(address)}"


def address_name(address: str) -> str:
    """A client address as the budgets count it (rate limits, wrong keys, connections, what it owns): an IPv6 address by
    its /64, the network one subscriber is given (its hosts pick their own addresses in it: counted one by one, a
    client had a new budget per request); the host's own addresses (127.0.0.0/8, ::1) as one; an IPv4 address, or one
    mapped into IPv6, as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # (a link-local address's zone: fe80::1%eth0)
    except ValueError:
        return address
    if ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback):
        return "127.0.0.1"  # (the host itself: any process on it may send from any of 127.0.0.0/8, one caller for each)
    if ip.version == 4:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))
