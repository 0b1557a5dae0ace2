"""What accelerator this host has. torch is optional: without it there is no GPU to use."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInfo:
    available: bool
    name: str | None = None
    count: int = 0


@functools.lru_cache(maxsize=1)
def gpu_info() -> GpuInfo:
    if importlib.util.find_spec("torch") is None:
        return GpuInfo(available=False)
    try:
        import torch

        if not torch.cuda.is_available():
            return GpuInfo(available=False)
        return GpuInfo(available=True, name=torch.cuda.get_device_name(0), count=torch.cuda.device_count())
    except Exception:  # a broken CUDA install must not take the server down
        return GpuInfo(available=False)


def memory_in_use() -> dict[str, float] | None:
    """GPU memory allocated and reserved by this process, in GiB; None without a GPU."""
    if not gpu_info().available:
        return None
    import torch

    gib = 1024**3
    return {
        "allocated_gib": round(torch.cuda.memory_allocated() / gib, 3),
        "reserved_gib": round(torch.cuda.memory_reserved() / gib, 3),
    }
