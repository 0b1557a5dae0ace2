"""Plain text (an OCR engine's, a PDF text layer's) written as Markdown that shows as that text: escaped where CommonMark
(and GitHub's flavour, which Gradio's Markdown follows) would make structure of it, and numbered lines kept as the list
items they look like only where a renderer shows their own numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .markdown_code import code_block, code_span, fenced, spans

# What makes a line Markdown structure it did not have: a heading's "#", a quote's ">", a bullet's "-" or "+", a line of
# "-" or "=" (the line above it a heading), a code fence's "~~~", a link's definition "[1]: ...", a task's box "[ ]" and
# a table's rule ("--|--", or ":-" under "|a|": GitHub's); inside a line, emphasis ("*", "_" not inside a word, "~"
# struck through), code's "`", a tag's or an autolink's "<", a link's or an image's "[" and "](", an entity's "&"
_STARTS = re.compile(r"#|>|[-+](\s|$)|[-=\s]+$|~{3,}|\[[^\]]*\]:|\[[ xX]\](\s|$)|(?=[\s|:-]+$)(?=[^|:]*[|:])(?=[^-]*-)")
_EMPHASIS = re.compile(r"[*`~]|(?<![^\W_])_|_(?![^\W_])")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_URL = re.compile(r"((?:https?://|www\.)[^\s<>\[\]\\$]+)")  # (not through a bracket, a backslash or a "$": "[https://a/](js:")
_DOLLARS = re.compile(r"\$(?=\$)|(?<=\$)\$")  # "$$": display math in Gradio's Markdown
_ENTITY = re.compile(r"&(?=#?\w+;)")
_NUMBERED = re.compile(r"(\d{1,9})([.)])(?=\s|$)")
_BULLET = re.compile(r"([-*+])\s+")


def inline(text: str) -> str:
    """Text escaped where it would make emphasis, code, a tag, a link or an entity; web addresses left as they are (a
    renderer links them: a backslash in one would show, and go into the link)."""
    parts = _URL.split(text)
    out = []
    for k, part in enumerate(parts):
        if not k % 2:
            part = _inline(part)
            part = part[:-1] + "\\<" if k + 1 < len(parts) and part.endswith("<") else part  # (no autolink: "<http")
        out.append(part)
    return "".join(out)


def _inline(text: str) -> str:
    text = _EMPHASIS.sub(lambda m: "\\" + m[0], text.replace("\\", "\\\\"))
    text = _DOLLARS.sub("\\\\$", _links(_TAG.sub("\\\\<", text)))
    return _FTP.sub(r"\1&#58;", _ENTITY.sub("\\\\&", text))


def _links(text: str) -> str:
    """A link's, an image's or a link definition's brackets escaped: each "](" and every "[" whose next "]" starts a
    link, or is followed by ":" (a definition, in a list item too). In one pass: a lookahead per "[" took time in the
    square of a line of brackets; plain text's backslashes are doubled first, so no backslash undoes an escape."""
    parts = text.split("]")
    out = []
    for k, part in enumerate(parts):
        if k + 1 == len(parts):
            out.append(part)
        elif parts[k + 1].startswith("("):
            out.append(part.replace("[", "\\[") + "\\]")
        elif parts[k + 1].startswith(":"):
            out.append(part.replace("[", "\\[") + "]")
        else:
            out.append(part + "]")
    return "".join(out)


def escape_line(text: str) -> str:
    """A line escaped where it would make structure (a numbered line too: alone, it is no list)."""
    text = inline(text.strip())
    if number := _NUMBERED.match(text):  # (a backslash escapes the mark, not a digit)
        return f"{number[1]}\\{text[number.end(1) :]}"
    return "\\" + text if _STARTS.match(text) else text


def heading_text(text: str) -> str:
    """A heading's text: escaped, its closing "#"s too ("Invoice #" would lose its "#")."""
    text = inline(" ".join(text.split()))
    kept = text.rstrip("#")  # (not a regex: "(#+)$" took time in the square of a run of "#")
    return kept + "\\" + text[len(kept) :] if len(kept) < len(text) else text


class Numbering:
    """The ordered list a page's Markdown has open. CommonMark counts a list's items on from its first number, across
    blank lines, until other text or another block ends it, and a numbered line inside a paragraph starts a list only as
    "1."; so a numbered line is written as a list item where it shows its own number (a list's first line, the next
    number of the list open, "1." after text) and otherwise with its mark escaped ("3\\." after "7.", which would show as
    8; "07.", as 7): it reads as the text it is either way."""

    def __init__(self) -> None:
        self.open: tuple[int, str] | None = None  # the last number and the mark of the list open

    def close(self) -> None:
        """Another block (a heading, a table, a figure) ends the list."""
        self.open = None

    def paragraph(self, lines: Iterable[str]) -> str:
        out = []
        for k, line in enumerate(text.strip() for text in lines):
            number = _NUMBERED.match(line)
            if number is None:
                if k == 0:  # (text after a blank line ends the list)
                    self.open = None
                out.append(escape_line(line))
                continue
            if k == 0:
                out.append(self._restart(number))
            if self.open is None:
                item = k == 0 or number[1] == "1"
            else:  # (after a blank line, another mark starts another list)
                item = int(number[1]) == self.open[0] + 1 if number[2] == self.open[1] else k == 0
            out.append(self._numbered(line, number, item))
        return "\n".join(part for part in out if part)

    def items(self, lines: Iterable[str]) -> str:
        """A list block's lines, each an item: numbered ones kept where they show their numbers, bullets kept, a line
        with no mark given one ("- ")."""
        out = []
        for k, line in enumerate(text.strip() for text in lines):
            number, bullet = _NUMBERED.match(line), _BULLET.match(line)
            if number is not None:
                out.append(self._restart(number) if k == 0 else "")
                first = self.open is None or number[2] != self.open[1]
                out.append(self._numbered(line, number, first or int(number[1]) == self.open[0] + 1))  # type: ignore[index]
            else:
                self.open = None
                out.append(f"{bullet[1]} {escape_line(line[bullet.end() :])}" if bullet else f"- {escape_line(line)}")
        return "\n".join(part for part in out if part)

    def _restart(self, number: re.Match[str]) -> str:
        """Before a block that starts with a numbered line the open list would count on wrongly ("1." after "2."): an
        empty HTML comment, which ends that list, so the block starts its own."""
        if self.open is None or number[2] != self.open[1] or int(number[1]) == self.open[0] + 1:
            return ""
        self.open = None
        return "<!-- -->\n"

    def _numbered(self, line: str, number: re.Match[str], item: bool) -> str:
        digits, mark, rest = number[1], number[2], escape_line(line[number.end() :])
        if item and (digits == "0" or not digits.startswith("0")):
            self.open = (int(digits), mark)
            return f"{digits}{mark} {rest}".rstrip()
        return f"{digits}\\{mark} {rest}".rstrip()


# A model's own Markdown (a page VLM's, a chat answer) is shown as Markdown, but a document can make a model write
# anything: raw HTML is escaped except plain formatting and table tags (a renderer's sanitiser keeps a page-covering
# <div style> or a <form>; not every client renders through one), images are written as text (a remote one would be
# fetched by whoever looks) and links go only to web and mail addresses. A tag is escaped as "&lt;", which reads as "<"
# in text and in HTML blocks: no guess at where a renderer sees HTML can let one through. Code is written as HTML of our
# own (``markdown_code``): in a fence or a code span "&lt;" would show as itself, and a raw "<" is safe only
# where the renderer agrees that it is code; our <pre><code> and <code> are one line each holding nothing but letters,
# digits, spaces and character references (its marks, its line ends), so a renderer that reads the code elsewhere than
# we do (in an HTML block a kept tag opened, in a list item, as a fence's text) shows it differently, never as HTML or
# Markdown. A mermaid fence we do not see (in a quote, a list) is made a plain one: Gradio draws mermaid's diagrams,
# which fetch images and take CSS.
_PLAIN_TAG = re.compile(
    r"</?(?:br|sup|sub|b|i|em|strong|u|s|del|kbd|mark|small|table|thead|tbody|tr)[ \t]*/?>"  # (no line end inside: a
    r"|<(?:th|td)(?:[ \t]+(?:rowspan|colspan)=(?:\"\d{1,4}\"|\d{1,4}))*[ \t]*>|</(?:th|td)[ \t]*>",  # quote's ">" ends it)
    re.IGNORECASE,
)
# A link's destination not to a web or mail address (before it, CommonMark's spaces only: "\x85https://" is a path here)
_TARGET = re.compile(r"\]\((?![ \t]*(?:(?:\r\n?|\n)[ \t]*)?<?(?:https?://|mailto:|#))", re.IGNORECASE)
_FTP = re.compile(r"(ftp):(?=//)", re.IGNORECASE)  # (Gradio's renderer links "ftp://" addresses in text as it does web ones)


def safe_markdown(text: str) -> str:
    """A model's Markdown without raw HTML (plain formatting and table tags kept), images, link definitions or links to
    anything but web and mail addresses (``javascript:``, ``data:``, an entity-encoded scheme): those are text. Fenced
    code and code spans are written as HTML that shows their text as it is ("<div>" in code shows as "<div>")."""
    out = []
    for indent, part in fenced(text):
        if indent is not None:
            out.append(code_block(part, indent))
            continue
        part = _INFO.sub(_info, _MERMAID.sub(r"\1text ", part))  # (before code spans: an info string holds none)
        out += [code_span(piece) if code else _safe_text(piece) for code, piece in spans(part)]
    return "".join(out)


def _safe_text(text: str) -> str:
    plain = {m.start() for m in _PLAIN_TAG.finditer(text)}
    text = "".join("&lt;" if ch == "<" and k not in plain and _TAG.match(text, k) else ch for k, ch in enumerate(text))
    if text.count("$$") % 2:  # (Gradio pairs "$$" across the whole answer: none pairs across our code)
        end = text.rindex("$$")
        text = text[:end] + "&#36;&#36;" + text[end + 2 :]
    return _unlinked(_FTP.sub(r"\1&#58;", text))


def _info(run: re.Match[str]) -> str:
    """A run of fence marks and the rest of its line, that rest's marks a renderer or Gradio could read as
    references (after "~~~" its backticks too: CommonMark reads no code span in an info string)."""
    marks = _INFO_MARKS if run[1][0] == "`" else _TILDE_INFO_MARKS
    return run[1] + marks.sub(lambda c: f"&#{ord(c[0])};", run[2])


# A fence we do not see as one (in a quote) is the renderer's: its info string names no mermaid ("```text mermaid"), and
# holds no "&", "$", "%" or "\" as itself after it (a character reference makes a second class of the info's word,
# "```x&#32;mermaid"; Gradio puts its "$$" math back into the page after Markdown, "```$$ mermaid $$")
_MERMAID = re.compile(r"((?:(?<!`)`{3,}|(?<!~)~{3,})[^\S\r\n]*)(?=mermaid)", re.IGNORECASE)
_INFO = re.compile(r"((?<!`)`{3,}|(?<!~)~{3,})([^\r\n]*)")
_INFO_MARKS = re.compile(r"[&$%\\]")
_TILDE_INFO_MARKS = re.compile(r"[&$%\\`]")


def math_text(text: str) -> str:
    """A model's display math (written between "$$" lines): no "$$" to end it early, no tag ("a<b" as "a< b", which math
    reads alike), no link or image for a renderer that does not know math."""
    text = _TAG.sub("< ", text.replace("$$", " "))
    return _unlinked(text)


def _unlinked(text: str) -> str:
    """A model's Markdown without images, link definitions or links but to web and mail addresses: their brackets written
    as character references ("&#93;(", "&#93;:", "!&#91;"), which show as the brackets but make no structure, whatever
    backslashes come before them (a backslash escape before ours would cancel it: "[a\\](javascript:...)")."""
    return _TARGET.sub("&#93;(", text).replace("]:", "&#93;:").replace("![", "!&#91;")
