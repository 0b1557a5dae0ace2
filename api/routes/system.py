"""API information, health and readiness. These never wait behind inference work (async, lock-free reads)."""

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from inference.results import ApiInfo, HealthResult, ReadyResult

from ..deps import ServiceDep

router = APIRouter(tags=["system"])


@router.get("/info", response_model=ApiInfo)
async def info(service: ServiceDep) -> ApiInfo:
    """API information (also served at GET / to clients that do not ask for HTML)."""
    return service.info()


@router.get("/health", response_model=HealthResult)
async def health(service: ServiceDep) -> HealthResult:
    """Health check with GPU status and the loaded models (the process is up and answering)."""
    return service.health()


@router.get("/ready", response_model=ReadyResult, responses={503: {"model": ReadyResult, "description": "not ready"}})
async def ready(service: ServiceDep) -> JSONResponse:
    """Readiness for orchestrators: 200 once the preloaded models are loaded, 503 while they load, when one
    failed, or at shutdown."""
    result = await anyio.to_thread.run_sync(service.readiness)  # distributed: asks the database and the broker
    return JSONResponse(result.model_dump(), status_code=200 if result.ready else 503)
