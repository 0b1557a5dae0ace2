"""The Chat tab's conversation on the server (ui/chat_talk.py): questions wait their turn, Stop gives back the ones
that waited, what the model is told leaves out a failed answer; and the banner shown when no chat model can run
names the one that fits the host."""

from __future__ import annotations

import anyio

from ui.chat_tab import no_chat_banner
from ui.chat_talk import DONE, FAILED, LOADING, QUEUED, STOPPED, STOPPED_MARK, Talk, stopped, until


def texts(talk: Talk) -> list[str]:
    return [m["content"] if isinstance(m["content"], str) else m["content"][-1] for m in talk.shown()]


def test_questions_wait_their_turn_and_stop_gives_back_the_waiting_ones():
    talk = Talk()
    talk.ask("First", "a.png", None, None, None, loading=True)
    talk.ask("Second", "a.png", None, None, None)
    assert texts(talk) == ["First", LOADING, "Second", QUEUED]  # the first begins (loading), the second waits
    assert talk.shown()[0]["content"][0] == {"path": "a.png"}  # the image shows with the first question only
    assert talk.busy()
    first = talk.exchanges[0]
    first.state, first.answer, first.stop = "answering", "Half an ans", anyio.Event()
    assert talk.stop() == ["Second"] and first.stop.is_set()  # the waiting question goes back to the box
    first.state = STOPPED
    assert texts(talk) == ["First", f"Half an ans\n\n{STOPPED_MARK}"] and not talk.busy()


def test_the_model_is_told_the_answered_turns_only_and_retry_asks_the_last_again():
    talk = Talk()
    for question, state, answer in (("One", DONE, "Yes"), ("Two", FAILED, ""), ("Three", STOPPED, "Partly")):
        exchange = talk.ask(question, "a.png", None, None, None)
        exchange.state, exchange.answer = state, answer
    latest = talk.ask("Four", "a.png", None, None, None)
    assert [(m.role, m.content) for m in talk.past(latest)] == [
        ("user", "One"),
        ("assistant", "Yes"),
        ("user", "Three"),
        ("assistant", "Partly"),
    ]
    assert talk.again() is None  # a question still waits
    latest.state, latest.answer = DONE, "Four it is"
    again = talk.again()
    assert again is latest and again.state == "waiting" and again.answer == ""
    assert talk.clear() and talk.shown() == [] and not talk.clear()


def test_until_returns_the_call_or_the_stop():
    async def main():
        stop = anyio.Event()

        async def slow():
            await anyio.sleep(30)

        async def quick():
            return 42

        async def press_stop():
            stop.set()

        with anyio.fail_after(10):
            assert await until(stop, quick) == 42
            async with anyio.create_task_group() as group:
                group.start_soon(press_stop)
                assert stopped(await until(stop, slow))

    anyio.run(main)


def test_the_banner_names_the_chat_model_that_fits_this_host(service):
    banner = no_chat_banner(service)
    assert "No chat model can run on this server yet" in banner
    assert ("Qwen3-VL 2B" if service.health().gpu_available else "SmolVLM2 500M") in banner  # the README's CPU path
