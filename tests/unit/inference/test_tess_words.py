"""Tesseract's word lists read from its traineddata files (tess_words), checked against Tesseract's own reader."""

import random
import shutil
import struct
import subprocess

import pytest

from inference.backends.ocr.tess_words import Dictionary, dictionary
from inference.backends.ocr.tesseract import find_tessdata
from tests.helpers import HAS_TESSERACT


def english_data():
    tessdata = find_tessdata("auto")
    if not HAS_TESSERACT or tessdata is None or not (tessdata / "eng.traineddata").is_file():
        pytest.skip("Tesseract's English data is not installed (.ci/run installs tesseract-ocr-eng)")
    return tessdata


def test_the_words_are_those_tesseract_itself_reads_from_the_file(tmp_path):
    tessdata = english_data()
    if not (shutil.which("combine_tessdata") and shutil.which("dawg2wordlist")):
        pytest.skip("Tesseract's training tools are not installed (tesseract-ocr ships them)")
    parts = [tmp_path / "eng.lstm-word-dawg", tmp_path / "eng.lstm-unicharset"]
    extract = ["combine_tessdata", "-e", str(tessdata / "eng.traineddata"), *map(str, parts)]
    subprocess.run(extract, check=True, capture_output=True)
    listed = tmp_path / "words.txt"
    subprocess.run(["dawg2wordlist", str(parts[1]), str(parts[0]), str(listed)], check=True, capture_output=True)
    words = listed.read_text(encoding="utf-8").split("\n")[:-1]
    english = dictionary(tessdata, "eng")
    assert len(words) > 100_000 and all(word in english for word in words)
    known, rng = set(words), random.Random(7)
    changed = {word[:-1] for word in words[::50]} | {word + rng.choice("qxz") for word in words[::50]}
    assert all((word in english) == (word in known) for word in changed)  # (prefixes and longer words: no more)
    assert {"once", "more", "Tobacco"} <= known and not {"mapta", "Homep", "SoftBank"} & known
    assert "mapta" not in english and "Homep" not in english and "" not in english


def test_a_file_without_a_word_list_or_a_broken_one_knows_no_word(tmp_path):
    table = tmp_path / "none.traineddata"
    table.write_bytes(struct.pack("<I", 24) + struct.pack("<24q", *([-1] * 24)))
    broken = tmp_path / "broken.traineddata"
    broken.write_bytes(struct.pack("<I", 24) + b"\x00" * 10)
    for path in (table, broken, tmp_path / "missing.traineddata"):
        words = Dictionary(path)
        assert not words and "the" not in words
