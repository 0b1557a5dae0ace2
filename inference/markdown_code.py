"""Code in a model's Markdown, found as a CommonMark renderer finds it (near enough: where we differ, our output is inert)
and written as HTML of ours (see ``markdown_text``'s note on a model's Markdown): fenced blocks, in list items too, and
code spans."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

# A fence's line: its indentation, then three or more backticks (none in the info after them) or tildes; its closing line
_FENCE = re.compile(r"([ \t]*)(`{3,}(?=[^`\r\n]*(?:\r\n?|\n)?\Z)|~{3,})")
_CLOSING = re.compile(r"([ \t]*)(`{3,}|~{3,})[ \t]*(?:\r\n?|\n)?\Z")
# A list item's mark (its number), the space after it, and what follows; a thematic break ("* * *") is none
_ITEM = re.compile(r"([ \t]*)(?:[-+*]|(\d{1,9})[.)])([ \t]+|(?=[\r\n]|\Z))(\S?)")
_BREAK = re.compile(r"[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*(?:\r\n?|\n)?\Z")
_TICKS = re.compile(r"`+")
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")  # (CommonMark's line ends only: not str.splitlines' \x0c, \u2028...)
_MARKS = frozenset(string.punctuation)


def fenced(text: str) -> Iterator[tuple[str | None, str]]:
    """The text in pieces: (None, Markdown) and (the fence's indentation, a fenced code block's text): a fence opens
    indented less than 4 columns (tabs at 4) past the list item it is in (a model's steps hold their code: ``Items``),
    and runs to a line of its own mark at least as long as its opening, or to the end. Line by line, in proportion."""
    plain: list[str] = []
    fence: tuple[str, int, str, int] | None = None  # (its mark, its length, its indentation, in columns)
    body: list[str] = []
    items = Items()
    for line in lines(text):
        if fence is None:
            opening = _FENCE.match(line)
            if opening is None or not items.holds_fence(_columns(opening[1])):
                plain.append(line)
                items.after(line)
                continue
            yield None, "".join(plain)
            plain, body, fence = [], [], (opening[2][0], len(opening[2]), opening[1], _columns(opening[1]))
            items.text = False  # (a fence ends a paragraph: the line after it continues none)
            continue
        mark, length, indent, columns = fence
        closing = _CLOSING.match(line)
        if closing and _columns(closing[1]) <= items.column + 3 and closing[2][0] == mark and len(closing[2]) >= length:
            yield indent, "".join(body)
            fence = None
        else:
            body.append(_dedented(line, columns))
    if fence is not None:
        yield fence[2], "".join(body)
    yield None, "".join(plain)


class Items:
    """The list items open at a line, by the column their text starts at (innermost last), as CommonMark keeps them:
    a line indented less than an item's text ends it, but for a paragraph's lazy continuation; a blank line ends none."""

    def __init__(self) -> None:
        self.open: list[int] = []
        self.text = False  # (the last line was a paragraph's: the next may continue it lazily)

    @property
    def column(self) -> int:
        return self.open[-1] if self.open else 0

    def holds_fence(self, indent: int) -> bool:
        """Whether a fence indented so opens in the items open (leaving those it is indented less than)."""
        self._close(indent)
        return indent <= self.column + 3

    def after(self, line: str) -> None:
        if not line.strip(" \t\r\n"):
            self.text = False
            return
        mark = _ITEM.match(line)
        indent = _columns(line[: len(line) - len(line.lstrip(" \t"))])
        interrupts = self.text and not self.open  # (a list starts inside a paragraph only with "1." or a bullet and text)
        if mark and not _BREAK.match(line) and not (interrupts and (mark[2] not in (None, "1") or not mark[4])):
            self._close(indent)
            gap = _columns(mark[0][: mark.start(3)] + mark[3]) - _columns(mark[0][: mark.start(3)])
            self.open.append(_columns(mark[0][: mark.start(3)]) + (1 if gap > 4 or not mark[4] else gap))
            self.text = bool(mark[4])
            return
        if not self.text:
            self._close(indent)
        self.text = True

    def _close(self, indent: int) -> None:
        while self.open and indent < self.open[-1]:
            self.open.pop()


def _columns(space: str) -> int:
    return len(space.expandtabs(4))


def _dedented(line: str, columns: int) -> str:
    """The line without up to ``columns`` columns of its indentation (a fence's code is indented as its fence is)."""
    indent = len(line) - len(line.lstrip(" \t"))
    spaces = line[:indent].expandtabs(4)
    return spaces[min(columns, len(spaces)) :] + line[indent:]


def spans(text: str) -> Iterator[tuple[bool, str]]:
    """The text in pieces: (False, Markdown) and (True, a code span's text). A span opens at a run of backticks (not after
    a backslash) and closes at the next run as long on its line (CommonMark's spans may run over lines; a model's rarely
    do, and a line of a block could cut one). In one pass: a search per run for its closer took time in the square."""
    done = 0
    for line_start, line in line_starts(text):
        runs = [(m.start() + line_start, m.end() + line_start) for m in _TICKS.finditer(line)]
        closer: list[int | None] = [None] * len(runs)
        last: dict[int, int] = {}
        for k in range(len(runs) - 1, -1, -1):
            length = runs[k][1] - runs[k][0]
            closer[k], last[length] = last.get(length), k
        row = line.lstrip().startswith("|")  # (a table's: its "\|" is its "|")
        k = 0
        while k < len(runs):
            end = closer[k]
            if end is None or (runs[k][0] > 0 and text[runs[k][0] - 1] == "\\"):
                k += 1
                continue
            code = text[runs[k][1] : runs[end][0]]
            yield False, text[done : runs[k][0]]
            yield True, code.replace("\\|", "|") if row else code
            done, k = runs[end][1], end + 1
    yield False, text[done:]


def lines(text: str) -> Iterator[str]:
    return (m[0] for m in _LINE.finditer(text))


def line_starts(text: str) -> Iterator[tuple[int, str]]:
    return ((m.start(), m[0]) for m in _LINE.finditer(text))


def code_block(code: str, indent: str) -> str:
    """A fenced block as one line of HTML of ours (an HTML block of CommonMark's first kind where a renderer starts one):
    every mark and line end of the code a character reference."""
    rows = [line.rstrip("\r\n") for line in lines(code)]
    return f"{indent}<pre><code>{'&#10;'.join(map(referenced, rows))}</code></pre>\n"


def code_span(code: str) -> str:
    """A code span as an inline <code> of ours: the text inside it is Markdown to a renderer, so every mark in it is a
    character reference (no emphasis, link, tag, math or table cell can start there); one space each side is dropped
    as CommonMark drops it."""
    if len(code) > 1 and code.startswith(" ") and code.endswith(" ") and code.strip():
        code = code[1:-1]
    return f"<code>{referenced(code)}</code>"


def referenced(text: str) -> str:
    """The text with every ASCII mark a character reference (what Markdown or HTML could make structure of)."""
    return "".join(f"&#{ord(ch)};" if ch in _MARKS else ch for ch in text)
