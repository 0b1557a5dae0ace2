"""The host's accelerator, learned without paying for torch where there can be none."""

from __future__ import annotations

import subprocess
import sys

from inference.device import no_gpu_driver
from tests.conftest import ROOT

ASK = "import sys; from inference.device import gpu_info; print(gpu_info().available, 'torch' in sys.modules)"


def test_the_answer_is_torchs_and_a_host_without_a_driver_never_imports_torch():
    import torch

    asked = subprocess.run([sys.executable, "-c", ASK], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert asked.returncode == 0, asked.stderr[-2000:]
    available, imported = asked.stdout.split()
    assert available == str(torch.cuda.is_available())  # the same answer as torch's
    if no_gpu_driver():  # a CPU host (this one in CI): told in milliseconds, torch's seconds of imports not spent
        assert (available, imported) == ("False", "False"), asked.stdout
    else:
        assert imported == "True"  # a driver is there: torch is asked


def test_a_containers_memory_limit_is_what_the_room_for_models_sees(tmp_path):
    from inference.device import cgroup_memory, free_memory, meminfo, total_memory

    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    limit.write_text("17179869184\n")  # a container limited to 16 GB (its host's /proc/meminfo shows the host's)
    usage.write_text("4294967296\n")
    assert cgroup_memory(((str(limit), str(usage)),)) == (16 * 2**30, 4 * 2**30)
    limit.write_text("max\n")  # no limit (v2)
    assert cgroup_memory(((str(limit), str(usage)),)) is None
    limit.write_text(str(2**63 - 4096))  # no limit (v1 writes a huge number)
    assert cgroup_memory(((str(limit), str(usage)),)) is None
    assert cgroup_memory(((str(tmp_path / "absent"), str(usage)),)) is None
    fake = tmp_path / "meminfo"
    fake.write_text("MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n")
    assert meminfo("MemAvailable:", str(fake)) == 20000000 * 1024 and meminfo("Nope:", str(fake)) is None
    free, total = free_memory("cpu"), total_memory("cpu")  # this host's: some, and no more than it has
    assert free is not None and total is not None and 0 < free <= total
