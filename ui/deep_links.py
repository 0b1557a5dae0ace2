"""Gradio without its deep links' copies of each session.

For every session it holds (10,000, its state holder's capacity; an API client names a new one with each call, and
nothing else forgets them), Gradio keeps a copy of every component's configuration (``SessionState.config_values``,
~240 KB of memory a session), and in it the last value each event's inputs were sent and its outputs returned:
a text input of a refused call (27 MB) stayed there too. It is for one route only, ``/gradio_api/deep_link``,
which wrote the copy to a new file in Gradio's upload folder at each call (no lifetime, no disk check, no rate
limit, and no use here: this app has no ``gr.DeepLinkButton``). Measured (an attack pass): ten calls naming a new
session each, with a 27 MB language, made the server hold 543 MB more, for good, in 2.6 s (300 plain calls 72 MB);
twenty calls and deep links with 1 MB wrote 24 MB of files that outlived the process. So a session keeps no such
copy (:func:`forget_copies`), and the route is a 404 (``api/gradio_calls.py``, ``NOT_OURS``).
"""

from __future__ import annotations

import logging
from typing import Any

from gradio import state_holder

log = logging.getLogger(__name__)


class NoCopies(dict):
    """A session's ``config_values`` that keeps nothing written to it (Gradio reads it only for a deep link)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


def forget_copies() -> None:
    """Sessions made from now on keep no copy of the components' configurations nor of the values events were sent
    and returned (the components and ``gr.State`` values a session needs are kept as before). Idempotent."""
    cls = getattr(state_holder, "SessionState", None)
    init = getattr(cls, "__init__", None)
    if cls is None or getattr(init, "_forgets_copies", False):
        return
    if not hasattr(cls, "_update_value_in_config"):  # (another Gradio: nothing known to patch)
        log.warning("Gradio's SessionState has changed: its sessions' deep-link copies are kept")
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.config_values = NoCopies()  # (the copy made by Gradio's __init__ is let go at once)

    def _update_value_in_config(self: Any, key: int, value: Any) -> None:
        return None

    __init__._forgets_copies = True  # type: ignore[attr-defined]
    cls.__init__ = __init__
    cls._update_value_in_config = _update_value_in_config
