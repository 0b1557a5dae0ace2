"""The OpenAI protocol with the official `openai` client, against the tiny-model server: plain and streamed
answers, several images, history, stop sequences, seeds, and errors raised as the SDK's exception types."""

from __future__ import annotations

import base64

import openai
import pytest

from api.routes.openai import releasable
from inference.values import ChatMessage
from tests.helpers import ENGLISH, encode, render_lines

IMAGE = "data:image/png;base64," + base64.b64encode(encode(render_lines(ENGLISH))).decode()
SMALL = "data:image/png;base64," + base64.b64encode(encode(render_lines(ENGLISH[:1]))).decode()


def ask(text: str, *images: str) -> list[dict]:
    parts = [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def client(tiny_server):
    return openai.OpenAI(base_url=f"{tiny_server}/v1", api_key="not-needed-here", max_retries=0, timeout=120)


def test_models(client):
    ids = [model.id for model in client.models.list()]
    assert "qwen3_vl_2b" in ids and "got_ocr" not in ids  # only models that can chat


def test_plain_answer_with_usage_and_finish_reason(client):
    answer = client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Describe", IMAGE), max_tokens=5, temperature=0)
    choice = answer.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.role == "assistant"
    assert choice.finish_reason == "length"  # the tiny model never stops on its own
    assert answer.usage.completion_tokens == 5 and answer.usage.prompt_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 5 and answer.model == "qwen3_vl_2b"


def test_streamed_answer_equals_the_plain_one(client):
    plain = (
        client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Describe", IMAGE), max_tokens=8, temperature=0)
        .choices[0]
        .message.content
    )
    chunks = list(
        client.chat.completions.create(
            model="qwen3_vl_2b",
            messages=ask("Describe", IMAGE),
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.completion_tokens == 8


def test_several_images_and_history(client):
    messages = [
        {"role": "system", "content": "You read documents."},
        *ask("What is this?", IMAGE, SMALL),
        {"role": "assistant", "content": "An invoice."},
        {"role": "user", "content": "And the total?"},
    ]
    answer = client.chat.completions.create(model="qwen3_vl_2b", messages=messages, max_completion_tokens=3)
    assert answer.usage.completion_tokens == 3
    with pytest.raises(openai.BadRequestError, match="at most 4 image"):
        client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Compare", *[SMALL] * 5), max_tokens=2)


def test_a_stop_sequence_ends_the_answer_before_it(client):
    whole = (
        client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Describe", IMAGE), max_tokens=24, temperature=0)
        .choices[0]
        .message.content
    )
    stop = whole[6:9]
    assert len(stop) == 3 and whole.find(stop) >= 1
    cut = client.chat.completions.create(
        model="qwen3_vl_2b", messages=ask("Describe", IMAGE), max_tokens=24, temperature=0, stop=[stop]
    )
    assert cut.choices[0].message.content == whole[: whole.find(stop)] and cut.choices[0].finish_reason == "stop"
    streamed = client.chat.completions.create(
        model="qwen3_vl_2b", messages=ask("Describe", IMAGE), max_tokens=24, temperature=0, stop=stop, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == whole[: whole.find(stop)]


def test_a_seed_repeats_a_sampled_answer(client):
    def sample(seed):
        return (
            client.chat.completions.create(
                model="qwen3_vl_2b", messages=ask("Describe", IMAGE), max_tokens=10, temperature=0.9, seed=seed
            )
            .choices[0]
            .message.content
        )

    assert sample(7) == sample(7)


def test_errors_raise_the_sdk_exceptions(client):
    with pytest.raises(openai.NotFoundError, match="Unknown model"):
        client.chat.completions.create(model="gpt-9", messages=ask("Hi", SMALL))
    with pytest.raises(openai.BadRequestError, match="not an image"):
        client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Hi", "data:image/png;base64,aGVsbG8="))
    with pytest.raises(openai.BadRequestError, match="not fetched"):
        client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Hi", "https://example.com/a.png"))
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.chat.completions.create(model="qwen3_vl_2b", messages=ask("Hi", SMALL), temperature=3)
    with pytest.raises(openai.BadRequestError, match="cannot chat"):
        client.chat.completions.create(model="got_ocr", messages=ask("Hi", SMALL))
    with pytest.raises(openai.BadRequestError, match="tools"):
        client.chat.completions.create(
            model="qwen3_vl_2b",
            messages=ask("Hi", SMALL),
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        )


def test_a_wrong_key_raises_authentication_error(keyed_server):
    from tests.conftest import USER_KEY

    wrong = openai.OpenAI(base_url=f"{keyed_server}/v1", api_key="wrong-key-0123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    right = openai.OpenAI(base_url=f"{keyed_server}/v1", api_key=USER_KEY, max_retries=0)
    # no chat model can run there (no weights): the empty list says why, and a chat is a 404 model_not_found that
    # the SDK does not retry (a 503 it would retry, for nothing)
    listing = right.models.list()
    assert listing.data == [] and "No model that can chat" in listing.model_extra["hint"]
    for model in (None, "qwen3_vl_2b"):
        with pytest.raises(openai.NotFoundError) as raised:
            right.chat.completions.create(model=model, messages=ask("Hi", SMALL))  # type: ignore[arg-type]
        assert raised.value.code == "model_not_found" and (
            "chat" in raised.value.message or "not downloaded" in raised.value.message
        )


def test_releasable_holds_back_what_may_start_a_stop_sequence():
    assert releasable("hello wor", ("world",)) == ("hello ", False)
    assert releasable("hello world again", ("world",)) == ("hello ", True)
    assert releasable("hello", ()) == ("hello", False)
    assert releasable("abc", ("x", "bcd")) == ("a", False)
    assert ChatMessage("user", "x").images == ()
