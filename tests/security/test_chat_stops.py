"""Stop sequences of /v1/chat/completions: matched by us on the decoded text (``backends/hf/stop_text.py``), not by
transformers' ``stop_strings``, which built and kept a vocabulary-sized table per new set of stops (Qwen's tokenizer:
~2 CPU-s and ~300 MB held a request of four random 100-character stops, 2.2 GB after eight). Tiny models."""

import random

from transformers.generation import stopping_criteria

from tests.helpers import encode, render_lines

IMAGE_URL = "data:image/png;base64,"


def ask(client, stop=None, max_tokens=24):
    import base64

    png = base64.b64encode(encode(render_lines(["Total 12.50"], font_size=24))).decode()
    body = {
        "model": "qwen3_vl_2b",
        "max_tokens": max_tokens,
        "temperature": 0,
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE_URL + png}}]}],
        **({"stop": stop} if stop is not None else {}),
    }
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def test_new_sets_of_long_stops_keep_nothing_and_build_no_vocabulary_table(tiny_client):
    stopping_criteria.STOP_STRING_EMBEDDING_CACHE.clear()
    rng = random.Random(7)
    for _ in range(4):
        stops = [rng.choice("=-_*#") * 60 + f"{rng.randrange(10**5):05d}" + "=" * 35 for _ in range(4)]  # (4 x 100: the most)
        assert ask(tiny_client, stops, max_tokens=4)["choices"][0]["finish_reason"] in ("length", "stop")
    assert not stopping_criteria.STOP_STRING_EMBEDDING_CACHE  # (before: an entry per set, each vocabulary x 400)


def test_a_stop_sequence_ends_the_generation_where_it_is_written(tiny_client):
    whole = ask(tiny_client)
    text = whole["choices"][0]["message"]["content"]
    assert whole["usage"]["completion_tokens"] == 24 and len(text) >= 12, whole  # (gibberish, but the same each time)
    stop = text[4:7]  # (a piece of the answer's first half: its first copy ends the answer)
    cut = ask(tiny_client, [stop, "never written \u2603"])
    assert cut["choices"][0]["message"]["content"] == text[: text.find(stop)]
    assert cut["choices"][0]["finish_reason"] == "stop"
    assert cut["usage"]["completion_tokens"] < 24  # (the generation stopped there, not only its text)


def test_a_stop_of_characters_several_tokens_long_is_seen_when_it_is_written(tiny_service):
    import torch

    from inference.backends.hf.stop_text import stop_text
    from tests.polling import loaded_backend

    tiny_service.load_model("qwen3_vl_2b")
    tokenizer = loaded_backend(tiny_service.manager, "qwen3_vl_2b").processor.tokenizer
    prompt = tokenizer.encode("hi", add_special_tokens=False)
    answer = tokenizer.encode("ok 丂丂丂 more", add_special_tokens=False)
    decode = lambda ids: tokenizer.batch_decode(ids, skip_special_tokens=True)  # noqa: E731 (as the backend decodes)
    criterion = stop_text(["丂丂丂"], decode, len(prompt))
    fired = [bool(criterion(torch.tensor([prompt + answer[:n]]), None)[0]) for n in range(1, len(answer) + 1)]
    written = next(n for n in range(1, len(answer) + 1) if "丂丂丂" in decode(torch.tensor([answer[:n]]))[0])
    assert len(tokenizer.encode("丂丂丂", add_special_tokens=False)) > 3  # (more tokens than characters)
    assert fired.index(True) + 1 == written, fired  # (before: never, its tail of 3 + 4 tokens held no whole stop)
