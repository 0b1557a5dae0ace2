"""OCR quality and speed on a data folder in the shared format (images/, gt/, manifest.jsonl).

    python bench/ocr_quality.py ../shared/data/sroie-dev
    python bench/ocr_quality.py ../shared/data/synthetic

Side by side in one run: the product's embedded default (through the service, as /batch/ocr runs
it), plain RapidOCR with the library's defaults, and Tesseract (eng+rus). Prints CER and order-free
word F1 per language, images/s, and ends with a one-line key=value summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scoring import cer, word_f1  # noqa: E402


def load_set(folder: Path, limit: int | None) -> list[dict]:
    items = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line]
    for item in items:
        item["path"] = folder / item["image"]
        item["reference"] = (folder / item["gt"]).read_text(encoding="utf-8")
    return items[:limit] if limit else items


def product_default(items: list[dict], overrides: dict[str, str]) -> tuple[list[str], float]:
    import yaml

    from inference import InferenceService, load_settings

    settings = load_settings(ROOT / "config.yaml", env={})
    settings.limits.max_batch_files = max(settings.limits.max_batch_files, len(items))
    model = InferenceService(settings).default_model("ocr")
    spec = next(m for m in settings.models if m.id == model)
    spec.options.update({key: yaml.safe_load(value) for key, value in overrides.items()})
    service = InferenceService(settings)
    service.load_model(model)
    started = time.perf_counter()
    result = service.batch_ocr([(item["id"], item["path"]) for item in items], model)
    elapsed = time.perf_counter() - started
    return [r.text if r.status == "success" else "" for r in result.results], elapsed


def sequential(read: Callable[[Path], str], items: list[dict]) -> tuple[list[str], float]:
    read(items[0]["path"])  # warm-up: lazy model loading is not what we measure
    started = time.perf_counter()
    texts = [read(item["path"]) for item in items]
    return texts, time.perf_counter() - started


def plain_rapidocr(items: list[dict]) -> tuple[list[str], float]:
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})

    def read(path: Path) -> str:
        result = engine(str(path))
        return "\n".join(result.txts or ())

    return sequential(read, items)


def tesseract(items: list[dict]) -> tuple[list[str], float] | None:
    try:
        import tesserocr
        from PIL import Image

        from inference.backends.tesseract import find_tessdata
    except ImportError:
        return None
    tessdata = find_tessdata("auto")
    if tessdata is None:
        return None
    langs = "+".join(lang for lang in ("eng", "rus") if (tessdata / f"{lang}.traineddata").exists())
    api = tesserocr.PyTessBaseAPI(path=f"{tessdata}/", lang=langs)

    def read(path: Path) -> str:
        with Image.open(path) as image:
            api.SetImage(image.convert("RGB"))
            return api.GetUTF8Text()

    try:
        return sequential(read, items)
    finally:
        api.End()


def score(items: list[dict], texts: list[str], casefold: bool) -> dict[str, dict[str, float]]:
    by_lang: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for item, text in zip(items, texts, strict=True):
        pair = (cer(text, item["reference"], casefold), word_f1(text, item["reference"], casefold))
        by_lang[item.get("lang", "all")].append(pair)
        by_lang["all"].append(pair) if item.get("lang", "all") != "all" else None
    return {lang: {"cer": sum(c for c, _ in v) / len(v), "f1": sum(f for _, f in v) / len(v), "n": len(v)}
            for lang, v in by_lang.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--limit", type=int, help="first N images only")
    parser.add_argument("--details", action="store_true", help="per-image CER of each engine")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="override an option of the default model (tuning), e.g. --set det_long_side=1600")
    parser.add_argument("--only", choices=["default", "rapidocr", "tesseract"], action="append",
                        help="run only these engines")
    args = parser.parse_args(argv)
    items = load_set(args.data_dir, args.limit)
    casefold = "sroie" in args.data_dir.resolve().name.lower()
    overrides = dict(item.split("=", 1) for item in args.set)
    engines = {"default": lambda items: product_default(items, overrides), "rapidocr": plain_rapidocr,
               "tesseract": tesseract}
    results = {}
    for name, run in engines.items():
        if args.only and name not in args.only:
            continue
        outcome = run(items)
        if outcome is None:
            print(f"{name}: not installed, skipped")
            continue
        texts, elapsed = outcome
        results[name] = {"scores": score(items, texts, casefold), "ips": len(items) / elapsed, "texts": texts}

    langs = sorted({lang for r in results.values() for lang in r["scores"]}, key=lambda x: (x != "all", x))
    print(f"\n{args.data_dir} ({len(items)} images{', casefolded' if casefold else ''})")
    print(f"{'engine':<10} {'images/s':>8}  " + "  ".join(f"{'CER ' + lang:>9} {'F1 ' + lang:>8}" for lang in langs))
    for name, r in results.items():
        cells = []
        for lang in langs:
            s = r["scores"].get(lang)
            cells.append(f"{s['cer']:9.3f} {s['f1']:8.3f}" if s else f"{'-':>9} {'-':>8}")
        print(f"{name:<10} {r['ips']:8.2f}  " + "  ".join(cells))
    if args.details:
        for i, item in enumerate(items):
            row = "  ".join(f"{n}={cer(r['texts'][i], item['reference'], casefold):.3f}" for n, r in results.items())
            print(f"  {item['id']:<22} {row}")
    summary = []
    for name in engines:
        r = results.get(name)
        summary += [f"{name}_cer={r['scores']['all']['cer']:.4f}" if r else f"{name}_cer=nan",
                    f"{name}_ips={r['ips']:.3f}" if r else f"{name}_ips=nan"]
    for name, r in results.items():
        for lang in langs:
            if lang != "all" and lang in r["scores"]:
                summary.append(f"{name}_cer_{lang}={r['scores'][lang]['cer']:.4f}")
    print(" ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
