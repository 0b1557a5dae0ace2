"""Memory of one server under OCR work: its resident set (RSS) idle, at its peak while reading a mix of pages, once
the work is done, and once every model is unloaded (what an idle server gives back).

    python bench/memory.py                  # 200 pages: 40-page PDF jobs, batches of 10 images, single images
    python bench/memory.py --pages 60       # a quicker look

A real `python app.py` (config.yaml, the embedded OCR, its own data directory) on a free port. The pages are
bench/pages.py's A4 pages (150 dpi; some with a scanner's look): about 40 % in image-only PDFs read as jobs of up to
40 pages, 30 % in batches of 10 PNGs (POST /batch/ocr) and the rest one PNG at a time (POST /ocr), the three kinds
sent at once from three client threads. RSS is read from /proc: the server process's own (``*_mb``) and with the
processes it started (the PDF sandbox: ``tree_*_mb``), sampled every 0.2 s for the peak. Ends with a key=value
summary line; ``growth_mb`` (RSS after the unload minus idle) is the figure the README bounds (300 MB).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs import Processes, run_job, scanned_pdf, start_server  # noqa: E402

MB = 1024 * 1024


def rss(pid: int) -> int:
    """A process's resident set, in bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss(pid: int) -> int:
    return rss(pid) + sum(tree_rss(child) for child in children(pid))


class Sampler(threading.Thread):
    """The peak RSS (own and with children) while the work runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.tree_peak, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.peak, self.tree_peak = max(self.peak, rss(self.pid)), max(self.tree_peak, tree_rss(self.pid))


def png(number: int) -> bytes:
    from bench.pages import is_scan, render_page, scanned

    image, _ = render_page(number)
    image = image if is_scan(number) else scanned(image, random.Random(number))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def plan(pages: int) -> tuple[list[int], list[int], int]:
    """(job sizes, batch sizes, single pages) for ``pages`` pages."""
    in_jobs, in_batches = int(pages * 0.4), int(pages * 0.3)
    jobs = [40] * (in_jobs // 40) + ([in_jobs % 40] if in_jobs % 40 else [])
    batches = [10] * (in_batches // 10) + ([in_batches % 10] if in_batches % 10 else [])
    return jobs, batches, pages - in_jobs - in_batches


def settle(pid: int, seconds: float = 3.0) -> int:
    """RSS once it has stopped moving (a few samples apart), at most ``seconds`` of waiting."""
    time.sleep(seconds)
    return rss(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    import httpx

    job_sizes, batch_sizes, singles = plan(args.pages)
    print(f"rendering {args.pages} pages ...", flush=True)
    images = [png(n) for n in range(1, 11)]  # ten page images, reused (their bytes; the server decodes each anew)
    pdfs = {size: scanned_pdf(size) for size in set(job_sizes)}
    folder = Path(tempfile.mkdtemp(prefix="chatvlm-bench-memory-"))
    env = {**os.environ, "CHATVLM_DATA_DIR": str(folder / "data"), "CHATVLM_OCR_MODEL": "embedded", "HF_HUB_OFFLINE": "1"}
    procs = Processes(folder)
    try:
        base = start_server(procs, "server", env)
        pid = procs.running[0][0].pid
        idle, tree_idle = settle(pid), tree_rss(pid)
        print(f"idle: {idle / MB:.0f} MB", flush=True)
        sampler = Sampler(pid)
        sampler.start()
        errors: list[str] = []
        started = time.perf_counter()

        def jobs() -> None:
            for size in job_sizes:
                run_job(base, [("scan.pdf", pdfs[size])], 3600)

        def batches() -> None:
            with httpx.Client(base_url=base, timeout=3600) as client:
                for i, size in enumerate(batch_sizes):
                    files = [("files", (f"p{i}_{k}.png", images[(i + k) % 10], "image/png")) for k in range(size)]
                    response = client.post("/batch/ocr", files=files, data={"model": "embedded"})
                    if response.status_code != 200:
                        errors.append(f"batch: {response.status_code} {response.text[:200]}")

        def single() -> None:
            with httpx.Client(base_url=base, timeout=600) as client:
                for i in range(singles):
                    response = client.post("/ocr", files={"file": (f"s{i}.png", images[i % 10], "image/png")})
                    if response.status_code != 200:
                        errors.append(f"ocr: {response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=work) for work in (jobs, batches, single)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        after_work = settle(pid)
        print(f"after the work: {after_work / MB:.0f} MB (peak {sampler.peak / MB:.0f} MB)", flush=True)
        with httpx.Client(base_url=base, timeout=120) as client:
            loaded = client.get("/models").json()["loaded"]
            for model_id in loaded:
                response = client.delete(f"/models/{model_id}")
                if response.status_code != 200:
                    raise SystemExit(f"unloading {model_id}: {response.status_code} {response.text[:200]}")
        after_unload, tree_after = settle(pid, 5.0), tree_rss(pid)
        summary = {
            "pages": args.pages,
            "seconds": round(seconds, 1),
            "idle_mb": round(idle / MB),
            "peak_mb": round(sampler.peak / MB),
            "after_work_mb": round(after_work / MB),
            "after_unload_mb": round(after_unload / MB),
            "growth_mb": round((after_unload - idle) / MB),
            "tree_idle_mb": round(tree_idle / MB),
            "tree_peak_mb": round(sampler.tree_peak / MB),
            "tree_after_unload_mb": round(tree_after / MB),
            "unloaded": "+".join(loaded) or "-",
            "errors": len(errors),
        }
        for problem in errors[:5]:
            print(f"  {problem}")
        print(" ".join(f"{key}={value}" for key, value in summary.items()))
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
