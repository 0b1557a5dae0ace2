"""Large images decoded when they were checked, held for their turn at a model while they fit in :data:`HELD_BYTES`.

A large image (over ``documents.KEPT_PIXELS``) is decoded to check it when it comes, and read when its turn at the model
comes (``OcrWork.render``): between the two it waits in the model's queue. Decoded, a 40 Mpx image is 120 MB, and 24
requests of a 131 KB PNG waiting behind a running one held 2.7 GB. So the decoded image is held only while the images
held fit in the budget (a request alone, or the first few of a flood: no second decode for them); past it the image is
let go and decoded again at its turn. An image is given back to the budget when it is taken, or when its holder is
dropped unread (a request cancelled or refused)."""

from __future__ import annotations

import threading
import weakref
from typing import Any

HELD_BYTES = 256 * 2**20  # decoded images held for their turn, all requests together (two of 40 Mpx in RGB)


class Held:
    """One image held for its turn (or none, when it did not fit): :meth:`take` gives it once."""

    def __init__(self, image: Any, give_back: Any = None):
        self._image = image
        self._give_back = give_back

    def take(self) -> Any:
        """The image (None when it was not held, or was taken already); its place in the budget is given back."""
        image, self._image = self._image, None
        if self._give_back is not None:
            self._give_back()
        return image


class HeldImages:
    """The budget of decoded images held, shared by every request of the process."""

    def __init__(self, budget: int = HELD_BYTES):
        self.budget = budget
        self.used = 0
        self._lock = threading.Lock()

    def hold(self, image: Any) -> Held:
        """``image`` held when it fits in what is left of the budget, else a Held of nothing (decode it again)."""
        size = image.width * image.height * len(image.getbands())
        with self._lock:
            if self.used + size > self.budget:
                return Held(None)
            self.used += size
        held = Held(image)
        held._give_back = weakref.finalize(held, self._release, size)  # (taken, or dropped unread: given back once)
        return held

    def _release(self, size: int) -> None:
        with self._lock:
            self.used -= size


HELD = HeldImages()
