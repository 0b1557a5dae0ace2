"""Gradio's events given inputs of the wrong kind say one sentence or nothing, never Python's (an attack pass): the UI's
example loader called with ``[null]`` answered "cannot unpack non-iterable NoneType object" (Gradio showed every
exception's text). Our errors are gr.Error (shown); any other is not shown, and the log has it."""

from __future__ import annotations

import re

import pytest

from .gradio_calls import queue

PYTHON = re.compile(r"Traceback|File \"|NoneType|object has no|not subscriptable|cannot unpack|Errno|KeyError|TypeError")


# (update, nested: other wrong kinds through every event again, ~3 s each: release checks; null is the quick one)
@pytest.mark.parametrize(
    "value",
    [None, pytest.param({"__type__": "update"}, marks=pytest.mark.slow), pytest.param([[[]]], marks=pytest.mark.slow)],
    ids=["null", "update", "nested"],
)
def test_every_event_with_inputs_of_the_wrong_kind_says_no_python(open_server, value):
    config = open_server.get("/config").json()
    said = []
    for dependency in config["dependencies"]:
        if dependency.get("backend_fn") is False:  # (a browser-side event: nothing to call)
            continue
        done = queue(open_server, dependency["id"], [value] * len(dependency["inputs"]))
        error = str((done.get("output") or {}).get("error"))
        if PYTHON.search(error):
            said.append((dependency["id"], dependency.get("api_name"), error[:120]))
    assert not said, said
