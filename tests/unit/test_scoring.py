"""The OCR scoring the bench and the tests read quality by: the edit distance against the table it replaces."""

import random

from bench.scoring import cer, levenshtein


def table(a: str, b: str) -> int:
    """The edit distance, cell by cell (Wagner-Fischer): slow, plainly right."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_known_distances():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == levenshtein("abc", "") == 3 and levenshtein("", "") == 0
    assert levenshtein("Счёт", "Счет") == 1 and levenshtein("flaw", "lawn") == 2
    assert cer("Invoice 42", "Invoice 42") == 0 and cer("Invoice  4\n", "Invoice 42") == 0.1


def test_the_distance_is_the_tables_on_random_strings():
    rng = random.Random(7)
    for _ in range(1000):
        alphabet = rng.choice(["ab", "abc ", "xyzд字", "0123456789abcdefghij"])
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70)))
        assert levenshtein(a, b) == levenshtein(b, a) == table(a, b), (a, b)
