"""Room in memory for a model about to be loaded.

A request may load any model whose weights are on the host (the ``user`` role runs inference, and inference loads
its model on first use), so a client cycling through the model ids would otherwise load them all: the GPU or the
host runs out of memory, and every user's work fails with it (on a CPU host the kernel kills the server). Before a
model loads, its weights' size at the precision it loads in (``Backend.memory_needs``, read from the weight files'
headers) is compared with the room on its device: ``limits.model_memory_gb`` when set (what the loaded models'
weights may take together), else the device's free memory (a container's memory limit included).

When it does not fit, loaded models make way, the least recently used first: for a request, those idle and those
reading only jobs' pages (the pages are read later), once each has stayed loaded ``limits.model_resident_s`` (and
twice its load time, 30 s at most: two clients alternating two models do not reload one on every request), never the
``server.preload`` models; for a job's page, only models nobody has used for a while (jobs wait for requests). A
request that finds the room held by models at work waits for it (:data:`ROOM_WAIT_S` at most, within its deadline);
once it has waited two residencies, the models it waits for take no new request (503 with Retry-After; a request
under way still gets its pages read) until it is loaded: models whose weights do not fit together take turns, and one
client keeping a model busy cannot keep every other model out. Still no room: 503 with Retry-After; a model that
cannot fit at all (beside the preloaded ones, on this device): 503 saying what it needs. Models of unknown size (the
OCR engines: some hundred MB) are neither counted nor unloaded. The weights are what is counted: a model's working
memory (activations, its KV cache) comes on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ModelUnavailable, Overloaded

GB = 1024**3
MIN_RESIDENT_S = 5.0  # a loaded model makes way for another only after this long (and twice its load time)
BUSY_RETRY_S = 30  # Retry-After when the room is held by models at work
ROOM_WAIT_S = 60.0  # how long a request waits for room at most (and no longer than its deadline)


class RoomHeld(Overloaded):
    """No room now: ``holders`` (the models at work, or loaded a moment ago) hold it."""

    def __init__(self, message: str, retry_after: int, holders: list[str]):
        super().__init__(message, retry_after)
        self.holders = holders


@dataclass(frozen=True)
class Resident:
    """A model loaded (or loading) as the room sees it: its device, its weights' bytes, when it last took a request,
    whether it may make way now, else in how many seconds it may (None: not for this load; ``pinned``: never)."""

    id: str
    device: str
    size: int
    last_used: float
    evictable: bool
    wait_s: float | None = None
    pinned: bool = False


def plan_room(
    model_id: str,
    device: str,
    need: int,
    residents: Sequence[Resident],
    budget: int,
    free: int | None,
    total: int | None = None,
    partial: bool = True,
) -> list[str]:
    """The models to unload (in this order) for ``need`` bytes to fit on ``device``: within ``budget`` bytes for all
    loaded weights together when it is set (> 0), else within the device's ``free`` bytes (None: not known, nothing is
    checked; ``total``: all the device has; ``partial``: by free memory, unload the idle models even when their
    weights alone are not room enough, to measure again). Overloaded when models at work (or loaded a moment ago) hold the room;
    ModelUnavailable when the model cannot fit beside the pinned models at all."""
    if budget > 0:
        others = [r for r in residents if r.id != model_id]
        room, capacity = budget - sum(r.size for r in others), budget
    elif free is not None:
        others = [r for r in residents if r.id != model_id and r.device == device]
        room, capacity = free, total if total is not None else free + sum(r.size for r in others)
    else:
        return []
    if need <= room:
        return []
    pinned = sum(r.size for r in others if r.pinned)
    if need > capacity - pinned:
        where = f"the {budget / GB:.3g} GB that limits.model_memory_gb allows" if budget > 0 else f"the {capacity / GB:.3g} GB"
        beside = f" beside the preloaded models ({pinned / GB:.3g} GB)" if pinned else ""
        raise ModelUnavailable(
            f"Model '{model_id}' needs about {need / GB:.3g} GB of memory for its weights on {device}, more than "
            f"{where} this server has for models{beside}. An administrator can give it a lower precision, another "
            "device, or more memory."
        )
    victims: list[str] = []
    for resident in sorted((r for r in others if r.evictable), key=lambda r: r.last_used):
        victims.append(resident.id)
        room += resident.size
        if need <= room:
            return victims
    if victims and budget <= 0 and partial:  # (an unloaded model frees more than its weights: its cache; measured again)
        return victims
    held = [r for r in others if not r.evictable and not r.pinned]
    # the models that must make way (the least recently used first, as many as it takes), and those at work among them
    # (which take no new request once the request has waited its turn; one loaded a moment ago only waits its time)
    needed, short = [], need - room
    for resident in sorted(held, key=lambda r: r.last_used):
        if short <= 0:
            break
        needed.append(resident)
        short -= resident.size
    waits = [r.wait_s for r in needed if r.wait_s is not None]
    retry = math.ceil(max(waits)) if waits and len(waits) == len(needed) else BUSY_RETRY_S
    names = ", ".join(sorted(r.id for r in needed)) or "other models"
    raise RoomHeld(
        f"Model '{model_id}' needs about {need / GB:.3g} GB of memory on {device}, which the models at work or loaded "
        f"a moment ago ({names}) hold now. Try again in a while, or use a model that is loaded.",
        max(1, min(retry, BUSY_RETRY_S)),
        [r.id for r in needed if r.wait_s is None],
    )
