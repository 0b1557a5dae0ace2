"""Room in memory for a model about to be loaded.

A request may load any model whose weights are on the host (the ``user`` role runs inference, and inference loads
its model on first use), so a client cycling through the model ids would otherwise load them all: the GPU or the
host runs out of memory, and every user's work fails with it (on a CPU host the kernel kills the server). Before a
model loads, its weights' size at the precision it loads in (``Backend.memory_needs``, read from the weight files'
headers) is compared with the room on its device: ``limits.model_memory_gb`` when set (what the loaded models'
weights may take together), else the device's free memory. When it does not fit, the models loaded on that device
and idle (nothing queued, nothing running) are unloaded, the least recently used first, until it does; when the
others are busy the request is refused with 503 and Retry-After; a model that would not fit even alone is
refused with 503 saying how much it needs. Models of unknown size (the OCR engines: some hundred MB) are neither
counted nor unloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ModelUnavailable, Overloaded

GB = 1024**3
BUSY_RETRY_S = 30  # Retry-After when the room is held by models at work


@dataclass(frozen=True)
class Resident:
    """A model loaded (or loading) as the room sees it: its device, its weights' bytes, when it last took a request,
    and whether it may be unloaded now (loaded, nothing queued or running)."""

    id: str
    device: str
    size: int
    last_used: float
    idle: bool


def plan_room(model_id: str, device: str, need: int, residents: Sequence[Resident], budget: int, free: int | None) -> list[str]:
    """The models to unload (in this order) for ``need`` bytes to fit on ``device``: within ``budget`` bytes for all
    loaded weights together when it is set (> 0), else within the device's ``free`` bytes (None: not known, nothing is
    checked). Overloaded when models at work hold the room; ModelUnavailable when the model would not fit alone."""
    if budget > 0:
        others = [r for r in residents if r.id != model_id]
        room = budget - sum(r.size for r in others)
        capacity = budget
    elif free is not None:
        others = [r for r in residents if r.id != model_id and r.device == device]
        room = free
        capacity = free + sum(r.size for r in others)
    else:
        return []
    if need <= room:
        return []
    if need > capacity:
        where = f"the {budget / GB:.3g} GB that limits.model_memory_gb allows" if budget > 0 else f"{capacity / GB:.3g} GB"
        raise ModelUnavailable(
            f"Model '{model_id}' needs about {need / GB:.3g} GB of memory for its weights on {device}, more than "
            f"{where} this server has for models. An administrator can give it a lower precision, another device, "
            "or more memory."
        )
    victims: list[str] = []
    for resident in sorted((r for r in others if r.idle), key=lambda r: r.last_used):
        victims.append(resident.id)
        room += resident.size
        if need <= room:
            return victims
    busy = ", ".join(sorted(r.id for r in others if not r.idle))
    raise Overloaded(
        f"Model '{model_id}' needs about {need / GB:.3g} GB of memory on {device}, which the models at work "
        f"({busy}) hold now. Try again in a while, or use a model that is loaded.",
        retry_after=BUSY_RETRY_S,
    )
