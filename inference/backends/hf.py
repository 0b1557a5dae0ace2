"""What the transformers backends share: options, weights lookup, precision, device, memory release."""

from __future__ import annotations

import gc
import importlib.util
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ModelUnavailable
from ..settings import ModelSpec
from .base import Backend, ChatParams

Precision = Literal["auto", "bf16", "fp16", "fp32", "int8", "int4"]
WEIGHT_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken", "*.py"]


class HfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    precision: Precision = Field("auto", description="auto: bf16 on GPUs that support it, else fp16; fp32 on CPU")
    attention: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    device: Literal["auto", "cuda", "cpu"] = Field("auto", description="auto: the GPU when there is one")
    max_pixels: int = Field(1280 * 28 * 28, ge=32 * 32, description="pixel budget per image; larger images are scaled down")
    download: bool = Field(True, description="fetch missing weights from the Hugging Face Hub when loading")


def missing_packages(options: HfOptions) -> str | None:
    """None when the options can run on this host, else what is missing (a clear error, never a silent fallback)."""
    for package, why in (("torch", "PyTorch"), ("transformers", "transformers")):
        if importlib.util.find_spec(package) is None:
            return f"{why} is not installed: pip install -r requirements.txt"
    if options.attention == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        return "attention 'flash_attention_2' needs the flash-attn package: pip install flash-attn (or use sdpa)"
    if options.precision in ("int8", "int4"):
        if importlib.util.find_spec("bitsandbytes") is None:
            return f"precision '{options.precision}' needs bitsandbytes: pip install bitsandbytes"
        from ..device import gpu_info

        if not gpu_info().available:
            return f"precision '{options.precision}' (bitsandbytes) needs a CUDA GPU; this host has none"
    if options.device == "cuda":
        from ..device import gpu_info

        if not gpu_info().available:
            return "device 'cuda' was configured but this host has no CUDA GPU"
    return None


def device_of(options: HfOptions) -> str:
    from ..device import gpu_info

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


def is_local(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or Path(source).expanduser().is_dir()


def fetch_command(model_id: str) -> str:
    return f"python -m inference.download {model_id}"


def weights_path(spec: ModelSpec, download: bool) -> str:
    """The folder holding the model's files: a local folder, or the Hugging Face cache (fetched if allowed)."""
    if not spec.source:
        raise ModelUnavailable(f"Model '{spec.id}' has no 'source' in the config (a Hub repo id or a local folder).")
    if is_local(spec.source):
        folder = Path(spec.source).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelUnavailable(
                f"Weights for model '{spec.id}' were not found: looked in the folder {folder} (no config.json there)."
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
            reason = f"the download failed ({type(exc).__name__}: the Hub is unreachable or the repo is gated)"
    elif constants.HF_HUB_OFFLINE:
        reason = "HF_HUB_OFFLINE is set"
    raise ModelUnavailable(
        f"Weights for model '{spec.id}' ({spec.source}) are not on this server: looked in the Hugging Face cache "
        f"{constants.HF_HUB_CACHE}, and {reason}. Fetch them on a host with internet access with: "
        f"{fetch_command(spec.id)}"
    )


def release(device: str) -> None:
    """Return freed memory to the system: Python objects first, then the CUDA cache."""
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


class HfBackend(Backend):
    """Base of the transformers backends: loading, the one ``generate`` call, unloading."""

    Options = HfOptions
    requires_source = True

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        self._lock = threading.Lock()  # one generate at a time per model

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        return missing_packages(cls.Options.model_validate(spec.options))

    def check_processor(self, processor: Any) -> None:
        """Refuse a processor this backend cannot drive (raise ModelUnavailable)."""

    def load(self) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        path = weights_path(self.spec, self.options.download)
        self.device = device_of(self.options)
        processor = AutoProcessor.from_pretrained(path)
        self.check_processor(processor)
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"  # right padding corrupts batched generation
        model = AutoModelForImageTextToText.from_pretrained(
            path,
            dtype=torch_dtype(self.options, self.device),
            attn_implementation=self.options.attention,
            quantization_config=quantization(self.options),
            device_map=self.device if self.device == "cuda" else None,
        )
        self.model, self.processor = model.eval(), processor

    def unload(self) -> None:
        self.model = self.processor = None
        release(self.device)

    def to_device(self, inputs: Any) -> Any:
        """Inputs on the model's device, floating tensors (pixels) in the model's dtype."""
        return inputs.to(self.model.device, dtype=self.model.dtype)

    def generation_kwargs(self, params: ChatParams) -> dict[str, Any]:
        if params.temperature > 0:
            return {"max_new_tokens": params.max_tokens, "do_sample": True, "temperature": params.temperature}
        return {"max_new_tokens": params.max_tokens, "do_sample": False, "temperature": None, "top_p": None, "top_k": None}

    def generate(self, inputs: Any, params: ChatParams, **extra: Any) -> Any:
        """The one place that calls ``model.generate``; returns only the new tokens of each row."""
        import torch

        if self.model is None:
            raise ModelUnavailable(f"Model '{self.spec.id}' was unloaded while in use.")
        with self._lock, torch.inference_mode():
            output = self.model.generate(**inputs, **self.generation_kwargs(params), **extra)
        return output[:, inputs["input_ids"].shape[1]:]

    def decode(self, tokens: Any) -> list[str]:
        return self.processor.batch_decode(tokens, skip_special_tokens=True)
