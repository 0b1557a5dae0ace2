"""Prefetch model weights into the Hugging Face cache, for hosts that will run offline.

    python -m inference.download qwen3_vl_2b got_ocr
    python -m inference.download --all

Model ids are the registry's (config.yaml, or the file in CHATVLM_CONFIG).
"""

from __future__ import annotations

import argparse
import sys

from .backends.hf.setup import WEIGHT_FILES, is_local
from .errors import ChatVLMError
from .registry import Registry
from .settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.download", description="Fetch model weights.")
    parser.add_argument("models", nargs="*", help="model ids from the registry")
    parser.add_argument("--all", action="store_true", help="every model that loads weights")
    args = parser.parse_args(argv)
    try:
        registry = Registry(load_settings())
        specs = [s for s in registry.specs() if s.source] if args.all else [registry.get(i) for i in args.models]
    except ChatVLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not specs:
        parser.print_usage(sys.stderr)
        return 2
    failed = 0
    for spec in specs:
        if not spec.source:
            print(f"{spec.id}: nothing to fetch (the {spec.backend} engine ships with its package)")
        elif is_local(spec.source):
            print(f"{spec.id}: local folder {spec.source}, nothing to fetch")
        else:
            from huggingface_hub import snapshot_download

            try:
                path = snapshot_download(spec.source, allow_patterns=WEIGHT_FILES)
                print(f"{spec.id}: {spec.source} -> {path}")
            except Exception as exc:
                failed += 1
                print(f"{spec.id}: could not fetch {spec.source}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
