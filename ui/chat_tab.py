"""Chat tab: talk with a vision-language model about an image; the answer streams in, Stop ends it."""

from __future__ import annotations

import gradio as gr

from inference import ChatMessage, InferenceService, call_cancellable

from .common import image_input, model_dropdown, user_errors
from .mcp_tools import hide_from_mcp


def _text(content: object) -> str:
    """The text of a chatbot message, whatever shape Gradio gave it."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return ""


def number(value: object, label: str, whole: bool = False) -> float | int | None:
    """A slider's value as the service takes it (None: the server's default); a readable error otherwise."""
    if value is None or value == "":
        return None
    try:
        return int(float(value)) if whole else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise gr.Error(f"{label} must be a number.") from None


def build(service: InferenceService) -> None:
    defaults, limits = service.defaults, service.limits
    with gr.Row():
        with gr.Column(scale=1):
            image = image_input(height=320, elem_id="chat-image")
            model = model_dropdown(service, "chat")
            temperature = gr.Slider(0.0, 1.0, value=defaults.temperature, step=0.05, label="Temperature")
            max_tokens = gr.Slider(1, limits.max_tokens, value=defaults.max_tokens, step=1, label="Max new tokens")
        with gr.Column(scale=2):
            chatbot = gr.Chatbot(label="Conversation", height=420, elem_id="chat-conversation")
            prompt = gr.Textbox(label="Prompt", placeholder="Ask about the image...", lines=2, elem_id="chat-prompt")
            with gr.Row():
                send = gr.Button("Send", variant="primary", elem_id="chat-send")
                stop = gr.Button("Stop", variant="stop", elem_id="chat-stop")
                clear = gr.Button("Clear")

    @user_errors
    async def chat(image_path, text, model_id, temp, tokens, history):
        if not image_path:
            raise gr.Error("Upload an image first.")
        history = list(history or [])
        past = [ChatMessage(role=m["role"], content=_text(m.get("content"))) for m in history
                if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
        # admitted (or refused) now; closing the stream (Stop, a client that left) stops the generation
        stream = await call_cancellable(service.chat_stream, image_path, text, model_id, number(temp, "Temperature"),
                                        number(tokens, "Max new tokens", whole=True), history=past)
        history += [{"role": "user", "content": text.strip()}, {"role": "assistant", "content": ""}]
        with stream:
            async for answer in stream:  # tokens stream into the chat as they are generated
                history[-1]["content"] = answer
                yield history, ""
        yield history, ""

    inputs = [image, prompt, model, temperature, max_tokens, chatbot]
    sent = send.click(hide_from_mcp(chat), inputs, [chatbot, prompt], api_name="chat")
    submitted = prompt.submit(chat, inputs, [chatbot, prompt], api_visibility="private")
    stop.click(None, None, None, cancels=[sent, submitted], api_visibility="private")
    clear.click(lambda: ([], ""), None, [chatbot, prompt], api_visibility="private")
