"""Jobs past one process: one scanned PDF as a job, read by one process, then by Celery workers (one, then two).

    python bench/jobs.py                        # 40 pages, as many at once as config.yaml's jobs.workers
    python bench/jobs.py --pages 4 --concurrency 2

Every part is a real process on this machine: `python app.py` alone (SQLite, its own threads: ``jobs.workers``),
then a real redis-server and PostgreSQL (started here, in temporary folders; Debian packages redis-server and
postgresql), an API replica (`python app.py` with CHATVLM_BROKER_URL / CHATVLM_DATABASE_URL) and workers
(`python -m inference.worker --models embedded --name wN --concurrency C`, C = the single process's threads). The
document: ``--pages`` A4 pages rendered by bench/pages.py with a scanner's look, in a PDF with no text layer, read
by the embedded OCR. Each setup first reads a small warm-up job (until every worker has read a page of it: models
loaded), then the document: pages/s from the POST to the poll that sees it done, and who read which page
(/metrics ``chatvlm_jobs_pages_read{worker=...}``, before and after). Ends with a one-line key=value summary:
``single_pps`` and, as ratios to it, ``one_worker_x`` and ``two_workers_x``; ``worker_share_min``: the smaller share
of the pages one of the two workers read; ``one_worker_cpu_x`` / ``two_workers_cpu_x``: the single process's CPU
seconds a page over the distributed setup's (every process of it: API replica, workers, Redis, PostgreSQL, this
client), which other work on a shared machine moves far less than pages/s (that work shows in the load averages).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL = "embedded"
START_TIMEOUT_S = 180.0  # a cold process on a busy 2-core machine: imports and the model's first load
ENDED = ("done", "failed", "cancelled")
POLL_S = 0.25  # how often the job is polled (as a client would; the poll's own cost is small at this rate)


def scanned_pdf(pages: int) -> bytes:
    """``pages`` pages of bench/pages.py, each with a scanner's look, in an image-only PDF."""
    from bench.pages import is_scan, render_page, scanned
    from tests.helpers import image_pdf

    images = []
    for number in range(1, pages + 1):
        image, _ = render_page(number)
        images.append(image if is_scan(number) else scanned(image, random.Random(number)))
    return image_pdf(images)


def warmup_png() -> bytes:
    from tests.helpers import encode, render_lines

    return encode(render_lines(["Warm up 1234", "the model loads"]))


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_seconds(groups: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system, with reaped children's) of each process group, by name; this script's own as
    ``client``."""
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys(groups, 0.0)
    names = {pgid: name for name, pgid in groups.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        name = names.get(int(fields[2]))
        if name is not None:
            out[name] += sum(int(value) for value in fields[11:15]) / tick
    own = os.times()
    out["client"] = own.user + own.system
    return out


class Processes:
    """The processes started here (each in its own process group), stopped at the end; their logs in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: list[tuple[subprocess.Popen, Path]] = []
        self.groups: dict[str, int] = {}  # name -> process group, for the CPU time each took

    def start(self, name: str, command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        self.running.append((process, log))
        self.groups[name] = process.pid
        return process, log

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(15)

    def stop_all(self) -> None:
        for process, _ in reversed(self.running):
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                self.stop(process)
        self.groups.clear()


def tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_until(check, what: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited ({process.returncode}):\n{tail(log)}")
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"{what} was not ready in {timeout:.0f} s:\n{tail(log)}")


def start_server(procs: Processes, name: str, env: dict[str, str]) -> str:
    """`python app.py` on a free port; its base URL once /ready answers 200 (its preloaded model loaded)."""
    import httpx

    from tests.services import free_port

    port = free_port()
    process, log = procs.start(name, [sys.executable, "app.py"], {**env, "PORT": str(port), "CHATVLM_HOST": "127.0.0.1"})
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/ready", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, f"the server {name}", process, log)
    return base


def start_worker(procs: Processes, name: str, env: dict[str, str], concurrency: int) -> None:
    """`python -m inference.worker`, once Celery says it is ready (consuming its queue)."""
    command = [sys.executable, "-m", "inference.worker", "--models", MODEL, "--name", name, "--concurrency", str(concurrency)]
    process, log = procs.start(name, command, env)
    wait_until(lambda: re.search(r"\bready\.", tail(log, 20000)), f"the worker {name}", process, log)


def pages_read(base: str) -> dict[str, int]:
    """/metrics chatvlm_jobs_pages_read: pages read so far by each worker (of the jobs kept)."""
    import httpx

    text = httpx.get(f"{base}/metrics", timeout=30).text
    found = re.findall(r'^chatvlm_jobs_pages_read\{worker="([^"]*)"\} ([0-9.e+]+)$', text, re.MULTILINE)
    return {worker: int(float(count)) for worker, count in found}


def run_job(base: str, files: list[tuple[str, bytes]], timeout: float) -> tuple[float, dict, dict]:
    """Submit, poll until it ended, fetch the result: (seconds from the POST to the poll that saw it done, status,
    result)."""
    import httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        response = client.post("/jobs", files=[("files", file) for file in files], data={"model": MODEL})
        if response.status_code != 202:
            raise SystemExit(f"POST /jobs answered {response.status_code}: {response.text[:500]}")
        job_id = response.json()["id"]
        deadline = time.monotonic() + timeout
        while True:
            status = client.get(f"/jobs/{job_id}").json()
            if status["state"] in ENDED:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the job was not done in {timeout:.0f} s: {status}")
            time.sleep(POLL_S)
        seconds = time.perf_counter() - started
        if status["state"] != "done":
            raise SystemExit(f"the job ended {status['state']}: {status}")
        result = client.get(f"/jobs/{job_id}/result").json()
    return seconds, status, result


def warm_up(base: str, workers: list[str], concurrency: int) -> None:
    """Small jobs until each worker read a page of one (its model loaded); at most 10."""
    before = pages_read(base)
    for _ in range(10):
        run_job(base, [(f"w{i}.png", warmup_png()) for i in range(2 * concurrency * max(1, len(workers)))], 300)
        now = pages_read(base)
        if all(now.get(w, 0) > before.get(w, 0) for w in workers):
            return
    print(f"  (warm-up: not every worker read a page: {now})")


def measure(
    label: str, base: str, pdf: bytes, pages: int, workers: list[str], concurrency: int, timeout: float, groups: dict[str, int]
) -> dict:
    warm_up(base, workers, concurrency)
    before, load_before, cpu_before = pages_read(base), load(), cpu_seconds(groups)
    seconds, status, result = run_job(base, [("scan.pdf", pdf)], timeout)
    cpu = {name: spent - cpu_before.get(name, 0.0) for name, spent in cpu_seconds(groups).items()}
    after = pages_read(base)
    read = {w: after.get(w, 0) - before.get(w, 0) for w in after}
    read = {w: n for w, n in read.items() if n}
    doc = result["results"][0]
    empty = [p["page"] for p in doc.get("pages", []) if p.get("error") or not p.get("text", "").strip()]
    if status["pages_done"] != pages or len(doc.get("pages", [])) != pages or empty:
        raise SystemExit(f"{label}: {status['pages_done']}/{pages} pages, empty or failed: {empty}")
    if sum(read.values()) != pages or (workers and not set(read) <= set(workers)):
        raise SystemExit(f"{label}: /metrics says the {pages} pages were read by {read} (workers: {workers or 'this process'})")
    row = {
        "label": label,
        "seconds": seconds,
        "pps": pages / seconds,
        "read": read,
        "model_s": sum(p["processing_time"] for p in doc["pages"]),
        "open_s": status["started_at"] - status["created_at"] if status.get("started_at") else float("nan"),
        "load": f"{load_before} -> {load()}",
        "cpu": cpu,
    }
    print(f"  {label}: {seconds:.1f} s, {row['pps']:.3f} pages/s, pages read by {read}, load average {row['load']}", flush=True)
    return row


def config_copy(folder: Path, concurrency: int) -> Path:
    """config.yaml with ``jobs.workers`` = ``concurrency`` (the single process's threads)."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["jobs"]["workers"] = concurrency
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="pages of the scanned PDF (default 40)")
    parser.add_argument("--concurrency", type=int, default=None, help="pages read at once per process (default: jobs.workers)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="at most this long for one job (seconds)")
    parser.add_argument("--keep", action="store_true", help="keep the folder of logs and data (its path is printed)")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")

    from inference import load_settings
    from tests.services import PostgresService, RedisService, postgres_missing, redis_missing

    missing = redis_missing() or postgres_missing()
    if missing:
        print(f"bench/jobs.py needs a real Redis and PostgreSQL: {missing}", file=sys.stderr)
        return 2
    concurrency = args.concurrency or load_settings(ROOT / "config.yaml", env={}).jobs.workers
    folder = Path(tempfile.mkdtemp(prefix="chatvlm-bench-jobs-"))
    env = {k: v for k, v in os.environ.items() if k not in ("CHATVLM_BROKER_URL", "CHATVLM_DATABASE_URL", "PORT")}
    env.update(CHATVLM_CONFIG=str(config_copy(folder, concurrency)), CHATVLM_OCR_MODEL=MODEL, CHATVLM_PRELOAD=MODEL)
    started = time.perf_counter()
    pdf = scanned_pdf(args.pages)
    rendered = time.perf_counter() - started
    print(
        f"{args.pages} scanned pages (bench/pages.py, {len(pdf) / 1e6:.1f} MB PDF, rendered in {rendered:.1f} s), "
        f"model {MODEL}, concurrency {concurrency} per process, {os.cpu_count()} CPUs, load average {load()}",
        flush=True,
    )
    procs = Processes(folder)
    rows = []
    try:
        single = start_server(procs, "single", {**env, "CHATVLM_DATA_DIR": str(folder / "single")})
        rows.append(measure("one process", single, pdf, args.pages, [], concurrency, args.timeout, procs.groups))
        procs.stop_all()  # its threads would compete for the cores with the workers

        redis, postgres = RedisService(), PostgresService()  # each in a temporary folder of its own
        try:
            redis.start()
            postgres.start()
            shared = {**env, "CHATVLM_BROKER_URL": redis.url, "CHATVLM_DATABASE_URL": postgres.url}
            api = start_server(procs, "api", {**shared, "CHATVLM_DATA_DIR": str(folder / "api"), "CHATVLM_PRELOAD": ""})
            groups = {**procs.groups, "redis": redis.pid, "postgres": postgres.pid}
            start_worker(procs, "w1", shared, concurrency)
            groups["w1"] = procs.groups["w1"]
            rows.append(measure("one worker", api, pdf, args.pages, ["w1"], concurrency, args.timeout, groups))
            start_worker(procs, "w2", shared, concurrency)
            groups["w2"] = procs.groups["w2"]
            rows.append(measure("two workers", api, pdf, args.pages, ["w1", "w2"], concurrency, args.timeout, groups))
        finally:
            procs.stop_all()
            redis.close()
            postgres.close()
    finally:
        procs.stop_all()
        if args.keep:
            print(f"logs and data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    single_pps = rows[0]["pps"]
    print(f"\n{args.pages}-page scanned PDF as a job, concurrency {concurrency} per process (jobs.workers, --concurrency)")
    print(f"{'setup':<12} {'seconds':>8} {'pages/s':>8} {'x single':>8} {'opened s':>8} {'model s':>8}  pages read by")
    for row in rows:
        shares = ", ".join(f"{w}: {n} ({n / args.pages:.0%})" for w, n in sorted(row["read"].items()))
        print(
            f"{row['label']:<12} {row['seconds']:>8.2f} {row['pps']:>8.3f} {row['pps'] / single_pps:>8.2f} "
            f"{row['open_s']:>8.2f} {row['model_s']:>8.1f}  {shares}"
        )
    print("(opened s: from the POST until the job ran; model s: the pages' reading times added up)")
    print(f"\nCPU seconds per page, by process (client: this script, polling every {POLL_S} s)")
    for row in rows:
        spent = ", ".join(f"{name} {value / args.pages:.2f}" for name, value in row["cpu"].items())
        print(f"{row['label']:<12} {sum(row['cpu'].values()) / args.pages:>6.2f}  ({spent})")
    two = rows[2]["read"]
    share_min = min((two.get(w, 0) / args.pages for w in ("w1", "w2")), default=0.0)
    cpu = [sum(row["cpu"].values()) / args.pages for row in rows]  # CPU s a page, every process of the setup
    print(
        f"single_pps={single_pps:.3f} one_worker_x={rows[1]['pps'] / single_pps:.2f} "
        f"two_workers_x={rows[2]['pps'] / single_pps:.2f} worker_share_min={share_min:.2f} "
        f"one_worker_cpu_x={cpu[0] / cpu[1]:.2f} two_workers_cpu_x={cpu[0] / cpu[2]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
