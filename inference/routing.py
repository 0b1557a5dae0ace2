"""``model=auto``: each page read by the CPU engine first, and sent to a vision-language model only when it needs one
(the CPU engine was unsure of it or read nothing, the layout found a table or an equation, or its lines are in a
script no CPU engine reads); and each page's confidence, with how it was measured.

The confidences (``PageResult.confidence_source``): ``engine``, the CPU engine's own line confidences weighted by the
lines' lengths; ``logprob``, a VLM answer's mean token log-probability, exp'd; ``cpu-engine``, a VLM's answer against
the CPU engine's reading of the same page (1 - the character error rate of the two normalised texts, clamped to 0-1);
``text-layer``, a VLM's answer against the page's PDF text layer (OCR forced on a page that has a good one: the
same measure against what the PDF itself says; every engine's reading carries it as ``text_layer_agreement``).
"""

from __future__ import annotations

import re
from dataclasses import replace

from .catalog import Catalog, ModelHandle
from .device import gpu_info
from .errors import ConfigError, ModelUnavailable
from .page_results import PageRead
from .results import ModelChoice
from .routing_settings import RoutingSettings
from .text_distance import levenshtein
from .values import UNREAD_SCRIPT, OcrLine, OcrOutput

AUTO = "auto"


def check(catalog: Catalog, routing: RoutingSettings) -> None:
    """At start-up: ``routing.vlm`` (an id), and ``routing.cpu`` when it is not the default, name OCR models of the
    configuration (one without the embedded engine has no model=auto: a request for it is told so)."""
    ids = catalog.ids("ocr")
    for key, model, default in (("cpu", routing.cpu, "embedded"), ("vlm", routing.vlm, None)):
        if model in ids or model == default or (key == "vlm" and model in (AUTO, "none")):
            continue
        raise ConfigError(f"routing.{key} is '{model}', not an OCR model of this configuration: use one of {', '.join(ids)}.")


def vlm(catalog: Catalog, routing: RoutingSettings) -> tuple[ModelHandle | None, str]:
    """The model pages are routed to, or None and why there is none here."""
    model = routing.vlm
    if model == "none":
        return None, "routing.vlm is 'none'"
    if model == AUTO:
        if not gpu_info().available:
            return None, "this host has no GPU for a vision-language model (routing.vlm can name one to use on the CPU)"
        model = catalog.registry.default_for("ocr", AUTO, True) or ""
        if not model or model == routing.cpu:
            return None, "no vision-language OCR model can run here"
    handle = catalog.handle(model)
    missing = handle.missing()
    return (None, f"{model} cannot run here: {missing}") if missing else (handle, "")


def choice(catalog: Catalog, routing: RoutingSettings) -> ModelChoice | None:
    """``model=auto`` as a person picks it, where it is more than the CPU engine alone: the CPU engine and a VLM to
    send pages to can both run here (None elsewhere: there, auto reads every page with the CPU engine)."""
    try:
        cpu = cpu_engine(catalog, routing)
    except ModelUnavailable:
        return None
    model, _ = vlm(catalog, routing)
    if model is None:
        return None
    name = f"Automatic: {cpu.spec.name}, and {model.spec.name} for the pages that need it"
    return ModelChoice(id=AUTO, name=name, runnable=True)


def wanted(catalog: Catalog, routing: RoutingSettings, model: str | None, default: str) -> bool:
    """Whether an OCR request for ``model`` reads with routing: ``auto`` named, or no model named where the default is
    ``auto`` and both a CPU engine and a VLM can run here."""
    if (model or "").strip() == AUTO:
        return True
    if (model or "").strip() or default != AUTO:
        return False
    cpu = routing.cpu in catalog.ids("ocr") and not catalog.handle(routing.cpu).missing()
    return cpu and vlm(catalog, routing)[0] is not None


def cpu_engine(catalog: Catalog, routing: RoutingSettings) -> ModelHandle:
    if routing.cpu not in catalog.ids("ocr"):
        raise ModelUnavailable(f"model=auto reads every page with {routing.cpu} first, and this server has no such model.")
    handle = catalog.handle(routing.cpu)
    missing = handle.missing()
    if missing:
        raise ModelUnavailable(f"model=auto reads every page with {routing.cpu} first, and it cannot run here: {missing}")
    return handle


# ---- confidences -------------------------------------------------------------------------------------------------
def engine_confidence(lines: list[OcrLine]) -> float | None:
    """The CPU engine's line confidences, each weighted by its line's length; None when it read no line."""
    weights = [(len(line.text.strip()), line.confidence) for line in lines if line.text.strip()]
    total = sum(w for w, _ in weights)
    if not total:
        return None
    return round(min(1.0, max(0.0, sum(w * c for w, c in weights) / total)), 4)


def output_confidence(output: OcrOutput) -> tuple[float | None, str | None]:
    """A page's confidence as its engine gives it: a VLM's log-probability, else the CPU engine's lines'."""
    if output.confidence is not None:
        return round(output.confidence, 4), output.confidence_source or "logprob"
    value = engine_confidence(output.lines)
    return value, "engine" if value is not None else None


def normalised(text: str) -> str:
    """Text compared for agreement: Markdown marks and table rules out, whitespace collapsed, case folded."""
    text = re.sub(r"<[^>]+>|[|#*_`>-]+", " ", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def agreement(text: str, reference: str) -> float | None:
    """1 - the character error rate of ``text`` against ``reference`` (both normalised), clamped to 0-1; None when the
    reference is empty (nothing to compare with)."""
    a, b = normalised(text), normalised(reference)
    if not b:
        return None
    return round(max(0.0, 1.0 - levenshtein(a, b) / len(b)), 4)


# ---- routing -----------------------------------------------------------------------------------------------------
def reason(read: PageRead, routing: RoutingSettings) -> str | None:
    """Why the CPU engine's reading of a page should go to the VLM (None: it is kept): ``no-text``, ``script``,
    ``table``/``equation`` (a block of that type found), ``low-confidence``."""
    if not read.text.strip():
        return "no-text"
    if any(UNREAD_SCRIPT in w for w in read.warnings):
        return "script"
    found = next((b.type for b in read.blocks if b.type in routing.blocks), None)
    if found:
        return found
    if read.confidence is None or read.confidence < routing.min_confidence:
        return "low-confidence"
    return None


def against_text_layer(read: PageRead, layer_text: str) -> PageRead:
    """A page read with OCR forced, and its PDF text layer: the reading's agreement with it, kept as
    ``text_layer_agreement``; for a VLM's reading (not the CPU engine's, which has its own line confidences) it is also
    the page's confidence, the best measure there is (what the PDF says the page says)."""
    if read.error is not None:
        return read
    agreed = agreement(read.text, layer_text)
    if agreed is None or read.confidence_source == "engine":
        return replace(read, text_layer_agreement=agreed)
    return replace(read, text_layer_agreement=agreed, confidence=agreed, confidence_source="text-layer")


def not_routed(route: str, why: str) -> str:
    return f"This page would have gone to a vision-language model ({route}), but {why}: the CPU engine's reading is kept."


def routed(vlm_read: PageRead, cpu_read: PageRead, route: str) -> PageRead:
    """The page as the VLM read it, its confidence from its log-probability, else its agreement with the CPU engine
    (which it carries as ``cpu_agreement`` either way);
    the CPU engine's reading kept (with a warning) when the VLM failed."""
    if vlm_read.error is not None:
        why = vlm_read.message or "it failed"
        note = f"The vision-language model ({vlm_read.engine}) could not read this page ({route}): {why}"
        note += " The CPU engine's reading is kept."
        return replace(cpu_read, warnings=[*cpu_read.warnings, note], seconds=cpu_read.seconds + vlm_read.seconds)
    confidence, source = vlm_read.confidence, vlm_read.confidence_source
    agreed = agreement(vlm_read.text, cpu_read.text)
    if confidence is None:
        confidence, source = agreed, "cpu-engine"
    return replace(
        vlm_read,
        seconds=cpu_read.seconds + vlm_read.seconds,
        confidence=confidence,
        confidence_source=source if confidence is not None else None,
        route=route,
        cpu_agreement=agreed,
    )
