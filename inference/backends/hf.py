"""What the transformers backends share: options, weights lookup, precision, device, memory release."""

from __future__ import annotations

import gc
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..batching import Batcher
from ..errors import ModelUnavailable
from ..settings import ModelSpec
from .base import Backend, ChatMessage, ChatParams

Precision = Literal["auto", "bf16", "fp16", "fp32", "int8", "int4"]
WEIGHT_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken", "*.py"]
WARM_UP_PAGE = (1240, 1754)  # an A4 page at 150 dpi: the longest prompt a page makes after the pixel budget

log = logging.getLogger(__name__)


class HfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    precision: Precision = Field("auto", description="auto: bf16 on GPUs that support it, else fp16; fp32 on CPU")
    attention: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    device: Literal["auto", "cuda", "cpu"] = Field("auto", description="auto: the GPU when there is one")
    max_pixels: int = Field(1280 * 28 * 28, ge=32 * 32, description="pixel budget per image; larger images are scaled down")
    download: bool = Field(True, description="fetch missing weights from the Hugging Face Hub when loading")
    ocr_max_tokens: int = Field(2048, ge=1, description="new tokens at most for one OCR answer")
    max_batch_size: int = Field(8, ge=1, description="concurrent requests gathered into one generate call")
    batch_wait_ms: float = Field(5.0, ge=0, description="how long a request waits for others to join its batch")
    fast_path: bool = Field(False, description="static KV cache (compiled on CUDA), bucketed shapes, warmed up at load")
    fast_path_batch_sizes: list[int] = Field(
        [1, 2, 4, 8], description="batch-size buckets of the fast path (max_batch_size is always one)")
    fast_path_prompt_multiple: int = Field(64, ge=1, description="prompts are padded to a multiple of this (fast path)")
    fast_path_warmup_tokens: int | None = Field(
        None, ge=1, description="new tokens the warm-up sizes the static cache for (default: ocr_max_tokens); "
        "a request that needs a longer cache compiles once more, with a warning")


def missing_packages(options: HfOptions) -> str | None:
    """None when the options can run on this host, else what is missing (a clear error, never a silent fallback)."""
    from ..device import gpu_info

    for package, why in (("torch", "PyTorch"), ("transformers", "transformers")):
        if importlib.util.find_spec(package) is None:
            return f"{why} is not installed: pip install -r requirements.txt"
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


@dataclass
class GenRequest:
    image: Any  # PIL image
    messages: list[ChatMessage]
    params: ChatParams


def sampling_key(request: GenRequest) -> tuple[bool, float]:
    """Requests batched together share their sampling settings (greedy with greedy)."""
    return request.params.temperature > 0, request.params.temperature


def bucket(n: int, sizes: list[int]) -> int:
    """The smallest bucket that holds n (n itself beyond the largest)."""
    return next((size for size in sorted(sizes) if size >= n), n)


def batch_buckets(options: HfOptions) -> list[int]:
    """The batch sizes the fast path runs at: the configured buckets below max_batch_size, and max_batch_size."""
    return sorted({size for size in options.fast_path_batch_sizes if size < options.max_batch_size}
                  | {options.max_batch_size})


def token_bucket(n: int) -> int:
    """New-token counts rounded up to a power of two (at least 16), so the fast path sees few shapes."""
    return max(16, 1 << (n - 1).bit_length())


class HfBackend(Backend):
    """Base of the transformers backends: loading, batching, the one ``generate`` call, unloading.

    Requests go through a Batcher: concurrent ones are answered by one batched generate
    (left padding; each row cut to its own max_tokens). Subclasses say how a batch of
    requests becomes model inputs (``batch_inputs``).
    """

    Options = HfOptions
    requires_source = True

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        self.batcher: Batcher | None = None
        self._lock = threading.Lock()  # one generate at a time per model
        # Fast path: the shapes compiled so far (rows per batch; longest prompt + new tokens per row, which the
        # static cache keeps), and how many requests met a shape the warm-up had not compiled.
        self.warmed = False
        self.warm_batches: set[int] = set()
        self.cache_tokens = 0
        self.cold_requests = 0

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        return missing_packages(cls.Options.model_validate(spec.options))

    @property
    def parallelism(self) -> int:
        return self.options.max_batch_size

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
        self.batcher = Batcher(self.run_batch, max_batch=self.options.max_batch_size,
                               max_wait_s=self.options.batch_wait_ms / 1000, key=sampling_key,
                               name=f"batch-{self.spec.id}")
        if self.options.fast_path:
            self.warm_up()

    def unload(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self.batcher = None
        self.model = self.processor = None
        release(self.device)

    def warm_up(self) -> None:
        """Compile the fast path's shapes now, so that no request pays for it: every batch-size bucket, with the
        static cache sized for a full page and the OCR answer length (the cache keeps the longest length it has
        had, so shorter requests reuse these shapes)."""
        from PIL import Image

        tokens = self.options.fast_path_warmup_tokens or self.options.ocr_max_tokens
        request = GenRequest(Image.new("RGB", WARM_UP_PAGE, "white"), self.warm_up_messages(),
                             ChatParams(temperature=0.0, max_tokens=tokens))
        self.warmed, self.warm_batches, self.cache_tokens = False, set(), 0
        for size in batch_buckets(self.options):
            inputs = self.batch_inputs([request] * size)
            # a few forced new tokens run the decoding step (the part that is compiled) even if the model stops at once
            self.generate(inputs, ChatParams(0.0, token_bucket(tokens)), min_new_tokens=4, **self.generate_extra())
        self.warmed = True

    def warm_up_messages(self) -> list[ChatMessage]:
        """The conversation of the warm-up request (the model's OCR request, its most common work)."""
        return []

    def note_shape(self, rows: int, cache_tokens: int) -> None:
        """Fast path: remember a generate's shape; say so when the warm-up had not compiled it."""
        cold = rows not in self.warm_batches or cache_tokens > self.cache_tokens
        if cold and self.warmed:
            self.cold_requests += 1
            log.warning("%s fast path: a batch of %d rows needing %d cache tokens per row is a shape the warm-up did "
                        "not compile (batches %s, %d tokens); it compiles now. Raise fast_path_warmup_tokens or "
                        "lower max_tokens to avoid this.", self.spec.id, rows, cache_tokens,
                        sorted(self.warm_batches), self.cache_tokens)
        self.warm_batches.add(rows)
        self.cache_tokens = max(self.cache_tokens, cache_tokens)

    def submit(self, image: Any, messages: list[ChatMessage], params: ChatParams) -> str:
        """One request, answered as part of whatever batch it joins."""
        batcher = self.batcher
        if batcher is None:
            raise ModelUnavailable(f"Model '{self.spec.id}' was unloaded while in use.")
        return batcher.submit(GenRequest(image, messages, params))

    def batch_inputs(self, requests: list[GenRequest]) -> Any:
        """Model inputs for a batch, on the model's device (the processor handles the whole batch at once,
        which is much faster than one request at a time)."""
        raise NotImplementedError

    def generate_extra(self) -> dict[str, Any]:
        """Model-specific arguments to generate (e.g. stop strings)."""
        return {}

    def run_batch(self, requests: list[GenRequest]) -> list[str]:
        """Answer requests of the same sampling settings with one generate call."""
        count = len(requests)
        if self.options.fast_path:  # pad the batch to a bucket with copies of its last request
            requests = requests + [requests[-1]] * (bucket(count, batch_buckets(self.options)) - count)
        inputs = self.batch_inputs(requests)
        longest = max(r.params.max_tokens for r in requests)
        params = ChatParams(temperature=requests[0].params.temperature,
                            max_tokens=token_bucket(longest) if self.options.fast_path else longest)
        tokens = self.generate(inputs, params, **self.generate_extra())
        rows = [tokens[i, : requests[i].params.max_tokens].tolist() for i in range(count)]
        return self.decode(rows)

    def inputs(self, image: Any, messages: list[ChatMessage]) -> Any:
        """One request's inputs on the model's device, as a batch of one."""
        return self.batch_inputs([GenRequest(image, messages, ChatParams(0.0, 1))])

    def to_device(self, inputs: Any) -> Any:
        """Inputs on the model's device, floating tensors (pixels) in the model's dtype."""
        return inputs.to(self.model.device, dtype=self.model.dtype)

    def generation_kwargs(self, params: ChatParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens}
        if self.options.fast_path:
            kwargs["cache_implementation"] = "static"
        if params.temperature > 0:
            return {**kwargs, "do_sample": True, "temperature": params.temperature}
        return {**kwargs, "do_sample": False, "temperature": None, "top_p": None, "top_k": None}

    def generate(self, inputs: Any, params: ChatParams, **extra: Any) -> Any:
        """The one place that calls ``model.generate``; returns only the new tokens of each row."""
        import torch

        if self.model is None:
            raise ModelUnavailable(f"Model '{self.spec.id}' was unloaded while in use.")
        with self._lock, torch.inference_mode():
            if self.options.fast_path:
                rows, prompt = inputs["input_ids"].shape
                self.note_shape(rows, prompt + params.max_tokens)
            output = self.model.generate(**inputs, **self.generation_kwargs(params), **extra)
        return output[:, inputs["input_ids"].shape[1]:]

    def decode(self, tokens: Any) -> list[str]:
        return self.processor.batch_decode(tokens, skip_special_tokens=True)
