"""Chat tab: talk with a vision-language model about an image, as in a chat app: Enter sends, the answer streams
in, Stop ends it on the server, Retry asks again, and a new image starts a new conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import anyio
import gradio as gr

from inference import ChatMessage, InferenceService, call_cancellable

from .endpoints import endpoint, hide_from_mcp
from .errors import keep_on_error, refusal
from .widgets import caller_of, image_input, model_dropdown


def _text(content: object) -> str:
    """The text of a chatbot message, whatever shape Gradio gave it (files and images are not text)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part for part in (_text(item) for item in content) if part)
    if isinstance(content, dict):
        return str(content.get("text", "")) if content.get("type", "text") == "text" else ""
    return ""


def past_turns(history: list[Any]) -> list[ChatMessage]:
    """The conversation so far as the service takes it (the image travels separately)."""
    turns = []
    for message in history or []:
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            text = _text(message.get("content")).strip()
            if text:
                turns.append(ChatMessage(role=message["role"], content=text))
    return turns


def number(value: object, label: str, whole: bool = False) -> float | int | None:
    """A slider's value as the service takes it (None: the server's default); a readable error otherwise."""
    if value is None or value == "":
        return None
    try:
        return int(float(value)) if whole else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise refusal(f"{label} must be a number.") from None


def no_chat_banner(service: InferenceService) -> str:
    choices = service.model_choices("chat")
    why = f" ({choices[0].name}: {choices[0].note})" if choices and choices[0].note else ""
    return (
        f"**No chat model can run on this server yet{why}.** An administrator can add or fetch one (see the "
        "Models tab); OCR works meanwhile."
    )


def build(service: InferenceService) -> None:
    defaults, limits = service.defaults, service.limits
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            image = image_input(height=240, elem_id="chat-image")
            model, can_chat = model_dropdown(service, "chat", elem_id="chat-model")
            with gr.Accordion("Answer settings", open=False):
                temperature = gr.Slider(0.0, 1.0, value=defaults.temperature, step=0.05, label="Temperature")
                max_tokens = gr.Slider(1, limits.max_tokens, value=defaults.max_tokens, step=1, label="Max new tokens")
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(no_chat_banner(service), visible=not can_chat, elem_id="chat-banner")
            chatbot = gr.Chatbot(label="Conversation", height=400, elem_id="chat-conversation")
            message = gr.Markdown(elem_id="chat-message")
            prompt = gr.Textbox(
                show_label=False,
                placeholder="Ask about the image (Enter sends, Shift+Enter: new line)",
                lines=1,
                max_lines=6,
                elem_id="chat-prompt",
                interactive=can_chat,
            )
            with gr.Row():
                send = gr.Button("Send", variant="primary", elem_id="chat-send", interactive=can_chat)
                stop = gr.Button("Stop", variant="stop", elem_id="chat-stop")
                retry = gr.Button("Retry", elem_id="chat-retry", interactive=can_chat)
                clear = gr.Button("New conversation", elem_id="chat-clear")

    async def converse(
        request: gr.Request, image_path, text, model_id, temp, tokens, history, show_image: bool = True
    ) -> AsyncIterator[tuple[list, str]]:
        """The answer as it streams in: (conversation, note) each time it grows; the note says why the answer was
        cut when the model looped. ``show_image`` puts the image in the conversation with its first question (the
        UI's; API clients send the image each time)."""
        if not image_path:
            raise refusal("Upload an image first.")
        if not (text or "").strip():
            raise refusal("Type a question first.")
        history = list(history or [])
        # admitted (or refused) now; closing the stream (Stop, a client that left) stops the generation
        stream = await call_cancellable(
            service.chat_stream,
            image_path,
            text,
            model_id or None,
            number(temp, "Temperature"),
            number(tokens, "Max new tokens", whole=True),
            history=past_turns(history),
            caller=caller_of(request),
        )
        first = not any(isinstance(m, dict) and m.get("role") == "user" for m in history)
        asked = [{"path": image_path}, text.strip()] if first and show_image else text.strip()
        history += [{"role": "user", "content": asked}, {"role": "assistant", "content": ""}]
        with stream:
            yield history, ""
            async for answer in stream:
                history[-1]["content"] = answer
                yield history, ""
            output = await anyio.to_thread.run_sync(lambda: stream.output)  # finished: no wait
            if output.finish_reason == "repetition":  # the model looped: one copy of what repeated is kept
                history[-1]["content"] = output.text
                yield history, " ".join(output.warnings)

    @keep_on_error(3)
    async def chat_for_ui(image_path, text, model_id, temp, tokens, history, request: gr.Request):
        async for conversation, note in converse(request, image_path, text, model_id, temp, tokens, history):
            yield conversation, "", note

    @keep_on_error(3)
    async def retry_for_ui(image_path, model_id, temp, tokens, history, request: gr.Request):
        history = list(history or [])
        last = max((i for i, m in enumerate(history) if isinstance(m, dict) and m.get("role") == "user"), default=None)
        if last is None:
            raise refusal("There is no question to ask again yet.")
        text = _text(history[last].get("content"))
        async for conversation, note in converse(request, image_path, text, model_id, temp, tokens, history[:last]):
            yield conversation, "", note

    inputs = [image, prompt, model, temperature, max_tokens, chatbot]
    outputs = [chatbot, prompt, message]
    sent = send.click(hide_from_mcp(chat_for_ui), inputs, outputs, api_visibility="private")
    submitted = prompt.submit(hide_from_mcp(chat_for_ui), inputs, outputs, api_visibility="private")
    retried = retry.click(
        hide_from_mcp(retry_for_ui), [image, model, temperature, max_tokens, chatbot], outputs, api_visibility="private"
    )
    stop.click(None, None, None, cancels=[sent, submitted, retried], api_visibility="private")
    clear.click(lambda: ([], "", ""), None, outputs, api_visibility="private")
    # a new image starts a new conversation (the old answers were about the old image) and stops an answer still
    # coming about the old one (its next words would bring the old conversation back). An upload can change the
    # image twice (cleared, then set): the second change, finding no history, must not wipe the first's message.
    image.change(
        lambda history: ([], "New image: a new conversation." if history else gr.skip()),
        [chatbot],
        [chatbot, message],
        cancels=[sent, submitted, retried],
        api_visibility="private",
    )

    # The Gradio API's /chat: its own (hidden) inputs and errors raised to the client; the history is the
    # conversation so far, as the chatbot holds it, and comes back with the answer.
    async def chat(image_path, text, model_id, temp, tokens, history, request: gr.Request):
        """Ask a vision-language model about an image; the answer streams in. Returns the conversation (with
        the answer) and an empty prompt."""
        async for conversation, _ in converse(request, image_path, text, model_id, temp, tokens, history, show_image=False):
            yield conversation, ""

    with gr.Group(visible=False):  # the history is an input and the output: one component
        api_history = gr.Chatbot(label="history")
    endpoint(
        "chat",
        chat,
        [
            partial(image_input, height=100, label="image"),
            partial(gr.Textbox, label="prompt"),
            partial(gr.Textbox, label="model"),
            partial(gr.Number, label="temperature"),
            partial(gr.Number, label="max_tokens"),
            lambda: api_history,
        ],
        [lambda: api_history, partial(gr.Textbox, label="prompt (cleared)")],
    )
