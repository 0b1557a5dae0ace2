"""What the transformers backends need before a model runs: options, missing packages, device, precision,
and where the weights are (a local folder or the Hugging Face cache, fetched when allowed)."""

from __future__ import annotations

import gc
import importlib.util
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ...errors import ModelUnavailable
from ...settings import ModelSpec
from ..prompts import OcrSampling
from .repetition import RepetitionOptions

Precision = Literal["auto", "bf16", "fp16", "fp32", "int8", "int4"]
log = logging.getLogger(__name__)
WEIGHT_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken", "*.py"]


class HfOptions(RepetitionOptions, OcrSampling):
    model_config = ConfigDict(extra="forbid")

    precision: Precision = Field("auto", description="auto: bf16 on GPUs that support it, else fp16; fp32 on CPU")
    attention: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    device: Literal["auto", "cuda", "cpu"] = Field("auto", description="auto: the GPU when there is one")
    max_pixels: int = Field(1280 * 28 * 28, ge=32 * 32, description="pixel budget per image; larger images are scaled down")
    max_images: int = Field(4, ge=1, description="images one chat request may carry (all of its messages together)")
    download: bool = Field(True, description="fetch missing weights from the Hugging Face Hub when loading")
    ocr_max_tokens: int = Field(2048, ge=1, description="new tokens at most for one OCR answer")
    max_batch_size: int = Field(8, ge=1, description="concurrent requests gathered into one generate call")
    batch_wait_ms: float = Field(5.0, ge=0, description="how long a request waits for others to join its batch")
    fast_path: bool = Field(False, description="static KV cache (compiled on CUDA), bucketed shapes, warmed up at load")
    fast_path_batch_sizes: list[int] = Field(
        [1, 2, 4, 8], description="batch-size buckets of the fast path (max_batch_size is always one)"
    )
    fast_path_prompt_multiple: int = Field(64, ge=1, description="prompts are padded to a multiple of this (fast path)")
    fast_path_warmup_tokens: int | None = Field(
        None,
        ge=1,
        description="new tokens the warm-up sizes the static cache for (default: ocr_max_tokens); "
        "a request that needs a longer cache compiles once more, with a warning",
    )


def missing_packages(options: HfOptions) -> str | None:
    """None when the options can run on this host, else what is missing (a clear error, never a silent fallback)."""
    from ...device import gpu_info

    for package in ("torch", "transformers"):
        if importlib.util.find_spec(package) is None:
            return (
                "it needs the vision-language extras (PyTorch and transformers), which this install (requirements-cpu.txt) "
                "leaves out; an administrator can add them: on a CPU, PyTorch's CPU build then the rest of "
                "requirements.txt (the README's CPU path)"
            )
    if options.attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        return "attention 'flash_attention_2' needs the flash-attn package: pip install flash-attn (or use sdpa)"
    if options.precision in ("int8", "int4"):
        if importlib.util.find_spec("bitsandbytes") is None:
            return f"precision '{options.precision}' needs bitsandbytes: pip install bitsandbytes"
        if not gpu_info().available:
            return f"precision '{options.precision}' (bitsandbytes) needs a CUDA GPU; this host has none"
    if options.device == "cuda" and not gpu_info().available:
        return "device 'cuda' was configured but this host has no CUDA GPU"
    return None


def device_of(options: HfOptions) -> str:
    from ...device import gpu_info

    if options.device == "auto":
        return "cuda" if gpu_info().available else "cpu"
    return options.device


def torch_dtype(options: HfOptions, device: str) -> Any:
    import torch

    if options.precision == "auto":
        if device == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}.get(options.precision, torch.bfloat16)


def quantization(options: HfOptions) -> Any:
    if options.precision not in ("int8", "int4"):
        return None
    import torch
    from transformers import BitsAndBytesConfig

    if options.precision == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)


def release(device: str) -> None:
    """Return freed accelerator memory: on CUDA, Python objects first, then the CUDA cache. On the CPU there is
    no cache to empty: the manager collects the garbage after an unload (not at a shutdown: the process ends)."""
    if device == "cuda":
        import torch

        gc.collect()
        torch.cuda.empty_cache()


def is_local(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or Path(source).expanduser().is_dir()


def fetch_command(model_id: str) -> str:
    return f"python -m inference.download {model_id}"


def weights_present(spec: ModelSpec) -> bool:
    """Whether the model's weights are on this host already (a cheap look, nothing is fetched)."""
    if not spec.source:
        return False
    if is_local(spec.source):
        return (Path(spec.source).expanduser() / "config.json").is_file()
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec.source, "config.json"), str)


def weights_path(spec: ModelSpec, download: bool) -> str:
    """The folder holding the model's files: a local folder, or the Hugging Face cache (fetched if allowed).
    Where the server looked goes to the log only (``log_detail``): paths are never shown to clients."""
    if not spec.source:
        raise ModelUnavailable(f"Model '{spec.id}' has no 'source' in the config (a Hub repo id or a local folder).")
    if is_local(spec.source):
        folder = Path(spec.source).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelUnavailable(
                f"Weights for model '{spec.id}' were not found: its folder (the model's 'source' in the server's "
                "config) holds no config.json.",
                log_detail=f"looked in the folder {folder}",
            )
        return str(folder)

    from huggingface_hub import constants, snapshot_download

    try:
        return snapshot_download(spec.source, allow_patterns=WEIGHT_FILES, local_files_only=True)
    except Exception:
        pass
    reason = "downloads are off for this model"
    if download and not constants.HF_HUB_OFFLINE:
        try:
            return snapshot_download(spec.source, allow_patterns=WEIGHT_FILES)
        except Exception as exc:
            log.warning("downloading %s failed: %s", spec.source, exc)
            reason = "the download failed (the Hub is unreachable, or the repo is gated or private)"
    elif constants.HF_HUB_OFFLINE:
        reason = "HF_HUB_OFFLINE is set"
    raise ModelUnavailable(
        f"Weights for model '{spec.id}' ({spec.source}) are not in this server's Hugging Face cache, and {reason}. "
        f"An administrator can fetch them on a host with internet access: {fetch_command(spec.id)}",
        log_detail=f"looked in the Hugging Face cache {constants.HF_HUB_CACHE}",
    )
