"""Who a sentence is for. What the kernel says a model needs (a note in /models, why a request cannot run) carries the
operator's how-to: a command to run on the server, or what to change in config.yaml. Only an administrator can act on
it; with API keys on, a user key is told what an administrator can do instead (:func:`for_role`). With keys off the
caller is the administrator (the gatekeeper gives every caller the admin role): the sentence stays whole.

The kernel writes a how-to in one of three ways, which this module reads:

- ``an administrator can <do what>: <how>`` — the how runs to the end of its clause (``;``, a sentence's ``.``, or
  the end); a user reads ``an administrator can <do what>``;
- ``<what is missing>: <command>`` — a user reads ``<what is missing> (an administrator can fetch them)`` for
  ``python -m inference.download``, ``(an administrator can install it)`` for ``pip install`` / ``apt-get install``;
- ``(<command>)`` after what it installs — the same, in its parentheses.
"""

from __future__ import annotations

import re

ADMIN = "admin"

_CLAUSE_END = r"(?=;|\.(?:\s|$)|$)"  # a clause ends at ';', at a sentence's '.' (not a dot inside a name), or the end
_NOT_AN_END = r"(?:[^:;.]|\.(?!\s|$))"  # a character of a clause before its how-to
_COMMAND = r"(?:python -m inference\.download |pip install |apt-get install )"

_ADMINISTRATOR_CAN = re.compile(rf"(\b[Aa]n administrator can {_NOT_AN_END}*?): .*?{_CLAUSE_END}")
_COMMAND_AFTER_COLON = re.compile(rf": ({_COMMAND}).*?{_CLAUSE_END}")
_COMMAND_IN_PARENTHESES = re.compile(rf" \(({_COMMAND})[^)]*\)")


def _instead(match: re.Match[str]) -> str:
    fetch = match.group(1).startswith("python -m inference.download")
    return " (an administrator can fetch them)" if fetch else " (an administrator can install it)"


def for_users(text: str) -> str:
    """``text`` as a caller without the admin role reads it: each of the operator's how-tos (see the module doc)
    becomes what an administrator can do."""
    text = _ADMINISTRATOR_CAN.sub(r"\1", text)
    text = _COMMAND_IN_PARENTHESES.sub(_instead, text)
    return _COMMAND_AFTER_COLON.sub(_instead, text)


def is_operator(role: str | None) -> bool:
    """Whether a caller of ``role`` runs the server: an administrator (every caller when API keys are off), or no role
    known (the UI served without the gatekeeper, on the operator's own machine)."""
    return role in (None, ADMIN)


def for_role(text: str | None, role: str | None) -> str | None:
    """``text`` for a caller of ``role``: whole for the operator (:func:`is_operator`), else :func:`for_users`."""
    if text is None or is_operator(role):
        return text
    return for_users(text)
