"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from inference import InferenceService


def get_service(request: Request) -> InferenceService:
    return request.app.state.service


ServiceDep = Annotated[InferenceService, Depends(get_service)]
