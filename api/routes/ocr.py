"""OCR of one image and of a batch."""

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from fastapi.responses import PlainTextResponse

from inference.markdown import to_markdown
from inference.results import BatchResult, OcrResult

from ..deps import ServiceDep, serve
from ..params import OcrFormat, OcrQuery, ocr_format, ocr_params, one_file
from ..schemas.rest import errors
from ..security import caller

router = APIRouter(tags=["ocr"])


TEXT_RESPONSES = {
    200: {
        "content": {"text/plain": {"schema": {"type": "string"}}, "text/markdown": {"schema": {"type": "string"}}},
        "description": "The JSON result, or with format=text / format=markdown the text alone",
    }
}


@router.post(
    "/ocr",
    response_model=OcrResult,
    responses={**TEXT_RESPONSES, **errors(400, 404, 413, 503)},
    dependencies=[Depends(one_file)],
)
async def ocr(
    request: Request,
    service: ServiceDep,
    output: Annotated[OcrFormat, Depends(ocr_format)],
    file: Annotated[UploadFile, File(description="Image (PNG, JPEG, WebP, TIFF, BMP, GIF) or document (PDF, multi-page TIFF)")],
    params: Annotated[OcrQuery, Depends(ocr_params)],
) -> OcrResult | Response:
    """Extract text from an image or a document (a PDF's or TIFF's pages: `pages` in the response)."""
    result = await serve(
        request,
        service.ocr,
        file.file,
        params.model,
        params.language,
        filename=file.filename or "file",
        pages=params.pages,
        force_ocr=params.force_ocr,
        caller=caller(request.scope),
    )
    if output == "text":
        return PlainTextResponse(result.text + "\n")
    if output == "markdown":
        markdown = await anyio.to_thread.run_sync(to_markdown, result)  # (a long document's: off the event loop)
        return Response(markdown, media_type="text/markdown; charset=utf-8")
    return result


@router.post("/batch/ocr", response_model=BatchResult, responses=errors(400, 404, 413, 503))
async def batch_ocr(
    request: Request,
    service: ServiceDep,
    files: Annotated[list[UploadFile], File(description="Images or documents (PDF, TIFF); a bad one fails alone")],
    params: Annotated[OcrQuery, Depends(ocr_params)],
) -> BatchResult:
    """Extract text from several images or documents; each file gets its own status."""
    items = [(f.filename or f"file{i + 1}", f.file) for i, f in enumerate(files)]
    return await serve(
        request,
        service.batch_ocr,
        items,
        params.model,
        params.language,
        pages=params.pages,
        force_ocr=params.force_ocr,
        caller=caller(request.scope),
    )
