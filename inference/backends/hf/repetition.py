"""Runaway repetition: the most reported failure of OCR vision-language models is an answer that repeats one
line (or one token) until the token limit. Generation stops as soon as the tail of an answer is one block of
tokens repeated, and the answer keeps a single copy of that block.

``repeated_tail`` is the one definition (a pure function on token ids); ``RepetitionStop`` applies it to each row
of a batch at every decoding step, and the backend applies it again to each finished answer to trim it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


class RepetitionOptions(BaseModel):
    """Backend options (mixed into the transformers backends' options)."""

    repetition_min_tokens: int = Field(
        256, ge=0, description="an answer whose last this-many tokens (at least) are one block repeated is cut (0: never)"
    )
    repetition_max_period: int = Field(128, ge=1, description="longest repeated block looked for, in tokens")
    repetition_min_copies: int = Field(3, ge=2, description="copies of a block that make a repetition, at least")


@dataclass(frozen=True)
class Repeat:
    start: int  # where the repeated run begins
    period: int  # tokens in the repeated block

    @property
    def keep(self) -> int:
        """Tokens kept: everything before the run, and one copy of its block."""
        return self.start + self.period


def repeated_tail(ids: Sequence[int], min_tokens: int, max_period: int, min_copies: int = 3) -> Repeat | None:
    """The repeated run that ends ``ids``: a block of at most ``max_period`` tokens repeated over at least
    ``max(min_tokens, min_copies * period)`` tokens; None when there is none (or ``min_tokens`` is 0)."""
    n = len(ids)
    if min_tokens <= 0 or n < 2:
        return None
    last = ids[-1]
    for period in range(1, min(max_period, n - 1) + 1):
        span = max(min_tokens, min_copies * period)
        if span > n:
            break  # span only grows with the period
        if ids[n - 1 - period] != last:  # cheap test before comparing the whole span
            continue
        tail = list(ids[n - span :])
        if tail[period:] == tail[:-period]:
            start = n - span
            while start > 0 and ids[start - 1] == ids[start - 1 + period]:
                start -= 1
            return Repeat(start, period)
    return None


def window(options: RepetitionOptions) -> int:
    """Tokens at the end of an answer that decide whether it ends in a repetition."""
    return max(options.repetition_min_tokens, options.repetition_min_copies * options.repetition_max_period)


def repetition_stop(options: RepetitionOptions, prompt_length: int) -> Any:
    """A transformers stopping criterion that ends each row whose new tokens end in a repetition."""
    import torch
    from transformers import StoppingCriteria

    size = window(options)

    class RepetitionStop(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            new = input_ids.shape[1] - prompt_length
            flags = [False] * input_ids.shape[0]
            if new >= options.repetition_min_tokens:
                rows = input_ids[:, -min(new, size) :].tolist()  # one copy to the host per step
                flags = [
                    repeated_tail(
                        row, options.repetition_min_tokens, options.repetition_max_period, options.repetition_min_copies
                    )
                    is not None
                    for row in rows
                ]
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    return RepetitionStop()
