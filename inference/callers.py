"""Who is asking, as the edges name a caller (an API key's fingerprint, or ``address <ip>`` when keys are off) for
the rate limit and for owning what they sent. Kernel: REST and UI both read it, neither imports the other."""

from __future__ import annotations

from contextvars import ContextVar

# Who is uploading, while Gradio's upload route runs: REST's gatekeeper sets it, ui/files.py keeps each upload for
# the caller that sent it.
UPLOADER: ContextVar[str | None] = ContextVar("chatvlm_uploader", default=None)
