"""Dependencies shared by the routes, and how a route runs a service call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from inference import InferenceService, call_cancellable

T = TypeVar("T")


async def get_service(request: Request) -> InferenceService:
    return request.app.state.service


ServiceDep = Annotated[InferenceService, Depends(get_service)]


async def serve(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking service call off the event loop; if the client disconnects first, its queued work is
    dropped and its running work stopped (the service call gets a cancel token)."""
    return await call_cancellable(fn, *args, gone=request.is_disconnected, **kwargs)
