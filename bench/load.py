"""Load test of a running server on this machine: OCR requests at rising concurrency, /health probed meanwhile.

    python app.py &                                   # or any CHATVLM_CONFIG
    python bench/load.py http://127.0.0.1:8000        # OCR with the server's default model
    python bench/load.py http://127.0.0.1:8000 --model rapidocr --levels 1,4,16,64 --image page.png

For each concurrency level it keeps that many OCR requests in flight (bounded: ``--requests`` per level, at
most ``--seconds`` per level), probes ``/health`` every 0.1 s, and prints throughput, latency percentiles,
the status codes seen (503 = the server refused work it had no room for, as it should under overload; the
client then waits as its Retry-After says) and the worst /health latency. Loopback addresses only: this is
a benchmark, not a tool to load other hosts.
Ends with a one-line key=value summary.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ipaddress
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def loopback_only(base: str) -> None:
    host = urlparse(base).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"bench/load.py only loads servers on this machine (loopback); {host!r} is not one.")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def level(base: str, concurrency: int, total: int, seconds: float, image: bytes, params: dict) -> dict:
    import httpx

    latencies: list[float] = []
    codes: collections.Counter[str] = collections.Counter()
    health: list[float] = []
    stop_at = time.monotonic() + seconds
    sent = 0
    async with httpx.AsyncClient(timeout=max(seconds, 30), limits=httpx.Limits(max_connections=concurrency + 8)) as client:

        async def worker() -> None:
            nonlocal sent
            while sent < total and time.monotonic() < stop_at:
                sent += 1
                started = time.perf_counter()
                try:
                    response = await client.post(f"{base}/ocr", params=params, files={"file": ("page.png", image)})
                    codes[str(response.status_code)] += 1
                    if response.status_code == 200:
                        latencies.append(time.perf_counter() - started)
                    elif response.status_code == 503 and "Retry-After" in response.headers:  # a polite client waits
                        wait = min(float(response.headers["Retry-After"]), stop_at - time.monotonic())
                        await asyncio.sleep(max(0.0, wait))
                except httpx.HTTPError as exc:
                    codes[type(exc).__name__] += 1

        done = threading.Event()

        def probe() -> None:  # its own thread and connection: the load's event loop must not delay the probe
            with httpx.Client(timeout=30) as prober:
                while not done.wait(0.1):
                    started = time.perf_counter()
                    try:
                        prober.get(f"{base}/health")
                        health.append(time.perf_counter() - started)
                    except httpx.HTTPError:
                        health.append(float("inf"))

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        done.set()
        prober.join()
    return {
        "concurrency": concurrency,
        "sent": sent,
        "ok": len(latencies),
        "rps": len(latencies) / wall,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "codes": dict(codes),
        "health_max": max(health, default=float("nan")),
        "wall": wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--model", default=None, help="model id (default: the server's default OCR model)")
    parser.add_argument("--levels", default="1,4,16,64", help="concurrency levels, comma-separated")
    parser.add_argument("--requests", type=int, default=None, help="requests per level (default 2 x level, at least 8)")
    parser.add_argument("--seconds", type=float, default=120.0, help="at most this long per level")
    parser.add_argument("--image", type=Path, default=None, help="image to read (default: a rendered receipt-sized page)")
    args = parser.parse_args(argv)
    base = args.base.rstrip("/")
    loopback_only(base)

    if args.image:
        image = args.image.read_bytes()
    else:
        from tests.helpers import ENGLISH, encode, render_lines

        image = encode(render_lines(ENGLISH * 4))
    params = {"model": args.model} if args.model else {}
    rows = []
    for concurrency in (int(c) for c in args.levels.split(",")):
        total = args.requests or max(8, 2 * concurrency)
        rows.append(asyncio.run(level(base, concurrency, total, args.seconds, image, params)))

    print(f"\nOCR load on {base} (model: {args.model or 'server default'})")
    print(
        f"{'in flight':>9} {'sent':>5} {'ok':>5} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} "
        f"{'/health max s':>13}  status codes"
    )
    for r in rows:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(r["codes"].items()))
        print(
            f"{r['concurrency']:>9} {r['sent']:>5} {r['ok']:>5} {r['rps']:>7.2f} {r['p50']:>7.2f} {r['p95']:>7.2f} "
            f"{r['p99']:>7.2f} {r['health_max']:>13.3f}  {codes}"
        )
    summary = []
    for r in rows:
        c = r["concurrency"]
        refused = sum(n for code, n in r["codes"].items() if code != "200")
        summary += [
            f"c{c}_rps={r['rps']:.2f}",
            f"c{c}_p50={r['p50']:.2f}",
            f"c{c}_p99={r['p99']:.2f}",
            f"c{c}_not_ok={refused}",
            f"c{c}_health_max={r['health_max']:.3f}",
        ]
    worst = max((r["health_max"] for r in rows), default=float("nan"))
    print(" ".join([*summary, f"health_max={worst:.3f}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
