"""Gradio, loaded through the UI, writes no type stubs (ui/stub_writes.py): a component class made after the import
leaves no ``.pyi`` beside its module, as Gradio's own ~80 did not at its import."""

from __future__ import annotations

import importlib.util
import sys

import ui  # noqa: F401  (the UI first, as the assembly loads it)

# isort: split
import gradio.component_meta

COMPONENT = """
import gradio as gr


class Marked(gr.Textbox):
    '''A component of our own.'''

    EVENTS = ["change"]
"""


def test_a_component_class_leaves_no_stub_beside_its_module(tmp_path):
    module = tmp_path / "own_component.py"
    module.write_text(COMPONENT)
    spec = importlib.util.spec_from_file_location("own_component", module)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules["own_component"] = loaded
    try:
        spec.loader.exec_module(loaded)
    finally:
        sys.modules.pop("own_component", None)
    assert loaded.Marked.EVENTS  # the class was made by Gradio's metaclass
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".pyi") == []


def test_the_writer_gradio_calls_is_the_no_op():
    from ui.stub_writes import skip_stub_writes

    assert gradio.component_meta.create_or_modify_pyi is skip_stub_writes
