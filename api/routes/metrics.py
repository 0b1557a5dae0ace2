"""Prometheus metrics (admin role when API keys are on)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["system"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """Request rates and latencies by route, model and status; model states, load times, queue depth, batch
    sizes and tokens generated; GPU memory."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
