"""The words Tesseract reads (``Word``), and whether a word is in a Tesseract language's dictionary, read from its
traineddata file (tesserocr wraps no call that asks it: Tesseract's own IsValidWord is not exposed).

A traineddata file is a table of components (an entry count, then each component's offset, -1 for none) followed by
the components. The LSTM recogniser's word list is its ``lstm-word-dawg``: Tesseract's SquishedDawg (a 16-bit magic
42, the unicharset's size, the edge count, then 64-bit edges: from the lowest bit, a letter (an index into
``lstm-unicharset``, in as many bits as that size needs), three flags (the node's last edge, a backward edge, a word's
end) and the next node, 0 for none). A node is a run of forward edges; the root is node 0. A word is looked up by
walking the edges (a few microseconds; the file's edges are kept as they are, ~3.7 MB for English).
"""

from __future__ import annotations

import logging
import struct
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

WORD_DAWG, UNICHARSET = 19, 21  # the components' places in the table (Tesseract's TessdataType)
DAWG_MAGIC = 42
LAST, BACKWARD, WORD_END = 1, 2, 4


@dataclass
class Word:
    """A word Tesseract read: its text, confidence (0-1), box (x1, y1, x2, y2) in the image it read, and whether
    it is a word of the language's dictionary (numbers and made-up words are not)."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    in_dictionary: bool = False


class Dictionary:
    """One language's word list (empty when its file has none or cannot be read: every word is then unknown)."""

    def __init__(self, traineddata: Path):
        self._ids: dict[str, int] = {}
        self._edges = array("Q")
        self._letter_bits = 0
        try:
            self._load(traineddata.read_bytes())
        except (OSError, ValueError, struct.error, UnicodeDecodeError) as error:
            logger.warning("Tesseract's word list in %s could not be read (%s): words are checked without it", traineddata, error)
            self._ids, self._edges = {}, array("Q")

    def _load(self, data: bytes) -> None:
        (count,) = struct.unpack_from("<I", data, 0)
        offsets = struct.unpack_from(f"<{count}q", data, 4)
        if count <= UNICHARSET or offsets[WORD_DAWG] < 0 or offsets[UNICHARSET] < 0:
            return  # (no LSTM dictionary: a legacy-only or dictionary-less traineddata)

        def component(index: int) -> bytes:
            later = [offset for offset in offsets[index + 1 :] if offset >= 0]
            return data[offsets[index] : later[0] if later else len(data)]

        lines = component(UNICHARSET).decode("utf-8").split("\n")
        chars = [line.split(" ", 1)[0] for line in lines[1 : int(lines[0]) + 1]]
        self._ids = {char: i for i, char in enumerate(chars) if char != "NULL"}
        dawg = component(WORD_DAWG)
        magic, size, edges = struct.unpack_from("<hII", dawg, 0)
        if magic != DAWG_MAGIC or len(dawg) < 10 + 8 * edges:
            raise ValueError("not a word DAWG")
        self._letter_bits = size.bit_length()
        self._edges = array("Q", dawg[10 : 10 + 8 * edges])
        if array("Q", b"\x01" + b"\x00" * 7)[0] != 1:  # (the file is little-endian)
            self._edges.byteswap()

    def __contains__(self, word: str) -> bool:
        edges, bits = self._edges, self._letter_bits
        mask, node, end = (1 << bits) - 1, 0, False
        for i, char in enumerate(word):
            letter = self._ids.get(char)
            if letter is None or (i and not node):
                return False
            edge = node
            while edge < len(edges):
                record = edges[edge]
                flags = (record >> bits) & 7
                if flags & BACKWARD:
                    return False
                if record & mask == letter:
                    break
                if flags & LAST:
                    return False
                edge += 1
            else:
                return False
            node, end = record >> (bits + 3), bool(flags & WORD_END)
        return end and bool(word)

    def __bool__(self) -> bool:
        return len(self._edges) > 0


_LOADED: dict[Path, Dictionary] = {}
_LOCK = threading.Lock()


def dictionary(tessdata: Path, lang: str) -> Dictionary:
    """``lang``'s dictionary (read once per process)."""
    path = tessdata / f"{lang}.traineddata"
    with _LOCK:
        if path not in _LOADED:
            _LOADED[path] = Dictionary(path)
        return _LOADED[path]


class Words:
    """The words of several languages' dictionaries (a word is in it when one of them has it)."""

    def __init__(self, dictionaries: list[Dictionary]):
        self.dictionaries = dictionaries

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and any(word in dictionary for dictionary in self.dictionaries)
