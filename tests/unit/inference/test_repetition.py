"""Runaway repetition (a pure detector) and the clean-ups that take a model's wrapping off an OCR answer."""

import pytest

from inference.backends.hf.repetition import repeated_tail
from inference.backends.prompts import clean


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([5, 6] + [1, 2] * 20, (2, 2)),  # a two-token block: the run starts after the prefix
        ([5, 6] + [7] * 10, (2, 1)),  # one token repeated, just long enough
        ([5, 6] + [7] * 9, None),  # one token short of min_tokens
        (list(range(50)), None),  # no repetition
        ([9] + [1, 2, 3, 4] * 2, None),  # two copies are not a loop
        ([], None),
    ],
)
def test_repeated_tail(ids, expected):
    found = repeated_tail(ids, min_tokens=10, max_period=8, min_copies=3)
    assert (found and (found.start, found.period)) == (expected and expected)
    if found:
        kept = ids[: found.keep]
        assert kept == ids[: found.start] + ids[found.start : found.start + found.period]  # one copy kept


def test_a_block_longer_than_max_period_is_not_looked_for():
    block = list(range(10))
    assert repeated_tail(block * 5, min_tokens=10, max_period=8) is None
    assert repeated_tail(block * 5, min_tokens=10, max_period=10).period == 10
    assert repeated_tail([7] * 100, min_tokens=0, max_period=8) is None  # 0 turns it off


@pytest.mark.parametrize(
    ("steps", "answer", "text"),
    [
        (["fence"], "```markdown\n# Title\nline\n```", "# Title\nline"),
        (["markers", "fence"], "```\nA<|im_end|>\n```", "A"),
        (["front_matter"], "---\nprimary_language: en\nis_rotation_valid: True\nrotation_correction: 0\n---\nHello\n", "Hello"),
        (["front_matter"], "--- not front matter\nHello", "--- not front matter\nHello"),
        (
            ["doctags"],
            "<doctag><section_header_level_1><loc_1><loc_2>Title</section_header_level_1>"
            "<text><loc_3>Hello world</text></doctag>",
            "Title\nHello world",
        ),
    ],
)
def test_answer_clean_ups(steps, answer, text):
    assert clean(answer, steps) == text
