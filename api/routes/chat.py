"""Chat with a vision-language model about an image."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile

from inference.results import ChatResult

from ..deps import ServiceDep, serve
from ..params import ChatQuery, chat_params, one_file
from ..schemas.rest import errors
from ..security import caller

router = APIRouter(tags=["chat"])


@router.post("/chat", response_model=ChatResult, responses=errors(400, 404, 413, 503), dependencies=[Depends(one_file)])
async def chat(
    request: Request,
    service: ServiceDep,
    file: Annotated[UploadFile, File(description="Image file")],
    params: Annotated[ChatQuery, Depends(chat_params)],
) -> ChatResult:
    """Ask a vision-language model about an image."""
    return await serve(
        request,
        service.chat,
        file.file,
        params.prompt or "",
        params.model,
        params.temperature,
        params.max_tokens,
        filename=file.filename or "file",
        caller=caller(request.scope),
    )
