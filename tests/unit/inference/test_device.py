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
