"""The model registry and the loaded models."""

from fastapi import APIRouter, Request

from inference.results import ActionResult, ModelInfo, ModelsResult

from ..deps import ServiceDep
from ..schemas.rest import errors
from ..security import caller

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=ModelsResult)
def list_models(service: ServiceDep) -> ModelsResult:
    """List the models this server offers and which are loaded."""
    return service.list_models()


@router.post("/{model_name}/load", response_model=ModelInfo, responses=errors(404, 503))
def load_model(model_name: str, request: Request, service: ServiceDep) -> ModelInfo:
    """Load a model now instead of on its first request."""
    return service.load_model(model_name, caller(request.scope))


@router.delete("/{model_name}", response_model=ActionResult, responses=errors(404))
def unload_model(model_name: str, request: Request, service: ServiceDep) -> ActionResult:
    """Unload a model from memory; the next request that needs it loads it again."""
    return service.unload_model(model_name, caller(request.scope))
