"""The transformers backends' shared core: loading, the one ``generate`` call, batches and streams.

The runner hands a batch of work (OCR and chat alike, one sampling setting per batch) to ``run_batch``:
one batched generate, left padding, each row cut to its own max_tokens. ``stream`` answers one chat
request piece by piece. Both stop a row as soon as its stop signal turns true (its caller left or its
deadline passed), within one decoding step, and as soon as its answer ends in a runaway repetition
(``repetition.py``: finish reason ``repetition``, one copy of the repeated block kept); ``decode.py`` makes the
tokens answers. Subclasses say how requests become model inputs (``batch_inputs``) and how OCR is asked
(``ocr_request``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any

from ...errors import ModelUnavailable
from ...settings import ModelSpec
from ...values import ChatMessage, ChatOutput, ChatParams, ChatWork, OcrWork, Output, Work, with_image
from ..base import Backend, Stop
from ..prompts import RETRY_REASONS, retry_note
from .decode import Row, chosen_logprobs, end_tokens, output, rows
from .fast_path import WARM_UP_PAGE, FastPath, batch_buckets, token_bucket
from .repetition import repetition_stop
from .setup import (
    HfOptions,
    device_of,
    fetch_command,
    is_local,
    missing_packages,
    quantization,
    release,
    torch_dtype,
    weights_path,
    weights_present,
)
from .stop_text import stop_text
from .weights_size import weights_memory

log = logging.getLogger(__name__)


def row_stops(stops: Sequence[Stop]) -> Any:
    """A transformers stopping criterion that ends each row whose stop signal is true (the others go on)."""
    import torch
    from transformers import StoppingCriteria

    class RowStop(StoppingCriteria):
        def __init__(self) -> None:
            self.none: Any = None

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            flags = [stop() for stop in stops]
            if not any(flags):  # the common case: no new tensor per step
                if self.none is None or self.none.shape[0] != input_ids.shape[0]:
                    self.none = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                return self.none
            return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    return RowStop()


class HfBackend(Backend):
    """Base of the transformers backends (see the module doc)."""

    Options = HfOptions
    requires_source = True
    page_side = 1540  # a PDF page for a vision-language model (the longest_side option overrides it)

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        self.fast = FastPath(self.options, spec.id)
        self._lock = threading.Lock()  # one generate at a time (the runner has one worker; the warm-up runs before)

    @classmethod
    def unavailable_reason(cls, spec: ModelSpec) -> str | None:
        return missing_packages(cls.Options.model_validate(spec.options))

    @classmethod
    def memory_needs(cls, spec: ModelSpec) -> tuple[str, int] | None:
        return weights_memory(spec, cls.Options.model_validate(spec.options))

    @classmethod
    def missing_weights(cls, spec: ModelSpec) -> str | None:
        if weights_present(spec):
            return None
        if spec.source and is_local(spec.source):
            return "weights not found in its folder"
        return f"weights not downloaded: {fetch_command(spec.id)}"

    @property
    def max_batch(self) -> int:
        return self.options.max_batch_size

    @property
    def batch_wait_s(self) -> float:
        return self.options.batch_wait_ms / 1000

    @property
    def max_images(self) -> int:
        return self.options.max_images

    def batch_key(self, work: Work) -> Hashable:
        """Requests batched together share their sampling settings (greedy with greedy; OCR with the model's own)."""
        return (work.params if isinstance(work, ChatWork) else self.options.ocr_params(1)).batch_key

    # ---- lifetime --------------------------------------------------------------------------------
    def check_processor(self, processor: Any) -> None:
        """Refuse a processor this backend cannot drive (raise ModelUnavailable)."""

    def load(self) -> None:
        path = weights_path(self.spec, self.options.download)  # before importing torch: missing weights say so at once
        from transformers import AutoModelForImageTextToText, AutoProcessor

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
        if self.options.fast_path:
            self.warm_up()

    def unload(self) -> None:
        self.model = self.processor = None
        release(self.device)

    def release_memory(self) -> None:
        release(self.device)

    def warm_up(self) -> None:
        """Compile the fast path's shapes now, so that no request pays for it: every batch-size bucket, with the
        static cache sized for a full page and the OCR answer length (the cache keeps the longest length it has
        had, so shorter requests reuse these shapes)."""
        from PIL import Image

        tokens = self.options.fast_path_warmup_tokens or self.options.ocr_max_tokens
        request = self.ocr_request(OcrWork(Image.new("RGB", WARM_UP_PAGE, "white")))
        self.fast = FastPath(self.options, self.spec.id)
        for size in batch_buckets(self.options):
            inputs = self.batch_inputs([request] * size)
            # a few forced new tokens run the decoding step (the part that is compiled) even if the model stops at once
            self.generate(inputs, ChatParams(0.0, token_bucket(tokens)), min_new_tokens=4, **self.generate_extra())
        self.fast.warmed = True

    # ---- what subclasses say -----------------------------------------------------------------------
    def batch_inputs(self, requests: list[ChatWork]) -> Any:
        """Model inputs for a batch, on the model's device (the processor handles the whole batch at once,
        which is much faster than one request at a time)."""
        raise NotImplementedError

    def ocr_request(self, work: OcrWork) -> ChatWork:
        """How this model is asked to read an image."""
        raise NotImplementedError

    def ocr_text(self, answer: str) -> str:
        """The transcription in a model's OCR answer."""
        return answer.strip()

    def generate_extra(self) -> dict[str, Any]:
        """Model-specific arguments to generate (e.g. stop strings)."""
        return {}

    # ---- compute ---------------------------------------------------------------------------------
    def request(self, work: Work) -> ChatWork:
        if isinstance(work, OcrWork):
            return self.ocr_request(work)
        return ChatWork(list(work.messages), work.params)

    def output(self, work: Work, row: Row) -> Output:
        return output(work, row, self.ocr_text)

    def run_batch(self, works: Sequence[Work], stops: Sequence[Stop]) -> list[Output]:
        """Answer a batch of the same sampling settings with one generate call; an OCR answer that failed (it looped,
        or never ended) is asked again at each ``ocr_retry_temperatures`` in turn (olmOCR's retry), together with the
        batch's other failed pages."""
        requests = [self.request(work) for work in works]
        rows = self.answer(requests, list(stops))
        spent = [0] * len(works)  # tokens of the failed answers before each row's last
        tried: dict[int, list[float]] = {}
        for temperature in self.options.ocr_retry_temperatures:
            again = [
                i
                for i, (work, row) in enumerate(zip(works, rows, strict=True))
                if isinstance(work, OcrWork) and row.finish_reason in RETRY_REASONS and not stops[i]()
            ]
            if not again:
                break
            params = [self.options.ocr_params(requests[i].params.max_tokens, temperature) for i in again]
            retry = [ChatWork(requests[i].messages, p) for i, p in zip(again, params, strict=True)]
            for i, row in zip(again, self.answer(retry, [stops[i] for i in again]), strict=True):
                spent[i] += rows[i].completion_tokens
                rows[i] = row
                tried.setdefault(i, []).append(temperature)
        outputs = [self.output(work, row) for work, row in zip(works, rows, strict=True)]
        for i, temperatures in tried.items():
            out = outputs[i]
            out.completion_tokens += spent[i]  # every token generated counts as usage
            out.warnings.append(retry_note(temperatures, rows[i].finish_reason in RETRY_REASONS))
        return outputs

    def answer(self, requests: list[ChatWork], stops: list[Stop]) -> list[Row]:
        """One generate call for requests of the same sampling settings: each one's row."""
        count = len(requests)
        if self.options.fast_path:  # pad the batch to a bucket with copies of its last request
            requests, stops = self.fast.pad(requests), self.fast.pad(stops)
        inputs = self.batch_inputs(requests)
        longest = max(r.params.max_tokens for r in requests)
        params = replace(requests[0].params, max_tokens=token_bucket(longest) if self.options.fast_path else longest)
        chosen = chosen_logprobs()  # each answer's mean token log-probability: an OCR page's confidence
        tokens = self.generate(inputs, params, stops=stops, logits_processor=[chosen], **self.generate_extra())
        limits = [r.params.max_tokens for r in requests[:count]]
        return self.rows(inputs, tokens, limits, params.stop, chosen.per_token(tokens))

    def stream(self, work: ChatWork, emit: Callable[[str], None], stop: Stop) -> ChatOutput:
        """One chat answer, each new piece of text handed to ``emit`` as it is generated."""
        from transformers import TextStreamer

        class Pieces(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                emit(text)

        request = self.request(work)
        inputs = self.batch_inputs([request])
        streamer = Pieces(self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        tokens = self.generate(inputs, request.params, stops=[stop], streamer=streamer, **self.generate_extra())
        output = self.output(work, self.rows(inputs, tokens, [request.params.max_tokens], request.params.stop)[0])
        assert isinstance(output, ChatOutput)
        return output

    def inputs(self, image: Any, messages: list[ChatMessage]) -> Any:
        """One request's inputs on the model's device, as a batch of one (the image with the first user turn)."""
        return self.batch_inputs([ChatWork(with_image(messages, image), ChatParams(0.0, 1))])

    def to_device(self, inputs: Any) -> Any:
        """Inputs on the model's device, floating tensors (pixels) in the model's dtype."""
        return inputs.to(self.model.device, dtype=self.model.dtype)

    def generation_kwargs(self, params: ChatParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens}
        if self.options.fast_path:
            kwargs["cache_implementation"] = "static"
        if params.temperature > 0:
            sampling = {"do_sample": True, "temperature": params.temperature}
            if params.top_p is not None:
                sampling["top_p"] = params.top_p
            return {**kwargs, **sampling}
        return {**kwargs, "do_sample": False, "temperature": None, "top_p": None, "top_k": None}

    def generate(self, inputs: Any, params: ChatParams, stops: Sequence[Stop] = (), **extra: Any) -> Any:
        """The one place that calls ``model.generate``; returns only the new tokens of each row."""
        import torch
        from transformers import StoppingCriteriaList

        if self.model is None:
            raise ModelUnavailable(f"Model '{self.spec.id}' was unloaded while in use.")
        criteria = StoppingCriteriaList([row_stops(stops)] if stops else [])
        if self.options.repetition_min_tokens > 0:
            criteria.append(repetition_stop(self.options, inputs["input_ids"].shape[1]))
        if params.stop:  # (matched here on the decoded text: transformers' stop_strings cost ~2 CPU-s and 300 MB a set)
            criteria.append(stop_text(params.stop, self.decode, inputs["input_ids"].shape[1]))
        with self._lock, torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            if self.options.fast_path:
                rows, prompt = inputs["input_ids"].shape
                self.fast.note_shape(rows, prompt + params.max_tokens)
            output = self.model.generate(**inputs, **self.generation_kwargs(params), stopping_criteria=criteria, **extra)
        return output[:, inputs["input_ids"].shape[1] :]

    def rows(self, inputs: Any, tokens: Any, limits: list[int], stop: tuple[str, ...] = (), logprobs: Any = None) -> list[Row]:
        """Each row's answer (``decode.rows``)."""
        ends = end_tokens(self.model.generation_config)
        return rows(inputs, tokens, limits, stop, ends, self.decode, self.options, logprobs)

    def decode(self, tokens: Any) -> list[str]:
        return self.processor.batch_decode(tokens, skip_special_tokens=True)
