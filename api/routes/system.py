"""API information and health."""

from fastapi import APIRouter

from inference.results import ApiInfo, HealthResult

from ..deps import ServiceDep

router = APIRouter(tags=["system"])


@router.get("/info", response_model=ApiInfo)
def info(service: ServiceDep) -> ApiInfo:
    """API information (also served at GET / to clients that do not ask for HTML)."""
    return service.info()


@router.get("/health", response_model=HealthResult)
def health(service: ServiceDep) -> HealthResult:
    """Health check with GPU status and the loaded models."""
    return service.health()
