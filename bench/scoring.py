"""OCR scoring, by the conventions of the shared data README: whitespace collapsed, CER on reading order."""

from __future__ import annotations

import re
from collections import Counter

from inference.text_distance import levenshtein

__all__ = ["cer", "levenshtein", "normalise", "word_f1"]


def normalise(text: str, casefold: bool = False) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text.casefold() if casefold else text


def cer(hypothesis: str, reference: str, casefold: bool = False) -> float:
    reference, hypothesis = normalise(reference, casefold), normalise(hypothesis, casefold)
    return levenshtein(hypothesis, reference) / max(1, len(reference))


def word_f1(hypothesis: str, reference: str, casefold: bool = False) -> float:
    """Order-free: F1 of the bags of words."""
    hyp, ref = Counter(normalise(hypothesis, casefold).split()), Counter(normalise(reference, casefold).split())
    common = sum((hyp & ref).values())
    if not hyp or not ref or not common:
        return 0.0
    precision, recall = common / sum(hyp.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)
