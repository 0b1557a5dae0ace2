"""The OpenAI protocol: ``GET /v1/models`` and ``POST /v1/chat/completions``, plain and streamed (server-sent
events), so the ``openai`` SDKs and the tools built on them (LangChain, LlamaIndex, Open WebUI...) can use this
server. Requests go through the same admission, batching, keys and limits as every other route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from inference import ChatVLMError

from ..deps import ServiceDep, serve
from ..errors import openai_error, told
from ..schemas.openai import (
    AnswerMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    ModelCard,
    ModelList,
    OpenAIError,
    Usage,
    completion_id,
    now,
    openai_finish,
)
from ..security import caller

router = APIRouter(prefix="/v1", tags=["openai"])

ERRORS = {
    code: {"model": OpenAIError, "description": why}
    for code, why in (
        (400, "Invalid request (OpenAI error body)"),
        (404, "Unknown model, or one that cannot run on this server (model_not_found, OpenAI error body)"),
        (413, "An image is larger than the server's limit (OpenAI error body)"),
        (503, "The server is busy, or the request took too long: worth a retry (OpenAI error body)"),
    )
}


@router.get("/models", response_model=ModelList, response_model_exclude_none=True)
async def list_models(request: Request, service: ServiceDep) -> ModelList:
    """The models that can chat here now, as OpenAI's model list; when there is none, a ``hint`` says why."""
    ids = service.models_for("chat")
    why = None if ids else service.cannot_run("chat")
    return ModelList(data=[ModelCard(id=model_id) for model_id in ids], hint=why and told(request.scope, why))


@contextmanager
def not_found_if_it_cannot_run(service: Any, model: str | None) -> Iterator[None]:
    """A model that cannot run here (or no default that can) is 404 model_not_found on /v1, not a 503: nothing a retry
    changes, and the OpenAI SDKs retry a 503 thrice. Said once the request is admitted, so it spends its budget."""
    from inference import ModelUnavailable, UnknownModel

    try:
        yield
    except ModelUnavailable:
        why = service.cannot_run("chat", model)
        if why:
            raise UnknownModel(why) from None
        raise


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        **ERRORS,
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "the answer; with stream=true, chat.completion.chunk events ending with [DONE]",
        },
    },
)
async def chat_completions(request: Request, body: ChatCompletionRequest, service: ServiceDep) -> Any:
    """Answer a conversation about images (OpenAI's chat completions: text and image_url parts)."""
    from inference import BadInput

    problem = body.unsupported()
    if problem:
        raise BadInput(problem)
    params = service.chat_params(
        body.temperature,
        body.max_completion_tokens or body.max_tokens,
        body.top_p,
        body.stop_sequences(),
        body.seed,
        max_temperature=2.0,
    )
    messages = body.core_messages()
    if not body.stream:
        with not_found_if_it_cannot_run(service, body.model):
            model_id, output = await serve(request, service.complete, messages, body.model, params, caller=caller(request.scope))
        usage = Usage(
            prompt_tokens=output.prompt_tokens,
            completion_tokens=output.completion_tokens,
            total_tokens=output.prompt_tokens + output.completion_tokens,
        )
        return ChatCompletion(
            id=completion_id(),
            created=now(),
            model=model_id,
            usage=usage,
            choices=[
                Choice(
                    message=AnswerMessage(content=output.text),
                    finish_reason=openai_finish(output.finish_reason),
                    warning="; ".join(output.warnings) or None,
                )
            ],
        )
    with not_found_if_it_cannot_run(service, body.model):
        stream = await serve(
            request,
            service.complete_stream,
            messages,
            body.model,
            params,  # refusals come as errors
            caller=caller(request.scope),
        )
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(
        events(stream, include_usage, params.stop),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def sse(payload: Any) -> str:
    data = payload.model_dump_json(exclude_none=True) if hasattr(payload, "model_dump_json") else json.dumps(payload)
    return f"data: {data}\n\n"


def releasable(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """How much of the answer so far may be sent, and whether a stop sequence ended it: text up to a stop
    sequence, less any tail that may be the start of one (held back until the next piece says)."""
    ends = [text.find(s) for s in stop if s in text]
    if ends:
        return text[: min(ends)], True
    hold = max((n for s in stop for n in range(1, len(s)) if text.endswith(s[:n])), default=0)
    return text[: len(text) - hold], False


async def events(stream: Any, include_usage: bool, stop: tuple[str, ...] = ()) -> AsyncIterator[str]:
    """The answer as OpenAI's chunks: the role, the text as it grows, the finish reason, usage if asked, [DONE].
    A client that disconnects ends the response's task, which closes the stream and stops the generation."""
    cid, created, model = completion_id(), now(), stream.model

    def chunk(delta: Delta, finish: str | None = None, warning: str | None = None) -> str:
        return sse(
            ChatCompletionChunk(
                id=cid, created=created, model=model, choices=[ChunkChoice(delta=delta, finish_reason=finish, warning=warning)]
            )
        )

    with stream.close_with_task():  # the response's task: a client that left while a chunk was sent ends it
        yield chunk(Delta(role="assistant", content=""))
        sent, stopped, output = "", False, None
        try:
            async for text in stream:
                ready, stopped = releasable(text, stop)
                if len(ready) > len(sent):
                    yield chunk(Delta(content=ready[len(sent) :]))
                    sent = ready
                if stopped:
                    stream.close()  # the rest would be cut anyway: stop generating it
                    break
            output = await anyio.to_thread.run_sync(lambda: stream.output) if not stopped else None
        except ChatVLMError as exc:  # e.g. the time limit, mid-answer: said in the stream, as OpenAI does
            yield sse(openai_error(exc))
            yield "data: [DONE]\n\n"
            return
        if output is not None and len(output.text) > len(sent) and output.text.startswith(sent):
            yield chunk(Delta(content=output.text[len(sent) :]))  # what was held back
        if output is None:
            yield chunk(Delta(), finish="stop")
        else:  # a repetition was streamed before it was seen: the warning says so
            yield chunk(Delta(), finish=openai_finish(output.finish_reason), warning="; ".join(output.warnings) or None)
        if include_usage:
            prompt, completion = (output.prompt_tokens, output.completion_tokens) if output else (0, 0)
            yield sse(
                ChatCompletionChunk(
                    id=cid,
                    created=created,
                    model=model,
                    choices=[],
                    usage=Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion),
                )
            )
        yield "data: [DONE]\n\n"
