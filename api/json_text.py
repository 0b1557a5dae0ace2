"""How much text a JSON body holds besides its images, counted as it streams in (``api.body_limit``).

``/v1/chat/completions`` takes up to ``limits.max_images`` images as base64 ``data:`` URLs in its JSON, so its body
may be ~200 MiB; but its text is bounded far below that (a conversation of 8 x ``limits.max_prompt_chars``). A body of
200 MB of prompt text was read and parsed whole before the conversation's check refused it: 790 MB a request, 6.3 GB
for 12 at once. :class:`JsonText` counts the bytes of every JSON string but the ``data:`` URLs given as an ``"url"``
(as OpenAI's ``image_url`` parts give them), in C-speed scans: a ``find`` for the end of a string (a regular
expression's match where it holds escapes), one ``find`` between strings. The strings are as many as the body's
quotes allow (counted apart)."""

from __future__ import annotations

import re

# a string's inside up to its closing quote (or the window's end, or a backslash the window cuts from what it escapes)
_INSIDE = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.S)
WINDOW = 64 * 1024  # bytes matched at once (what the expression keeps per escape stays bounded)
HEAD = 16  # a string's first bytes kept: enough to know a key ("url") and a data: URL (after a few spaces)
ESCAPED_CHAR = 12  # bytes of JSON a character may take (\uXXXX, twice for one past U+FFFF: an emoji)
MAX_STRINGS = 100_000  # strings in a chat body (each costs the count a little Python): 256 messages of many parts
NOT_UTF8 = (b"\x00", b"\xfe\xff", b"\xff\xfe")  # json.loads reads UTF-16 and -32 too, whose quotes are other bytes


def text_allowance(max_prompt_chars: int) -> int:
    """The string bytes a chat body may hold besides its data: URLs: a whole conversation's text (8 prompts) at its
    most escaped, and room for keys, roles, names and stop strings."""
    return 8 * max_prompt_chars * ESCAPED_CHAR + 256 * 1024


class JsonText:
    """Feed a JSON body's chunks in order; :attr:`text` is the bytes of its strings so far, data: URLs aside."""

    def __init__(self) -> None:
        self.text = 0
        self._inside = False  # within a string
        self._escaped = False  # the next byte is escaped (the last chunk ended on a backslash)
        self._head = b""  # the open string's first bytes
        self._length = 0  # the open string's length so far
        self._image = False  # the open string may be an image's data: URL (it is the value of "url")
        self._key = b""  # the last string closed, when it is short (a key when a ':' follows it)
        self._between = b""  # what came after it, up to 9 bytes (a key's value: ':' and spaces alone)
        self._first = b""  # the body's first 4 bytes

    @property
    def utf8(self) -> bool:
        """Whether the body is UTF-8 as far as its first bytes show (UTF-16 or -32 otherwise, which JSON allows no more)."""
        return not any(mark in self._first[: 2 if mark != b"\x00" else 4] for mark in NOT_UTF8)

    def _data_url(self) -> bool:
        return self._image and self._head.lstrip().startswith(b"data:")

    def feed(self, chunk: bytes) -> None:
        if len(self._first) < 4:
            self._first += chunk[: 4 - len(self._first)]
        for start in range(0, len(chunk), WINDOW):
            self._window(chunk, start, min(len(chunk), start + WINDOW))

    def _window(self, chunk: bytes, pos: int, end: int) -> None:
        while pos < end:
            if not self._inside:
                quote = chunk.find(b'"', pos, end)
                if len(self._between) < 9:
                    self._between += chunk[pos : min(pos + 9, end if quote < 0 else quote)]
                if quote < 0:
                    return
                self._image = self._key == b"url" and self._between.strip() == b":"
                self._inside, self._head, self._length, self._between, pos = True, b"", 0, b"", quote + 1
                continue
            start = pos
            if self._escaped:
                self._escaped, pos = False, pos + 1
            quote = chunk.find(b'"', pos, end)
            if chunk.find(b"\\", pos, end if quote < 0 else quote) < 0:  # (no escape before its end: memchr's speed)
                pos = end if quote < 0 else quote
            else:
                pos = _INSIDE.match(chunk, pos, end).end()
            if len(self._head) < HEAD:
                self._head += chunk[start : min(pos, start + HEAD - len(self._head))]
            self._length += pos - start
            if not self._data_url():
                self.text += pos - start  # (a data: URL's first bytes, before they show it is one: counted, a few)
            if pos == end:
                return
            if chunk[pos] == ord("\\"):  # (the window ends after it: it escapes the next window's first byte)
                self._escaped, pos = True, pos + 1
                self._length += 1
                self.text += 0 if self._data_url() else 1
                continue
            self._key = self._head if self._length <= HEAD else b""  # the closing quote
            self._inside, pos = False, pos + 1
