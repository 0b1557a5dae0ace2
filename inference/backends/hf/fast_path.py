"""The transformers backends' fast path: a static KV cache (compiled on CUDA) with bucketed shapes.

Batches are padded to a few batch sizes and prompts to a multiple of a few tokens, so the compiled
graphs see few shapes; the warm-up compiles each batch bucket at load, with the cache sized for a full
page and the OCR answer length. A request that meets a shape the warm-up missed is counted and logged.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from .setup import HfOptions

log = logging.getLogger(__name__)
T = TypeVar("T")

WARM_UP_PAGE = (1240, 1754)  # an A4 page at 150 dpi: the longest prompt a page makes after the pixel budget


def bucket(n: int, sizes: list[int]) -> int:
    """The smallest bucket that holds n (n itself beyond the largest)."""
    return next((size for size in sorted(sizes) if size >= n), n)


def batch_buckets(options: HfOptions) -> list[int]:
    """The batch sizes the fast path runs at: the configured buckets below max_batch_size, and max_batch_size."""
    return sorted({size for size in options.fast_path_batch_sizes if size < options.max_batch_size} | {options.max_batch_size})


def token_bucket(n: int) -> int:
    """New-token counts rounded up to a power of two (at least 16), so the fast path sees few shapes."""
    return max(16, 1 << (n - 1).bit_length())


class FastPath:
    """The shapes compiled so far (rows per batch; longest prompt + new tokens per row, which the static cache
    keeps) and how many requests met a shape the warm-up had not compiled."""

    def __init__(self, options: HfOptions, model_id: str):
        self.options = options
        self.model_id = model_id
        self.warmed = False
        self.warm_batches: set[int] = set()
        self.cache_tokens = 0
        self.cold_requests = 0

    def pad(self, items: list[T]) -> list[T]:
        """The batch padded to its bucket with copies of its last item."""
        return items + [items[-1]] * (bucket(len(items), batch_buckets(self.options)) - len(items))

    def note_shape(self, rows: int, cache_tokens: int) -> None:
        """Remember a generate's shape; say so when the warm-up had not compiled it."""
        cold = rows not in self.warm_batches or cache_tokens > self.cache_tokens
        if cold and self.warmed:
            self.cold_requests += 1
            log.warning(
                "%s fast path: a batch of %d rows needing %d cache tokens per row is a shape the warm-up did "
                "not compile (batches %s, %d tokens); it compiles now. Raise fast_path_warmup_tokens or "
                "lower max_tokens to avoid this.",
                self.model_id,
                rows,
                cache_tokens,
                sorted(self.warm_batches),
                self.cache_tokens,
            )
        self.warm_batches.add(rows)
        self.cache_tokens = max(self.cache_tokens, cache_tokens)
