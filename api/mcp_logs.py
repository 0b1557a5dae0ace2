"""What the MCP SDK logs about a client's message: one line of at most :data:`LONGEST` characters.

The SDK behind Gradio's MCP server (``/gradio_api/mcp/``, and its SSE transport) logs what a client sent, whole: the
~7 KB of validation errors of a JSON-RPC request it cannot validate (on the root logger), and, copied as they came, a
tool name it does not know, a notification it cannot validate, a response to no request of its own and a session id
that is no UUID; a message that is no JSON-RPC on an SSE session, with its traceback. The endpoint reads up to 4 MiB,
and as much went to the log for each request (an attack pass). :func:`bound` puts :class:`OneBoundedLine` on the SDK's
loggers (and on the root logger, for the SDK's records there): the first line of each of their records, cut to
:data:`LONGEST` characters; a validation error (the client's message, no fault of the server's) without its traceback.
The SDK's other tracebacks (its own faults) stay."""

from __future__ import annotations

import logging
import os

from pydantic import ValidationError

LONGEST = 300
# the SDK's modules that log what a client sent (a filter on a logger sees only that logger's own records)
MCP_LOGGERS = (
    "mcp.server.lowlevel.server",
    "mcp.server.sse",
    "mcp.server.streamable_http",
    "mcp.server.streamable_http_manager",
    "mcp.shared.session",
)
_MCP_CODE = f"{os.sep}mcp{os.sep}"  # (the SDK's files: .../site-packages/mcp/...)


class OneBoundedLine(logging.Filter):
    """The MCP SDK's records as one line of at most LONGEST characters (see the module doc); others as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.name.startswith("mcp.") or _MCP_CODE in (record.pathname or "")):
            return True
        message = record.getMessage()
        if record.exc_info and isinstance(record.exc_info[1], ValidationError):
            why = str(record.exc_info[1]).partition("\n")[0]  # ("1 validation error for JSONRPCMessage")
            message, record.exc_info, record.exc_text = f"{message}: {why}", None, None
        line = message.partition("\n")[0]
        if len(line) > LONGEST or len(line) < len(message):
            line = f"{line[:LONGEST]}... ({len(message)} characters)"
        record.msg, record.args = line, None
        return True


def bound() -> None:
    """Put the filter on the MCP SDK's loggers and on the root logger, once (each app built in this process calls it)."""
    for logger in (logging.getLogger(), *(logging.getLogger(name) for name in MCP_LOGGERS)):
        if not any(isinstance(existing, OneBoundedLine) for existing in logger.filters):
            logger.addFilter(OneBoundedLine())
