"""The tiny models, built once per version of their builder (tests/tiny_models/) and of the libraries that make
them, and kept in the temporary folder (``chatvlm-tiny-models-<key>``, 6 MB) for the test runs to copy."""

from __future__ import annotations

import fcntl
import hashlib
import io
import shutil
import tempfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def locked(path: str):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def tiny_models_key() -> str:
    """What the tiny models are made of: the builder's source and the versions of the libraries that make them."""
    made_of = hashlib.sha256()
    for part in sorted((ROOT / "tests" / "tiny_models").glob("*.py")):  # every module of the builder, by name
        made_of.update(part.name.encode() + b"\0" + part.read_bytes())
    for package in ("torch", "transformers", "tokenizers", "safetensors"):
        made_of.update(f"{package}=={version(package)}".encode())
    return made_of.hexdigest()[:16]


def built_tiny_models() -> Path:
    """The folder of the tiny models for :func:`tiny_models_key`, built now if no run built it before."""
    cache = Path(tempfile.gettempdir()) / f"chatvlm-tiny-models-{tiny_models_key()}"
    with locked(f"{cache}.lock"):
        if not Path(f"{cache}.built").is_file():
            import torch

            from tests.tiny_models import build_all

            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()
            printed = io.StringIO()  # transformers' progress bars: shown only if the build fails
            try:
                with torch.random.fork_rng(devices=[]), redirect_stdout(printed), redirect_stderr(printed):
                    build_all(cache)  # the builder's seeds stay its own
            except Exception as exc:
                raise RuntimeError(f"building the tiny models failed:\n{printed.getvalue()[-3000:]}") from exc
            Path(f"{cache}.built").touch()
    return cache
