"""Lanes: an interactive POST /ocr's latency while a long job runs on the same model, against its latency alone.

    python app.py &                                        # or any CHATVLM_CONFIG
    python bench/lanes.py http://127.0.0.1:8000            # the server's default OCR model
    python bench/lanes.py http://127.0.0.1:8000 --model embedded --pages 200 --requests 10 --key $KEY

First ``--requests`` OCR requests one after another on an idle server (alone); then a job of ``--pages`` scanned
pages on the same model, and, once it is running, the same requests again while it reads (during); then the job is
cancelled. A job's pages wait behind interactive requests in the model's queue (the runner's lanes), so a request
should wait at most about one batch of job pages: ``ratio_p50`` near 1 (plus one batch's time), not the job's
length. Loopback addresses only (as bench/load.py). Ends with a one-line key=value summary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import loopback_only, percentile  # noqa: E402


def ocr_latencies(client: httpx.Client, image: bytes, params: dict, n: int, job: str | None = None) -> tuple[list[float], bool]:
    """Seconds of ``n`` OCR requests sent one after another; whether ``job`` was still running after each."""
    seconds, running = [], True
    for _ in range(n):
        start = time.perf_counter()
        response = client.post("/ocr", files={"file": ("page.png", image)}, data=params)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"/ocr answered {response.status_code}: {response.text[:200]}")
        if job is not None:
            running = running and client.get(f"/jobs/{job}").json().get("state") == "running"
    return seconds, running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--model", default=None, help="model id for both (default: the server's default OCR model)")
    parser.add_argument("--pages", type=int, default=120, help="pages of the long job (scanned: each one is OCR)")
    parser.add_argument("--requests", type=int, default=8, help="interactive requests, alone and during the job")
    parser.add_argument("--key", default=None, help="an API key, when the server has keys")
    parser.add_argument("--timeout", type=float, default=300.0, help="at most this long for the job to start")
    args = parser.parse_args(argv)
    base = args.base.rstrip("/")
    loopback_only(base)

    from tests.helpers import ENGLISH, encode, image_pdf, render_lines

    image = encode(render_lines(ENGLISH))
    pdf = image_pdf([render_lines([f"Page {n} of the long job", "Revenue and costs"], 24) for n in range(1, args.pages + 1)])
    params = {"model": args.model} if args.model else {}
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        ocr_latencies(client, image, params, 1)  # warm: the model loaded
        alone, _ = ocr_latencies(client, image, params, args.requests)
        sent = client.post("/jobs", files=[("files", ("long.pdf", pdf))], data=params)
        if sent.status_code != 202:
            raise SystemExit(f"POST /jobs answered {sent.status_code}: {sent.text[:200]}")
        job = sent.json()["id"]
        try:
            deadline = time.monotonic() + args.timeout
            while (status := client.get(f"/jobs/{job}").json())["state"] != "running" or not status["pages_done"]:
                if time.monotonic() > deadline or status["state"] not in ("queued", "running"):
                    raise SystemExit(f"the job did not start reading: {status}")
                time.sleep(0.2)
            before, started = status["pages_done"], time.perf_counter()
            during, running = ocr_latencies(client, image, params, args.requests, job)
            after, spent = client.get(f"/jobs/{job}").json()["pages_done"], time.perf_counter() - started
        finally:
            client.delete(f"/jobs/{job}")

    p50_alone, p50_during = statistics.median(alone), statistics.median(during)
    print(f"\nInteractive /ocr on {base} (model: {args.model or 'server default'}), alone and during a {args.pages}-page job")
    print(f"{'':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for name, values in (("alone", alone), ("during", during)):
        print(f"{name:>8} {statistics.median(values):>7.3f} {percentile(values, 0.95):>7.3f} {max(values):>7.3f}")
    page_s = spent / max(1, after - before)
    print(f"job pages read while the requests ran: {after - before}, {page_s:.3f} s each (running throughout: {running})")
    print(
        f"alone_p50={p50_alone:.3f} during_p50={p50_during:.3f} ratio_p50={p50_during / p50_alone:.2f} "
        f"during_max={max(during):.3f} ratio_max={max(during) / max(alone):.2f} job_pages_during={after - before} "
        f"job_page_s={page_s:.3f} "
        f"job_running={int(running)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
