"""The transformers backends' answers from generated tokens: each row cut at its own max_tokens, at its first end
token, after the first copy of a repetition that ends it (``repetition.py``) and before its first stop sequence,
then made into the output its work asked for (an OCR text and the page's blocks, or a chat answer, with a warning
when it was cut)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...grounding import page_structure
from ...values import ChatOutput, ChatWork, OcrOutput, Output, Work, cut_warning
from .repetition import RepetitionOptions, repeated_tail


@dataclass
class Row:
    """One generated answer: its text, why it ended, and its token counts."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    logprob: float | None = None  # the mean log-probability of the answer's tokens (as kept), when measured


def chosen_logprobs() -> Any:
    """A logits processor that keeps each step's log-probabilities only long enough to read the chosen token's (the
    next step's last input id): an answer's confidence for the price of a log-softmax a step. It sits before the
    sampling warpers, so what it reads is the model's own distribution. ``per_token(new_tokens)``: [rows, steps]."""
    import torch
    from transformers import LogitsProcessor

    class Chosen(LogitsProcessor):
        def __init__(self) -> None:
            self.last: Any = None
            self.steps: list[Any] = []

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.last is not None:
                self.steps.append(self.last.gather(1, input_ids[:, -1:]).squeeze(1))
            self.last = torch.log_softmax(scores.float(), dim=-1)
            return scores

        def per_token(self, tokens: Any) -> Any:
            if self.last is not None and tokens.shape[1] > len(self.steps):
                self.steps.append(self.last.gather(1, tokens[:, len(self.steps) : len(self.steps) + 1]).squeeze(1))
            self.last = None
            return torch.stack(self.steps, dim=1).cpu() if self.steps else None

    return Chosen()


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The answer up to (not including) the first stop sequence in it."""
    ends = [text.find(s) for s in stop if s and s in text]
    return text[: min(ends)] if ends else text


def end_tokens(generation_config: Any) -> set[int]:
    """The token ids that end an answer (end of sequence, padding)."""
    eos = generation_config.eos_token_id
    ends = eos if isinstance(eos, list) else [eos]
    return {t for t in [*ends, generation_config.pad_token_id] if t is not None}


def rows(
    inputs: Any,
    tokens: Any,
    limits: list[int],
    stop: tuple[str, ...],
    ends: set[int],
    decode: Callable[[Any], list[str]],
    options: RepetitionOptions,
    logprobs: Any = None,
) -> list[Row]:
    """Each row's answer, cut at its own max_tokens, at its first end token, and after the first copy of a
    repetition that ends it; ``logprobs`` ([rows, steps], when measured): each row's mean over the tokens kept."""
    answers = []
    for i, limit in enumerate(limits):
        ids = tokens[i, :limit].tolist()
        length = next((n for n, token in enumerate(ids) if token in ends), None)
        reason = "stop" if length is not None or len(ids) < limit else "length"
        ids = ids if length is None else ids[:length]
        generated = len(ids)  # what was generated (and counts as usage), before a repetition is cut
        repeat = repeated_tail(ids, options.repetition_min_tokens, options.repetition_max_period, options.repetition_min_copies)
        if repeat is not None:
            ids, reason = ids[: repeat.keep], "repetition"
        prompt = int(inputs["attention_mask"][i].sum()) if "attention_mask" in inputs else 0
        text = decode([ids])[0]
        cut = cut_at_stop(text, stop)
        kept = logprobs[i, : len(ids)] if logprobs is not None and ids else None
        mean = float(kept.mean()) if kept is not None and len(kept) else None
        answers.append(Row(cut, "stop" if cut != text else reason, prompt, generated, mean))
    return answers


def output(work: Work, row: Row, ocr_text: Callable[[str], str]) -> Output:
    """The row as the output its work asked for; ``ocr_text`` takes the transcription out of an OCR answer."""
    chat = isinstance(work, ChatWork)
    warning = cut_warning(
        row.finish_reason, row.completion_tokens, "max_tokens" if chat else "ocr_max_tokens in the server's config"
    )
    warnings = [warning] if warning else []
    if chat:
        return ChatOutput(
            text=row.text.strip(),
            finish_reason=row.finish_reason,  # type: ignore[arg-type]
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            warnings=warnings,
        )
    text, blocks = page_structure(ocr_text(row.text), work.image.size)  # Markdown, or grounding blocks with boxes
    confidence = None if row.logprob is None else min(1.0, max(0.0, math.exp(row.logprob)))
    return OcrOutput(
        text=text,
        warnings=warnings,
        completion_tokens=row.completion_tokens,
        blocks=blocks,
        confidence=confidence,
        confidence_source="logprob" if confidence is not None else None,
    )
