"""Chat tab: talk with a vision-language model about an image, as in a chat app: Enter sends (the question shows at
once, and one sent while an answer comes waits its turn), the answer streams in, Stop (where Send was) ends it on the
server, Retry asks again, and a new image starts a new conversation. The conversation lives on the server
(:mod:`ui.chat_talk`)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import anyio
import gradio as gr

from inference import ChatMessage, InferenceService, call_cancellable, is_operator

from .chat_talk import Talk, new_talk
from .endpoints import endpoint, hide_from_mcp
from .errors import notice, refusal
from .widgets import caller_of, image_input, model_dropdown, role_of, why_not


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
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise refusal(f"{label} must be a number.") from None
    if not math.isfinite(number):  # (Infinity, NaN, 1e400 from the Gradio API)
        raise refusal(f"{label} must be a finite number.")
    return int(number) if whole else number


def no_chat_banner(service: InferenceService, operator: bool = True) -> str:
    """Why chat cannot run here, naming the model that fits this host: on a CPU-only host the first one that is
    practical on a CPU (SmolVLM2 in config.yaml), which the default (``auto``) would take once its weights are here.
    The how-to (a command, the Models tab's Load) is the ``operator``'s: a user key reads that an administrator can."""
    choices = service.model_choices("chat")
    if not service.health().gpu_available:
        cpu = {spec.id for spec in service.settings.models if not spec.gpu_preferred}
        choices = [c for c in choices if c.id in cpu] + [c for c in choices if c.id not in cpu]
    fits = choices[0] if choices else None
    note = (fits.note if operator else why_not(fits.note)) if fits and fits.note else ""
    why, where = f" ({fits.name}: {note})" if note else "", " (see the Models tab)" if operator else ""
    return (
        f"**No chat model can run on this server yet{why}.** An administrator can add or fetch one{where}; OCR works meanwhile."
    )


# What a question is, taken in the browser at the moment it is sent (Enter in the box, or a click on Send), before
# Gradio reads the box: what is typed after that moment stays in the box and is not sent with the question.
ON_LOAD = """
const asked = (box) => { window.__chatAsked = box ? box.value : undefined; };
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.target.closest && e.target.closest('#chat-prompt'))
    asked(e.target);
}, true);
document.addEventListener('click', (e) => {
  if (e.target.closest && e.target.closest('#chat-send')) asked(document.querySelector('#chat-prompt textarea'));
}, true);
"""

# Send empties the message box in the browser, at once, of the question only: the server's answer never writes it.
CLEAR_BOX = """(text, ...values) => {
  const box = document.querySelector('#chat-prompt textarea');
  const asked = window.__chatAsked === undefined ? text : window.__chatAsked;
  window.__chatAsked = undefined;
  if (box && asked.trim()) {
    const now = box.value, left = now.startsWith(asked) ? now.slice(asked.length) : now === text ? '' : now;
    if (left !== now) { box.value = left; box.dispatchEvent(new Event('input', {bubbles: true})); }
  }
  return [asked, ...values];
}"""

# Phones: a shorter conversation, and the message box stays at the bottom of the screen (on the
# first screen, as in a chat app).
CSS = """
#chat-actions { flex-wrap: nowrap; gap: 6px; }
#chat-more { flex-wrap: nowrap; }
@media (max-width: 640px) {
  #chat-conversation { height: 36vh !important; }
  #chat-actions { position: fixed; left: 0; right: 0; bottom: 0; z-index: 20; margin: 0; padding: 6px 10px;
                  background: var(--background-fill-primary); border-top: 1px solid var(--border-color-primary); }
  #chat-more { margin-bottom: 80px; }
}
"""


def shown_buttons(talk: Talk) -> tuple[Any, Any]:
    """Send while nothing is coming, Stop while an answer comes (one place, one action)."""
    busy = talk.busy()
    return gr.update(visible=not busy), gr.update(visible=busy)


def switched(talk: Talk) -> tuple[Any, Any]:
    """The buttons as an event that adds a question shows them: none while the answering loop is at work (it shows
    them as they change, and a reply that arrived after its last would leave a stale Stop)."""
    return (gr.skip(), gr.skip()) if talk.running else shown_buttons(talk)


def build(service: InferenceService, shown_on: list | None = None) -> None:
    """The tab; ``shown_on`` (the page's load) says the banner (no chat model) as the caller's role may act on it."""
    defaults, limits, keys_on = service.defaults, service.limits, bool(service.settings.auth.api_keys)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            image = image_input(height=240, elem_id="chat-image")
            model, can_chat = model_dropdown(service, "chat", elem_id="chat-model")
            with gr.Accordion("Answer settings", open=False):
                temperature = gr.Slider(
                    0.0, 1.0, value=defaults.temperature, step=0.05, label="Temperature", elem_id="chat-temperature"
                )
                max_tokens = gr.Slider(
                    1, limits.max_tokens, value=defaults.max_tokens, step=1, label="Max new tokens", elem_id="chat-max-tokens"
                )
        with gr.Column(scale=2, min_width=300):
            banner = gr.Markdown(no_chat_banner(service, not keys_on), visible=not can_chat, elem_id="chat-banner")
            chatbot = gr.Chatbot(
                label="Conversation",
                height=440,  # a fixed height: Gradio scrolls its own list to the newest message
                elem_id="chat-conversation",
                placeholder="Upload an image, then ask about it.",
            )
            message = gr.Markdown(elem_id="chat-message")
            with gr.Row(equal_height=True, elem_id="chat-actions"):
                prompt = gr.Textbox(
                    show_label=False,
                    placeholder="Ask about the image (Enter sends, Shift+Enter: new line)",
                    lines=1,
                    max_lines=6,
                    elem_id="chat-prompt",
                    interactive=can_chat,
                    scale=5,
                    min_width=120,
                )
                send = gr.Button("Send", variant="primary", elem_id="chat-send", interactive=can_chat, scale=1, min_width=70)
                stop = gr.Button("Stop", variant="stop", elem_id="chat-stop", visible=False, scale=1, min_width=70)
            with gr.Row(elem_id="chat-more"):
                retry = gr.Button("Retry", elem_id="chat-retry", interactive=can_chat, size="sm", min_width=80)
                clear = gr.Button("New conversation", elem_id="chat-clear", size="sm", min_width=80)
    if keys_on and not can_chat and shown_on:  # (keys off: everyone is the operator, as built)

        def told(request: gr.Request) -> str:
            return no_chat_banner(service, is_operator(role_of(request)))

        gr.on(shown_on, hide_from_mcp(told), None, [banner], api_visibility="private", queue=False)
    talk = gr.State(hide_from_mcp(new_talk))  # a fresh conversation per session (a load event: not an MCP tool)
    gr.HTML(head=f"<style>{CSS}</style>", js_on_load=ON_LOAD, container=False, padding=False, elem_id="chat-style")

    def loaded(model_id: str | None) -> bool:
        return (model_id or service.default_model("chat")) in service.list_models().loaded

    async def answer_all(talk: Talk, request: gr.Request):
        """The session's answering loop: answers the waiting questions in turn (nothing when one is at work)."""
        said, busy = False, None
        temperature_of = partial(number, label="Temperature")
        tokens_of = partial(number, label="Max new tokens", whole=True)
        asked = partial(talk.answer, service.chat_stream, caller_of(request), temperature_of, tokens_of)
        async for changed in talk.drain(asked, loaded):
            if not changed and not said:  # nothing was waiting (a question refused, Retry with none): the notice stays
                break
            said = True
            note = talk.exchanges[-1].note if talk.exchanges else ""  # an error is said in the answer's place
            # the buttons only when they change: an update per streamed piece would redraw Stop under the pointer
            buttons = shown_buttons(talk) if talk.busy() != busy else (gr.skip(), gr.skip())
            busy = talk.busy()
            yield talk.shown(), notice(note), *buttons
        if not said:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()

    async def ask(text, image_path, model_id, temp, tokens, talk: Talk):
        """Put the question in the conversation at once (the box was cleared in the browser); it waits its turn
        when an answer is coming. A question that cannot be asked goes back to the box, with why."""
        text = (text or "").strip()
        if not text:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            if not image_path:
                raise gr.Error("Upload an image first.", print_exception=False)
            number(temp, "Temperature"), number(tokens, "Max new tokens", whole=True)
            why = talk.refused(text, service.limits.max_prompt_chars)
            if why:
                raise gr.Error(why, print_exception=False)
        except gr.Error as error:
            return gr.skip(), notice(error.message), text, gr.skip(), gr.skip()
        talk.ask(text, image_path, model_id or None, temp, tokens, loading=not loaded(model_id))
        return talk.shown(), "", gr.skip(), *switched(talk)

    async def stop_answer(text, talk: Talk):
        """Stop the answer being written; the questions still waiting go back to the message box."""
        running, waiting = talk.running, talk.stop()
        box = "\n".join([*waiting, text] if (text or "").strip() else waiting)
        if running:  # the answering loop shows the answer marked stopped, and Send: a reply from here could come after
            return gr.skip(), "", box if waiting else gr.skip(), gr.skip(), gr.skip()
        return talk.shown(), "", box if waiting else gr.skip(), gr.update(visible=True), gr.update(visible=False)

    async def retry_last(talk: Talk):
        again = talk.again()
        if again is None:
            why = (
                "An answer is still coming: wait for it, or Stop it." if talk.busy() else "There is no question to ask again yet."
            )
            return gr.skip(), notice(why), gr.skip(), gr.skip()
        return talk.shown(), "", *switched(talk)

    async def new_conversation(text, talk: Talk, said: str = ""):
        """A new conversation (stopping an answer still coming about the old one); questions that were waiting go
        back to the message box."""
        waiting = [e.question for e in talk.waiting()]
        if not talk.clear():
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        box = "\n".join([*waiting, text] if (text or "").strip() else waiting)
        return [], said, box if waiting else gr.skip(), gr.update(visible=True), gr.update(visible=False)

    private = {"api_visibility": "private", "show_progress": "hidden"}
    outputs = [chatbot, message, prompt, send, stop]
    answered = [chatbot, message, send, stop]
    asking = [prompt, image, model, temperature, max_tokens, talk]

    async def settle(talk: Talk):
        """The conversation and the buttons as they are, once an answering loop has ended: its last updates can reach
        the page out of order with other events' (a Stop left showing once the answers were in)."""
        return talk.shown(), *shown_buttons(talk)

    settled = [chatbot, send, stop]
    for trigger in (prompt.submit, send.click):
        trigger(hide_from_mcp(ask), asking, outputs, js=CLEAR_BOX, queue=False, trigger_mode="multiple", **private).then(
            hide_from_mcp(answer_all), [talk], answered, **private
        ).then(hide_from_mcp(settle), [talk], settled, queue=False, **private)
    stop.click(hide_from_mcp(stop_answer), [prompt, talk], outputs, queue=False, **private)
    retry.click(hide_from_mcp(retry_last), [talk], answered, queue=False, **private).then(
        hide_from_mcp(answer_all), [talk], answered, **private
    ).then(hide_from_mcp(settle), [talk], settled, queue=False, **private)
    clear.click(hide_from_mcp(new_conversation), [prompt, talk], outputs, queue=False, **private)
    # a new image starts a new conversation (the old answers were about the old image). An upload can change the
    # image twice (cleared, then set): the second change, finding no conversation, leaves the first's message.
    image.change(
        hide_from_mcp(partial(new_conversation, said="New image: a new conversation.")),
        [prompt, talk],
        outputs,
        queue=False,
        **private,
    )

    async def converse(request: gr.Request, image_path, text, model_id, temp, tokens, history) -> AsyncIterator[list]:
        """The Gradio API's answer as it streams in: the conversation each time it grows."""
        if not image_path:
            raise refusal("Upload an image first.")
        if not (text or "").strip():
            raise refusal("Type a question first.")
        history = list(history or [])
        # admitted (or refused) now; closing the stream (a client that left) stops the generation
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
        history += [{"role": "user", "content": text.strip()}, {"role": "assistant", "content": ""}]
        with stream.close_with_task():  # a job cancelled while Gradio sends a piece out ends its task, not this
            yield history
            async for answer in stream:
                history[-1]["content"] = answer
                yield history
            output = await anyio.to_thread.run_sync(lambda: stream.output)  # finished: no wait
            if output.finish_reason == "repetition":
                history[-1]["content"] = output.text
                yield history

    # The Gradio API's /chat: its own (hidden) inputs and errors raised to the client; the history is the
    # conversation so far, as the chatbot holds it, and comes back with the answer.
    async def chat(image_path, text, model_id, temp, tokens, history, request: gr.Request):
        """Ask a vision-language model about an image; the answer streams in. Returns the conversation (with
        the answer) and an empty prompt."""
        async for conversation in converse(request, image_path, text, model_id, temp, tokens, history):
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
