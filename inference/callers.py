"""Who is asking, as the edges name a caller (an API key's fingerprint, or ``address <ip>`` when keys are off) for
the rate limit and for owning what they sent. Kernel: REST and UI both read it, neither imports the other."""

from __future__ import annotations

from contextvars import ContextVar

# Who is uploading, while Gradio's upload route runs: REST's gatekeeper sets it, ui/files.py keeps each upload for
# the caller that sent it.
UPLOADER: ContextVar[str | None] = ContextVar("chatvlm_uploader", default=None)

# Whose work this thread (or task) is doing: the service sets it when it charges a request to its caller, and the PDF
# readers' pool serves callers in turns by it (inference/pdf_sandbox.py). None: the server's own work (jobs' pages).
CALLER: ContextVar[str | None] = ContextVar("chatvlm_caller", default=None)
