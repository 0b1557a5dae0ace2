"""OCR quality and speed on a data folder in the shared format (images/, gt/, manifest.jsonl).

    python bench/ocr_quality.py ../shared/data/sroie-dev           # receipts, then 40 rendered pages
    python bench/ocr_quality.py ../shared/data/synthetic --pages 0
    python bench/ocr_quality.py --pages 20                          # rendered pages only

Side by side in one run: the product's embedded default (through the service, as /batch/ocr runs
it), plain RapidOCR with the library's defaults, and Tesseract (eng+rus). Prints CER and order-free
word F1 per language, images/s. Then the same for document pages rendered by bench/pages.py (several
layouts, clean and scanned; per layout), and the count of CJK characters each engine put into those
English pages. Pages are read two ways by each engine: one page at a time (default_one: the default
alone, sharing a page's lines out to the idle cores; tesseract: Tesseract (eng) on one core), which is
the time a user waits for a page; and as a batch with every core busy (default; tess_all: one
Tesseract per core), which is the throughput; the default also reads them as ONE document (default_doc: a multi-page
TIFF of the pages, as /ocr reads it), where running headers and footers are also found by their repetition across
the pages. On the same pages, the structure: tables scored by cell-adjacency
tests (olmOCR-Bench's kind) and running headers, footers and page numbers by their absence from the Markdown
(bench/structure_scoring.py); and the table reader alone on the truth's table boxes. Ends with a one-line
key=value summary (pages_* for pages; pages_table and pages_absent: the default's structure, a page alone;
pages_absent_doc: the pages read as one document).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scoring import cer, word_f1  # noqa: E402
from bench.structure_scoring import structure_report  # noqa: E402
from inference.backends.ocr.rapid_script import is_cjk  # noqa: E402


def load_set(folder: Path, limit: int | None) -> list[dict]:
    items = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line]
    for item in items:
        item["path"] = folder / item["image"]
        item["reference"] = (folder / item["gt"]).read_text(encoding="utf-8")
    return items[:limit] if limit else items


def default_service(overrides: dict[str, str], files: int = 1):
    """The service with the default model loaded (its options overridden), taking batches and documents of ``files``."""
    import yaml

    from inference import InferenceService, load_settings

    settings = load_settings(ROOT / "config.yaml", env={})
    settings.limits.max_batch_files = max(settings.limits.max_batch_files, files)
    settings.limits.max_pages = max(settings.limits.max_pages, files)
    settings.limits.max_file_bytes = max(settings.limits.max_file_bytes, files * 4 * 1024 * 1024)  # (the pages as one TIFF)
    settings.limits.request_timeout_s = max(settings.limits.request_timeout_s, 60.0 * files)
    model = InferenceService(settings).default_model("ocr")
    spec = next(m for m in settings.models if m.id == model)
    spec.options.update({key: yaml.safe_load(value) for key, value in overrides.items()})
    service = InferenceService(settings)
    service.load_model(model)
    return service, model


def product_default(
    items: list[dict], overrides: dict[str, str], one_at_a_time: bool = False, keep: dict | None = None
) -> tuple[list[str], float]:
    """The default model as the server runs it: a batch (as many images at once as it has engines), or one image
    after another (``one_at_a_time``: each image alone, its lines shared out to the idle engines; each image's whole
    result kept in ``keep`` by path, for the structure scores)."""
    service, model = default_service(overrides, len(items))
    if one_at_a_time:

        def read(path: Path) -> str:
            result = service.ocr(path, model)
            if keep is not None:
                keep[path] = result
            return result.text

        return sequential(read, items)
    started = time.perf_counter()
    result = service.batch_ocr([(item["id"], item["path"]) for item in items], model)
    elapsed = time.perf_counter() - started
    return [r.text if r.status == "success" else "" for r in result.results], elapsed


def product_document(items: list[dict], overrides: dict[str, str], keep: dict) -> tuple[list[str], float]:
    """The default model on the items' images as ONE document (a multi-page TIFF, lossless, through the service as
    /ocr reads it): its pages' texts; the whole result kept in ``keep["document"]`` (running headers, footers and page
    numbers are then also found by their repetition across the pages)."""
    from PIL import Image

    service, model = default_service(overrides, len(items))
    path = Path(items[0]["path"]).parent / "document.tiff"
    pages = [Image.open(item["path"]).convert("RGB") for item in items]
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_deflate")
    started = time.perf_counter()
    result = service.ocr(path, model)
    elapsed = time.perf_counter() - started
    keep["document"] = result
    if result.pages is None:  # a one-page TIFF is read as an image
        return [result.text], elapsed
    by_number = {page.page: page.text for page in result.pages}
    return [by_number.get(i + 1, "") for i in range(len(items))], elapsed


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


def tesseract(items: list[dict], langs: str = "eng+rus", parallel: bool = False) -> tuple[list[str], float] | None:
    """Tesseract on each image: one after another on one core, or (``parallel``) one instance per core."""
    try:
        import tesserocr
        from PIL import Image

        from inference.backends.ocr.tesseract import find_tessdata
    except ImportError:
        return None
    tessdata = find_tessdata("auto")
    if tessdata is None:
        return None
    langs = "+".join(lang for lang in langs.split("+") if (tessdata / f"{lang}.traineddata").exists())
    apis: queue.Queue = queue.Queue()
    for _ in range((os.cpu_count() or 1) if parallel else 1):
        apis.put(tesserocr.PyTessBaseAPI(path=f"{tessdata}/", lang=langs))

    def read(path: Path) -> str:
        api = apis.get()
        try:
            with Image.open(path) as image:
                api.SetImage(image.convert("RGB"))
                return api.GetUTF8Text()
        finally:
            apis.put(api)

    try:
        if not parallel:
            return sequential(read, items)
        with ThreadPoolExecutor(max_workers=apis.qsize()) as workers:  # tesserocr lets go of the GIL
            list(workers.map(read, [item["path"] for item in items[: apis.qsize()]]))  # warm-up
            started = time.perf_counter()
            texts = list(workers.map(read, [item["path"] for item in items]))
            return texts, time.perf_counter() - started
    finally:
        while not apis.empty():
            apis.get_nowait().End()


def score(items: list[dict], texts: list[str], casefold: bool, key: str = "lang") -> dict[str, dict[str, float]]:
    """Mean CER and word F1, over all items and per value of ``key`` (a language, or a page layout)."""
    by_group: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for item, text in zip(items, texts, strict=True):
        pair = (cer(text, item["reference"], casefold), word_f1(text, item["reference"], casefold))
        by_group[item.get(key, "all")].append(pair)
        by_group["all"].append(pair) if item.get(key, "all") != "all" else None
    return {
        group: {"cer": sum(c for c, _ in v) / len(v), "f1": sum(f for _, f in v) / len(v), "n": len(v)}
        for group, v in by_group.items()
    }


def page_set(folder: Path, count: int, first: int = 0) -> list[dict]:
    """``count`` pages rendered by bench.pages (from number ``first``) into ``folder`` (the shared format), as load_set
    reads them, each with its structure's truth (``truth``: tables, running header and footer)."""
    from bench.pages import layout_of, render_truth

    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(exist_ok=True)
    manifest, truths = [], {}
    for number in range(first, first + count):
        image, reference, truths[f"page{number:03d}"] = render_truth(number)
        image.save(folder / "images" / f"page{number:03d}.png")
        (folder / "gt" / f"page{number:03d}.txt").write_text(reference, encoding="utf-8")
        manifest.append(
            {
                "id": f"page{number:03d}",
                "image": f"images/page{number:03d}.png",
                "gt": f"gt/page{number:03d}.txt",
                "lang": "en",
                "kind": layout_of(number),
            }
        )
    (folder / "manifest.jsonl").write_text("\n".join(json.dumps(m) for m in manifest) + "\n", encoding="utf-8")
    items = load_set(folder, None)
    for item in items:
        item["truth"] = truths[item["id"]]
    return items


def run_engines(items: list[dict], engines: dict[str, Callable], casefold: bool, key: str) -> dict[str, dict]:
    results = {}
    for name, run in engines.items():
        outcome = run(items)
        if outcome is None:
            print(f"{name}: not installed, skipped")
            continue
        texts, elapsed = outcome
        results[name] = {
            "scores": score(items, texts, casefold, key),
            "ips": len(items) / elapsed,
            "texts": texts,
            "cjk": sum(is_cjk(ch) for text in texts for ch in text),
        }
    return results


def report(title: str, items: list[dict], results: dict[str, dict], casefold: bool, details: bool) -> list[str]:
    """Print the table (and per-image CER with details); the groups it shows, "all" first."""
    groups = sorted({g for r in results.values() for g in r["scores"]}, key=lambda x: (x != "all", x))
    print(f"\n{title} ({len(items)} images{', casefolded' if casefold else ''})")
    print(f"{'engine':<10} {'images/s':>8}  " + "  ".join(f"{'CER ' + g:>9} {'F1 ' + g:>8}" for g in groups))
    for name, r in results.items():
        cells = []
        for group in groups:
            s = r["scores"].get(group)
            cells.append(f"{s['cer']:9.3f} {s['f1']:8.3f}" if s else f"{'-':>9} {'-':>8}")
        print(f"{name:<10} {r['ips']:8.2f}  " + "  ".join(cells))
    if details:
        for i, item in enumerate(items):
            row = "  ".join(f"{n}={cer(r['texts'][i], item['reference'], casefold):.3f}" for n, r in results.items())
            print(f"  {item['id']:<22} {row}")
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?", help="a data folder (images/, gt/, manifest.jsonl)")
    parser.add_argument(
        "--pages", type=int, default=40, help="also render this many document pages (bench/pages.py) and read them; 0 = none"
    )
    parser.add_argument("--first", type=int, default=0, help="the number of the first rendered page (bench/pages.py)")
    parser.add_argument("--limit", type=int, help="first N images only")
    parser.add_argument("--details", action="store_true", help="per-image CER of each engine")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="override an option of the default model (tuning), e.g. --set det_long_side=1600",
    )
    parser.add_argument("--only", choices=["default", "rapidocr", "tesseract"], action="append", help="run only these engines")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    engines = {"default": lambda items: product_default(items, overrides), "rapidocr": plain_rapidocr, "tesseract": tesseract}
    engines = {name: run for name, run in engines.items() if not args.only or name in args.only}
    summary = []
    if args.data_dir is not None:
        items = load_set(args.data_dir, args.limit)
        casefold = "sroie" in args.data_dir.resolve().name.lower()
        results = run_engines(items, engines, casefold, "lang")
        langs = report(str(args.data_dir), items, results, casefold, args.details)
        for name in engines:
            r = results.get(name)
            summary += [
                f"{name}_cer={r['scores']['all']['cer']:.4f}" if r else f"{name}_cer=nan",
                f"{name}_ips={r['ips']:.3f}" if r else f"{name}_ips=nan",
            ]
        for name, r in results.items():
            for lang in langs:
                if lang != "all" and lang in r["scores"]:
                    summary.append(f"{name}_cer_{lang}={r['scores'][lang]['cer']:.4f}")
    if args.pages:
        with tempfile.TemporaryDirectory() as folder:
            items = page_set(Path(folder), args.pages, args.first)
            # plain RapidOCR upscales a page to 736 px on its short side... and takes minutes: not on pages.
            # Speed both ways: a page alone (its time to text: the default shares its lines out to the idle
            # cores, Tesseract reads it on one) and pages in a batch (throughput: every core busy, both engines).
            page_engines, kept = {}, {}
            if "default" in engines:
                page_engines["default_one"] = lambda items: product_default(items, overrides, one_at_a_time=True, keep=kept)
                page_engines["default"] = engines["default"]
                page_engines["default_doc"] = lambda items: product_document(items, overrides, kept)
            if "tesseract" in engines:
                page_engines["tesseract"] = lambda items: tesseract(items, "eng")
                page_engines["tess_all"] = lambda items: tesseract(items, "eng", parallel=True)
            results = run_engines(items, page_engines, False, "kind")
            report(f"rendered pages (bench/pages.py, {args.pages})", items, results, False, args.details)
            structure = structure_report(items, results, kept)
        for name in page_engines:
            r = results.get(name)
            summary += [
                f"pages_{name}_cer={r['scores']['all']['cer']:.4f}" if r else f"pages_{name}_cer=nan",
                f"pages_{name}_f1={r['scores']['all']['f1']:.4f}" if r else f"pages_{name}_f1=nan",
                f"pages_{name}_ips={r['ips']:.3f}" if r else f"pages_{name}_ips=nan",
                f"pages_{name}_cjk={r['cjk']}" if r else f"pages_{name}_cjk=nan",
            ]
        summary += [f"{key}={value}" for key, value in structure.items()]
        # the default's speed over Tesseract's: a page alone (time to text), and pages with every core busy
        for key, ours, theirs in (("pages_one_x", "default_one", "tesseract"), ("pages_all_x", "default", "tess_all")):
            if ours in results and theirs in results:
                summary.append(f"{key}={results[ours]['ips'] / results[theirs]['ips']:.2f}")
    print(" ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
