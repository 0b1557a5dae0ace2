"""One of each on the edges, in-process (no server, no browser): a UI event and its Gradio API event say the same
sentence for the same error, the language picker's names are the kernel's, and REST and the Batch tab share the
service's one owner rule for jobs."""

from __future__ import annotations

import asyncio

import gradio as gr
import pytest

from inference import BadInput, InferenceService, ModelUnavailable, Overloaded
from inference.errors import REFUSAL
from inference.languages import NAMES
from ui.errors import CANNOT_RUN, UNEXPECTED, keep_on_error, user_errors
from ui.widgets import LANGUAGES, language_picker


def failing(exc: BaseException):
    async def handler():
        raise exc

    return handler


@pytest.mark.parametrize(
    "exc, sentence",
    [
        (BadInput("'/srv/data/secret/scan.png' is not an image."), "'<path>' is not an image."),
        (Overloaded("The server is busy: try again in about 3 s.", retry_after=3), "The server is busy: try again in about 3 s."),
        (ModelUnavailable("Weights for 'm' are not here: python -m inference.download m"), CANNOT_RUN),
        (RuntimeError("a bug with /srv/internal/path"), UNEXPECTED),
    ],
    ids=["bad input", "busy", "cannot run", "unexpected"],
)
def test_a_ui_event_and_its_api_event_say_the_same_sentence(exc, sentence):
    shown = asyncio.run(keep_on_error(2)(failing(exc))())
    assert shown[1] == f"⚠️ {sentence}"
    noted: list = []
    token = REFUSAL.set(noted)
    try:
        with pytest.raises(gr.Error) as raised:
            asyncio.run(user_errors(failing(exc))())
    finally:
        REFUSAL.reset(token)
    assert raised.value.message == sentence
    if isinstance(exc, Overloaded):  # the Gradio API's /run answers a refusal with its status
        assert noted == [(503, 3)]


def test_the_language_picker_names_are_the_kernels():
    assert [(name, code) for code, name in NAMES.items()] == LANGUAGES
    assert language_picker().choices == [(name, code) for code, name in NAMES.items()]


class Principal:
    def __init__(self, role: str, name: str):
        self.role, self.name = role, name


def test_one_owner_rule_for_jobs(settings):
    keys_off = InferenceService(settings)
    assert keys_off.job_owner(Principal("user", "key-1")) is None  # keys off: every job is everyone's
    on = settings.model_copy(deep=True)
    on.auth.api_keys = ["user:" + "u" * 32, "admin:" + "a" * 32]
    keys_on = InferenceService(on)
    assert keys_on.job_owner(Principal("user", "key-1")) == "key-1"  # a key sees its own
    assert keys_on.job_owner(Principal("user", "key-1"), creating=True) == "key-1"
    assert keys_on.job_owner(Principal("admin", "key-2")) is None  # an admin sees every job...
    assert keys_on.job_owner(Principal("admin", "key-2"), creating=True) == "key-2"  # ...and owns what it sends


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", 1e400, "1e400", "lots"])
def test_a_number_from_the_gradio_api_that_is_no_finite_number_is_refused(value):
    from ui.chat_tab import number

    with pytest.raises(gr.Error, match="max_tokens must be a"):
        number(value, "max_tokens", whole=True)
    assert number("12.7", "max_tokens", whole=True) == 12 and number(0.5, "temperature") == 0.5
