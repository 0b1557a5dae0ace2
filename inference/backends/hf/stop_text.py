"""Stop sequences (an OpenAI request's ``stop``) matched on the decoded tail of each row, step by step.

transformers' own ``stop_strings`` walk the tokenizer's whole vocabulary for each new set of stops and keep an int32
table of vocabulary x (4 x 100 character) positions in a module-wide cache of eight: with Qwen's 151,643 tokens a
request of four random 100-character stops cost ~2 CPU-s and ~300 MB held (2.2 GB after eight such requests), and the
table was copied to the GPU at each step. Here each step decodes the last few tokens of each row (enough for the
longest stop) and looks for the stops in that text: microseconds, nothing kept. The answer is cut before its first stop
sequence in ``decode.rows``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

SLACK = 4  # tokens decoded besides one per UTF-8 byte of the longest stop (a byte-level token holds at least one)


def stop_text(stop: Sequence[str], decode: Callable[[Any], list[str]], prompt_length: int) -> Any:
    """A transformers stopping criterion that ends each row whose new tokens' text holds one of ``stop``
    (``decode``: token ids to text, as the answer is decoded)."""
    import torch
    from transformers import StoppingCriteria

    stops = [s for s in stop if s]
    reach = max((len(s.encode("utf-8")) for s in stops), default=0) + SLACK  # ("丂" is 3 tokens of Qwen's)

    class StopText(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            new = input_ids.shape[1] - prompt_length
            tails = decode(input_ids[:, -min(new, reach) :]) if new > 0 and stops else []
            flags = [any(s in tail for s in stops) for tail in tails] or [False] * input_ids.shape[0]
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    return StopText()
