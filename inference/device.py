"""What accelerator this host has. torch is optional: without it there is no GPU to use."""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInfo:
    available: bool
    name: str | None = None
    count: int = 0


def no_gpu_driver() -> bool:
    """True when this Linux host surely has no GPU torch could use: no NVIDIA driver library to load (CUDA's runtime
    loads the same ``libcuda.so.1``) and no ROCm device. Asking torch costs seconds of importing it (most of a CPU
    server's start), so a CPU host answers here; anywhere else, or with a driver, torch is asked."""
    if not sys.platform.startswith("linux") or os.path.exists("/dev/kfd"):
        return False
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return True
    return False


@functools.lru_cache(maxsize=1)
def gpu_info() -> GpuInfo:
    if importlib.util.find_spec("torch") is None or no_gpu_driver():
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


def free_memory(device: str) -> int | None:
    """Bytes free for a new model on ``device`` ("cuda": the first GPU's free memory; "cpu": the host's available
    memory, from /proc/meminfo), or None where it cannot be told."""
    if device == "cuda":
        if not gpu_info().available:
            return None
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
