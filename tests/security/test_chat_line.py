"""The Chat tab's line of questions (ui/chat_talk.py) took any question, of any length, as many as were sent: asking
costs nothing until an answer begins (no work, no rate limit), and each ask answers with the whole conversation. An
attack pass asked 20 questions of 5 MB in one session without ever starting the answers: the server held 100 MB for
it and the 20th answer alone was 100 MB (1 GB sent back for 100 MB sent). Now a question is at most
``limits.max_prompt_chars``, at most 8 wait at once, and the refusal says why."""

from __future__ import annotations

import uuid

from tests.helpers import encode, render_lines
from tests.security.gradio_calls import file_data, fn_index, upload
from ui.chat_talk import WAITING_AT_MOST


def ask(client, index: int, image: str, text: str, session: str) -> tuple[list, int]:
    """The Chat tab's Send (its first event: the question joins the line), alone: (its outputs, the answer's bytes)."""
    body = {"data": [text, file_data(image), "", 0, 16, None], "fn_index": index, "session_hash": session}
    response = client.post("/gradio_api/run/predict", json=body)
    assert response.status_code == 200, response.text[:300]
    return response.json()["data"], len(response.content)


def an_image(client) -> str:
    sent = upload(client, "a.png", encode(render_lines(["a picture"], font_size=24)))
    assert sent.status_code == 200, sent.text
    return sent.json()[0]


def test_a_question_longer_than_a_prompt_is_refused_and_not_kept(open_server, settings):
    index, image, session = fn_index(open_server, "ask"), an_image(open_server), uuid.uuid4().hex[:12]
    longest = settings.limits.max_prompt_chars
    data, _ = ask(open_server, index, image, "Q" * (longest + 1), session)
    assert "longer than" in data[1] and str(longest) in data[1]
    assert data[0] == {"__type__": "update"}  # (the conversation unchanged: the question was not kept)
    data, _ = ask(open_server, index, image, "What is this?", session)
    assert len(data[0]) == 2  # (the first question and its place for an answer: nothing before it)


def test_a_few_questions_wait_at_once_and_the_answers_stay_small(open_server):
    index, image, session = fn_index(open_server, "ask"), an_image(open_server), uuid.uuid4().hex[:12]
    sizes = []
    for number in range(WAITING_AT_MOST + 4):
        data, size = ask(open_server, index, image, f"question {number} " + "x" * 4000, session)
        sizes.append(size)
        if number < WAITING_AT_MOST:
            assert len(data[0]) == 2 * (number + 1)
        else:
            assert "waiting already" in data[1], data[1]
    assert max(sizes) < 2 * sizes[WAITING_AT_MOST - 1]  # (it grew with every question: ~4 KB more each)
