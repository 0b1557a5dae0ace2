"""Large images decoded when they were checked, held for their turn at a model while they fit in :data:`HELD_BYTES`.

A large image (over ``documents.KEPT_PIXELS``) is decoded to check it when it comes, and read when its turn at the model
comes (``OcrWork.render``): between the two it waits in the model's queue. Decoded, a 40 Mpx image is 120 MB, and 24
requests of a 131 KB PNG waiting behind a running one held 2.7 GB. So the decoded image is held only while the images
held fit in the budget (a request alone, or the first few of a flood: no second decode for them); past it the image is
let go and decoded again at its turn. An image is given back to the budget when it is taken, when its document is closed
(:meth:`Held.close`: a request that ended, however long its error's traceback keeps the document), or when its holder
is dropped unread."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

HELD_BYTES = 256 * 2**20  # decoded images held for their turn, all requests together (two of 40 Mpx in RGB)


class Held:
    """A large image as its turn at a model gets it (a page's render): the decoding of its check when it was held for
    it, else ``again()`` (decoded again). The held image is given once; its place in the budget is given back then."""

    def __init__(self, again: Callable[[], Any]):
        self._again = again
        self._image: Any = None
        self._give_back: Callable[[], Any] | None = None

    def __call__(self) -> Any:
        image = self.take()
        return image if image is not None else self._again()

    def take(self) -> Any:
        """The image (None when it was not held, or was taken already); its place in the budget is given back."""
        image, self._image = self._image, None
        if self._give_back is not None:
            self._give_back()  # (a weakref.finalize: once, whoever calls it first)
        return image

    def close(self) -> None:
        """Let the image go (its document is done with): its place is given back now, whatever still refers to it."""
        self.take()


class HeldImages:
    """The budget of decoded images held, shared by every request of the process."""

    def __init__(self, budget: int = HELD_BYTES):
        self.budget = budget
        self.used = 0
        self._lock = threading.RLock()  # (re-entrant: should a collection run under it, a dropped holder gives back)

    def hold(self, image: Any, again: Callable[[], Any]) -> Held:
        """``image`` held for its turn when it fits in what is left of the budget, else a Held that decodes it again."""
        held = Held(again)
        size = image.width * image.height * len(image.getbands())
        if self._reserve(size):
            held._image = image
            held._give_back = weakref.finalize(held, self._release, size)  # (taken, closed, or dropped unread)
        return held

    def _reserve(self, size: int) -> bool:
        with self._lock:  # (nothing allocated under it)
            if self.used + size > self.budget:
                return False
            self.used += size
        return True

    def _release(self, size: int) -> None:
        with self._lock:
            self.used -= size


HELD = HeldImages()
