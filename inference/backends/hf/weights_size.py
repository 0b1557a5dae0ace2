"""How much memory a transformers model's weights take once loaded, told before loading it: the parameters counted
in its safetensors files' headers (nothing else of the files is read, nothing is fetched), at the precision it loads
in. Integer tensors keep their size; floating ones take the precision's."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from ...errors import ModelUnavailable
from ...settings import ModelSpec
from .setup import HfOptions, device_of, weights_path

PRECISION_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp32": 4.0, "int8": 1.0, "int4": 0.5}
STORED_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}  # floating (converted on load)
INTEGER_BYTES = {"I64": 8, "U64": 8, "I32": 4, "U32": 4, "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1}
INDEX = "model.safetensors.index.json"
MAX_HEADER = 100 * 1024 * 1024  # a safetensors header is JSON of names and shapes: a larger one is no header


def weights_memory(spec: ModelSpec, options: HfOptions) -> tuple[str, int] | None:
    """(device, bytes) of the model's weights once loaded; None when they are not on this host or hold no
    safetensors file it can read."""
    try:
        folder = Path(weights_path(spec, download=False))
    except ModelUnavailable:
        return None
    device = device_of(options)
    precision = options.precision if options.precision != "auto" else ("bf16" if device == "cuda" else "fp32")
    total, found = 0.0, False
    for file in weight_files(folder):
        counts = tensor_counts(file)
        if counts is None:
            continue
        found = True
        for dtype, count in counts.items():
            total += count * (PRECISION_BYTES[precision] if dtype in STORED_BYTES else INTEGER_BYTES.get(dtype, 4))
    return (device, int(total)) if found else None


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files the model loads: those its index names when it has one (a repository may also ship the
    same weights consolidated in one more file), else every one."""
    try:
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        names = sorted({str(name) for name in index["weight_map"].values()})
        return [folder / name for name in names if "/" not in name and (folder / name).is_file()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return sorted(folder.glob("*.safetensors"))


def tensor_counts(file: Path) -> dict[str, int] | None:
    """Elements per dtype in a safetensors file, from its header (8 bytes of length, then JSON); None when unreadable."""
    try:
        with file.open("rb") as stream:
            (length,) = struct.unpack("<Q", stream.read(8))
            if length > MAX_HEADER:
                return None
            header = json.loads(stream.read(length))
    except (OSError, struct.error, ValueError):
        return None
    counts: dict[str, int] = {}
    try:
        for name, tensor in header.items():
            if name != "__metadata__":
                counts[str(tensor["dtype"])] = counts.get(str(tensor["dtype"]), 0) + math.prod(tensor["shape"])
    except (AttributeError, KeyError, TypeError):  # (no header of tensors)
        return None
    return counts
