"""The CPU layout model's cost and what it finds, on pages rendered by bench/pages.py: seconds per page of the
model alone (one thread, as the engines run it), and the block types the default engine's structure gives.

    python bench/layout.py --pages 10
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import render_page  # noqa: E402
from inference.backends.ocr import layout_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10, help="rendered pages to lay out")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page (the fastest counts)")
    args = parser.parse_args(argv)
    if (reason := layout_model.unavailable_reason()) is not None:
        print(f"layout model: {reason}")
        return 1
    model = layout_model.shared()
    assert model is not None
    pages = [render_page(n)[0] for n in range(args.pages)]
    model(pages[0])  # warm-up
    best, labels = [], Counter()
    for page in pages:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            regions = model(page)
            times.append(time.perf_counter() - started)
        best.append(min(times))
        labels.update(r.label for r in regions)
    mean = sum(best) / len(best)
    print(f"{args.pages} pages {pages[0].width}x{pages[0].height}: {mean:.3f} s a page (fastest of {args.repeat} each)")
    print("regions: " + ", ".join(f"{label} {n}" for label, n in labels.most_common()))
    print(f"layout_s_per_page={mean:.4f} layout_pages={args.pages}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
