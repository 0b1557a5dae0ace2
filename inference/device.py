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
    memory, or what the process's cgroup (a container's memory limit) leaves, whichever is less), or None where it
    cannot be told."""
    if device == "cuda":
        if not gpu_info().available:
            return None
        import torch

        return int(torch.cuda.mem_get_info()[0])
    available, cgroup = meminfo("MemAvailable:"), cgroup_memory()
    if cgroup is not None:
        return cgroup[0] - cgroup[1] if available is None else min(available, cgroup[0] - cgroup[1])
    return available


def total_memory(device: str) -> int | None:
    """All the memory ``device`` has for this process: the GPU's, else the host's or its cgroup's limit."""
    if device == "cuda":
        if not gpu_info().available:
            return None
        import torch

        return int(torch.cuda.mem_get_info()[1])
    total, cgroup = meminfo("MemTotal:"), cgroup_memory()
    return total if cgroup is None else cgroup[0] if total is None else min(total, cgroup[0])


def meminfo(field: str, path: str = "/proc/meminfo") -> int | None:
    """A field of /proc/meminfo in bytes (the host's: a container sees its host's memory there)."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),  # v1
)


def cgroup_memory(files: tuple[tuple[str, str], ...] = CGROUP_FILES) -> tuple[int, int] | None:
    """(limit, usage) in bytes of the process's memory cgroup when it has a limit (a container's), else None."""
    for limit_file, usage_file in files:
        try:
            with open(limit_file, encoding="ascii") as limit_text, open(usage_file, encoding="ascii") as usage_text:
                limit, usage = limit_text.read().strip(), usage_text.read().strip()
            if limit != "max" and int(limit) < 1 << 60:  # (v1 writes a huge number for no limit)
                return int(limit), int(usage)
        except (OSError, ValueError):
            continue
    return None
