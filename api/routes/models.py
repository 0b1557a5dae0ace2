"""The model registry and the loaded models."""

from fastapi import APIRouter, Request

from inference import for_role
from inference.results import ActionResult, ModelInfo, ModelsResult

from ..deps import ServiceDep
from ..errors import role_of
from ..schemas.rest import errors
from ..security import caller

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=ModelsResult)
def list_models(request: Request, service: ServiceDep) -> ModelsResult:
    """List the models this server offers and which are loaded."""
    listing, role = service.list_models(), role_of(request.scope)

    def told(model: ModelInfo) -> ModelInfo:  # (with keys on, a user key reads what an administrator can do)
        return model.model_copy(update={"note": for_role(model.note, role), "error": for_role(model.error, role)})

    return listing.model_copy(
        update={"available": list(map(told, listing.available)), "unavailable": list(map(told, listing.unavailable))}
    )


@router.post("/{model_name}/load", response_model=ModelInfo, responses=errors(404, 503))
def load_model(model_name: str, request: Request, service: ServiceDep) -> ModelInfo:
    """Load a model now instead of on its first request."""
    return service.load_model(model_name, caller(request.scope))


@router.delete("/{model_name}", response_model=ActionResult, responses=errors(404))
def unload_model(model_name: str, request: Request, service: ServiceDep) -> ActionResult:
    """Unload a model from memory; the next request that needs it loads it again."""
    return service.unload_model(model_name, caller(request.scope))
