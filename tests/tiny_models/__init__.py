"""Tiny, randomly initialised vision-language models built with the real transformers classes.

    python -m tests.tiny_models DIR

builds a Qwen3-VL, a GOT-OCR 2.0, a LightOnOCR, a PaddleOCR-VL, a Qwen2.5-VL (olmOCR's architecture), a SmolVLM
and a Qwen3.5 (LightOnOCR-3 0.8B / 4B's) into DIR (config, tokenizer, image processor, ``save_pretrained``) and
writes ``DIR/config.yaml``: a complete server config whose vision-language entries (``qwen3_vl_2b``, ``qwen3_vl_4b``,
``qwen3_vl_8b``, ``got_ocr``, ``lightonocr_2_1b``, ``lightonocr_3_1b``, ``lightonocr_3_0_8b``, ``lightonocr_3_4b``,
``paddleocr_vl``, ``olmocr_2_7b``, ``smolvlm2_500m``) point at them, so

    CHATVLM_CONFIG=DIR/config.yaml python app.py

serves every route and every API-guide example with those ids, without a GPU or a download.
Their text is gibberish: test shapes, types, lengths and parameters honoured, not words.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from .chat import QWEN3_VL_2B, build_qwen2_5_vl, build_qwen3_5, build_qwen3_vl, build_smolvlm
from .common import ROOT
from .ocr import GROUNDING_ANSWER, GROUNDING_PIECES, build_got_ocr, build_lighton_ocr, build_lighton_ocr_3, build_paddleocr_vl

__all__ = [
    "BUILDERS",
    "GROUNDING_ANSWER",
    "GROUNDING_PIECES",
    "QWEN3_VL_2B",
    "TINY",
    "build_all",
    "build_got_ocr",
    "build_lighton_ocr",
    "build_lighton_ocr_3",
    "build_paddleocr_vl",
    "build_qwen2_5_vl",
    "build_qwen3_5",
    "build_qwen3_vl",
    "build_smolvlm",
    "main",
    "write_config",
]

TINY = {
    "qwen3_vl_2b": "qwen3_vl_tiny",
    "qwen3_vl_4b": "qwen3_vl_tiny",
    "qwen3_vl_8b": "qwen3_vl_tiny",
    "got_ocr": "got_ocr_tiny",
    "lightonocr_2_1b": "lighton_ocr_tiny",
    "lightonocr_3_1b": "lighton_ocr_3_tiny",  # LightOnOCR-2's architecture, writing a grounding answer
    "lightonocr_3_0_8b": "qwen3_5_tiny",
    "lightonocr_3_4b": "qwen3_5_tiny",
    "paddleocr_vl": "paddleocr_vl_tiny",
    "olmocr_2_7b": "qwen2_5_vl_tiny",
    "smolvlm2_500m": "smolvlm_tiny",
}
BUILDERS = {
    "qwen3_vl_tiny": build_qwen3_vl,
    "got_ocr_tiny": build_got_ocr,
    "lighton_ocr_tiny": build_lighton_ocr,
    "lighton_ocr_3_tiny": build_lighton_ocr_3,
    "paddleocr_vl_tiny": build_paddleocr_vl,
    "qwen2_5_vl_tiny": build_qwen2_5_vl,
    "smolvlm_tiny": build_smolvlm,
    "qwen3_5_tiny": build_qwen3_5,
}


def write_config(folder: Path, built: dict[str, Path] | None = None) -> Path:
    """The repository's config.yaml with the VLM entries pointed at the tiny folders: ``folder/<name>``, or where
    ``built`` says (by folder name)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for entry in config["models"]:
        if entry["id"] not in TINY:
            continue
        entry["source"] = str((built or {}).get(TINY[entry["id"]], folder / TINY[entry["id"]]))
        # random weights never stop on their own: keep OCR answers short so that tests stay fast, greedy and never
        # read again so that they are repeatable (the grounding twin keeps its sampling: its bias decides its answer)
        options = entry.setdefault("options", {})
        options["ocr_max_tokens"] = 16
        if TINY[entry["id"]] == "lighton_ocr_3_tiny":
            options["ocr_max_tokens"] = 32  # room for its answer
        else:
            options["ocr_temperature"] = 0.0
            options.pop("ocr_retry_temperatures", None)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_all(folder: Path) -> Path:
    folder = Path(folder).resolve()
    for name, build in BUILDERS.items():
        build(folder / name)
    return write_config(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to build the models and config.yaml")
    path = build_all(parser.parse_args(argv).folder)
    print(f"built tiny models; start a server with: CHATVLM_CONFIG={path} python app.py")
    return 0
