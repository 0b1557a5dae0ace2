"""The benchmark scripts run end to end on data the test makes (a real run, small). A release runs the benchmarks:
these are release checks (the `slow` marker), as the figures they print are."""

import json
import math
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.helpers import ENGLISH, needs_tesseract, render_lines, text_pdf

pytestmark = pytest.mark.slow  # release checks: the benchmarks (OCR quality, throughput, load)


def summary_of(stdout: str) -> dict[str, str]:
    """The last line the benchmark printed: `key=value` pairs."""
    return dict(pair.split("=") for pair in stdout.strip().splitlines()[-1].split())


def run_bench(*args: str, timeout: int) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """A benchmark script run to its end here: the finished process (it succeeded) and its summary."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result, summary_of(result.stdout)


def rate(value: str) -> float:
    """A speed the benchmark measured: a real number of things per second (not nan, not inf, not 0)."""
    number = float(value)
    assert math.isfinite(number) and number > 0, value
    return number


@needs_tesseract  # (it compares the engines, Tesseract's among them)
def test_ocr_quality_benchmark_prints_its_summary(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "gt").mkdir()
    manifest = []
    for i, lines in enumerate([ENGLISH, ENGLISH[:1]]):
        render_lines(lines).save(tmp_path / "images" / f"{i}.png")
        (tmp_path / "gt" / f"{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        manifest.append({"id": str(i), "image": f"images/{i}.png", "gt": f"gt/{i}.txt", "lang": "en"})
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(m) for m in manifest), encoding="utf-8")
    # the folder's images, then one page of bench/pages.py: page 2, a ruled table
    result, summary = run_bench("bench/ocr_quality.py", str(tmp_path), "--pages", "1", "--first", "2", timeout=300)
    # what was asked: the two images of the folder, then one rendered page (with a table), each read by every engine
    assert f"{tmp_path} (2 images)" in result.stdout and "rendered pages (bench/pages.py, 1) (1 images)" in result.stdout
    assert "not installed" not in result.stdout, result.stdout  # Tesseract too (.ci/run installs it)
    # clean rendered English lines: every engine reads them almost exactly, at a real speed
    for engine in ("default", "rapidocr", "tesseract"):
        assert 0 <= float(summary[f"{engine}_cer"]) <= 0.05, (engine, summary)
        assert float(summary[f"{engine}_cer_en"]) == float(summary[f"{engine}_cer"])  # one language: en is all
        rate(summary[f"{engine}_ips"])
    # one rendered page (bench/pages.py), read by the default (alone, in a batch, and as a document: a multi-page
    # TIFF of the pages) and Tesseract (one core, all)
    for engine in ("default_one", "default", "default_doc", "tesseract", "tess_all"):
        assert 0 <= float(summary[f"pages_{engine}_cer"]) <= 0.2, (engine, summary)
        assert 0.8 <= float(summary[f"pages_{engine}_f1"]) <= 1, (engine, summary)
        assert summary[f"pages_{engine}_cjk"] == "0", (engine, summary)  # an English page reads as no CJK
        rate(summary[f"pages_{engine}_ips"])
    assert float(summary["pages_default_cer"]) <= 0.05 and float(summary["pages_default_one_cer"]) <= 0.05
    # its structure: the table's cell-adjacency tests and the running header, footer and page number's absence, as
    # shares; the table reader alone on the table's box passes most of its tests (the goal: 0.6), in real time
    assert "structure of the rendered pages (1 with tables, 1 with headers and footers)" in result.stdout
    for engine in ("default_one", "default_doc", "tesseract"):
        assert 0 <= float(summary[f"pages_{engine}_table"]) <= 1 and summary[f"pages_{engine}_absent"] in ("0.000", "1.000")
        assert re.search(rf"^{engine} +{summary[f'pages_{engine}_table']} ", result.stdout, re.MULTILINE), engine
    assert (summary["pages_table"], summary["pages_absent"], summary["pages_absent_doc"]) == (
        summary["pages_default_one_table"],
        summary["pages_default_one_absent"],
        summary["pages_default_doc_absent"],
    )
    assert float(summary["pages_read_table"]) >= 0.6 and 0 <= float(summary["pages_find_tables"]) <= 1, summary
    assert 0 < rate(summary["pages_read_table_ms"]) < 5000, summary
    # speed both ways: a page alone, and pages with every core busy; as ratios over Tesseract, of the speeds printed
    for key, ours, theirs in (("pages_one_x", "default_one", "tesseract"), ("pages_all_x", "default", "tess_all")):
        expected = rate(summary[f"pages_{ours}_ips"]) / rate(summary[f"pages_{theirs}_ips"])
        assert float(summary[key]) == pytest.approx(expected, rel=0.02, abs=0.01), (key, summary)


def test_throughput_benchmark_runs_on_the_cpu_tiny_model(tiny_build):
    result, summary = run_bench(
        "bench/throughput.py", "--requests", "4", "--max-tokens", "8", "--tiny-models", str(tiny_build), timeout=600
    )
    assert "4 requests, 8 new tokens" in result.stdout  # what was asked
    for key in ("seq_ips", "concurrent_ips", "batch_ips", "fast_tokens_per_s", "floor_tokens_per_s", "chat_tokens_per_s"):
        rate(summary[key])
    # the ratios are of the speeds it measured
    seq = float(summary["seq_ips"])
    for ratio, speed in (("concurrent_x", "concurrent_ips"), ("batch_x", "batch_ips")):
        assert float(summary[ratio]) == pytest.approx(float(summary[speed]) / seq, rel=0.05, abs=0.01), summary
    assert float(summary["floor_fraction"]) == pytest.approx(
        float(summary["fast_tokens_per_s"]) / float(summary["floor_tokens_per_s"]), rel=0.05, abs=0.002
    ), summary
    rate(summary["fast_concurrent_x"])
    # the 4 concurrent requests were batched: batches of 1 to 4 that add up to the 4 requests
    sizes = json.loads(re.search(r"batch sizes seen \(concurrent\): (\[[\d, ]*\])", result.stdout)[1])
    assert sizes and all(1 <= size <= 4 for size in sizes) and sum(sizes) == 4, sizes
    tokens = int(re.search(r"chat, one request: [\d.]+ s for (\d+) tokens", result.stdout)[1])
    assert 1 <= tokens <= 8, result.stdout  # --max-tokens 8


def test_load_benchmark_prints_its_summary_and_loads_only_this_machine(live_server):
    result, summary = run_bench(
        "bench/load.py", live_server, "--levels", "1,2", "--requests", "2", "--model", "rapidocr", timeout=300
    )
    for level in (1, 2):  # 2 requests at each level, all answered: latencies and a health probe that never waited long
        row = re.search(rf"^ +{level} +(\d+) +(\d+) ", result.stdout, re.MULTILINE)
        assert row and row.groups() == ("2", "2"), result.stdout
        assert summary[f"c{level}_not_ok"] == "0", summary
        rate(summary[f"c{level}_rps"])
        assert 0 < float(summary[f"c{level}_p50"]) <= float(summary[f"c{level}_p99"]) < 120, summary
        assert 0 < float(summary[f"c{level}_health_max"]) < 10, summary
    assert float(summary["health_max"]) == max(float(summary["c1_health_max"]), float(summary["c2_health_max"]))
    elsewhere = subprocess.run(
        [sys.executable, "bench/load.py", "http://192.0.2.1:8000"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert elsewhere.returncode != 0 and "loopback" in elsewhere.stderr


@needs_tesseract  # (the second model compared)
def test_peer_pages_benchmark_scores_each_page_by_the_peers_own_tests(tmp_path):
    """bench/peer_pages.py on a folder of olmOCR-Bench's layout made here (a two-page PDF with a text layer, tests of
    the benchmark's kinds), scored by its own classes (requirements-peer.txt): each page alone, as a PNG for both models
    and as the PDF's page for the first."""
    (tmp_path / "pdfs").mkdir()
    # (the text starts high on the page, in its top margin: a letter's first lines, not a running header, for both models)
    (tmp_path / "pdfs" / "letter.pdf").write_bytes(text_pdf([ENGLISH, ["Second page of the letter", "Kind regards"]]))
    tests = [
        {"type": "present", "page": 1, "text": ENGLISH[1]},
        {"type": "absent", "page": 1, "text": "Kind regards"},  # page 2's: each page is read alone
        {"type": "order", "page": 1, "before": ENGLISH[0], "after": ENGLISH[2]},
        {"type": "present", "page": 2, "text": "Kind regards"},
        {"type": "absent", "page": 2, "text": ENGLISH[0]},
        {"type": "math", "page": 2, "math": "e^{i\\pi}+1=0"},  # left out (LaTeX rendered in a browser)
    ]
    lines = [json.dumps({"pdf": "letter.pdf", "id": f"t{i}", **test}) for i, test in enumerate(tests)]
    (tmp_path / "dataset.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, summary = run_bench("bench/peer_pages.py", str(tmp_path), "--reps", "1", "--pdf", timeout=600)
    assert "5 tests of" in result.stdout and "on 2 pages; models embedded against tesseract" in result.stdout
    # clean printed lines: every test passes for both engines, from the PNG and from the PDF's text layer alike
    for key in ("peer_embedded", "peer_tesseract", "peer_embedded_pdf"):
        assert summary[key] == "1.000", (key, summary, result.stdout)
    for model in ("embedded", "tesseract"):
        assert {k for k in summary if k.startswith(f"peer_{model}_") and not k.endswith(("_s", "_pdf"))} == {
            f"peer_{model}_{kind}" for kind in ("absent", "order", "present")
        }, summary
        rate(summary[f"peer_{model}_s"])
    assert float(summary["peer_time_x"]) == pytest.approx(
        float(summary["peer_embedded_s"]) / float(summary["peer_tesseract_s"]), rel=0.01, abs=0.005
    ), summary
    assert float(summary["peer_tesseract_cpu_s"]) > 0.1, summary  # (the server's CPU while it read: a page ~0.5 s)
    assert float(summary["peer_cpu_x"]) == pytest.approx(
        float(summary["peer_embedded_cpu_s"]) / float(summary["peer_tesseract_cpu_s"]), rel=0.01, abs=0.005
    ), summary


@pytest.mark.slow  # three setups of real processes (a server; Redis, PostgreSQL, an API replica and two workers)
def test_jobs_benchmark_runs_a_job_three_ways_and_prints_its_summary():
    from tests.services import postgres_missing, redis_missing

    if reason := redis_missing() or postgres_missing():
        pytest.skip(reason)
    pages = 1  # a scanned A4 page costs ~8 CPU s here, read 3 times: the figures are a release's, the test checks the script
    result, summary = run_bench("bench/jobs.py", "--pages", str(pages), "--concurrency", "1", timeout=900)
    assert list(summary) == [
        *("single_pps", "one_worker_x", "two_workers_x", "worker_share_min"),  # the line, then CPU ratios
        *("one_worker_cpu_x", "two_workers_cpu_x"),
    ], summary
    assert f"{pages}-page scanned PDF as a job, concurrency 1 per process" in result.stdout  # what was asked
    rows = {}
    for label in ("one process", "one worker", "two workers"):
        row = re.search(rf"^{label} +([\d.]+) +([\d.]+) +([\d.]+) +[\d.]+ +[\d.]+  (.*)$", result.stdout, re.MULTILINE)
        assert row, (label, result.stdout)
        seconds, pps, ratio = (float(v) for v in row.groups()[:3])
        # every page was read, by whom the setup has: this process, w1 alone, w1 and w2 (each page once)
        readers = {name: int(n) for name, n in re.findall(r"([\w:.-]+): (\d+) \(", row[4])}
        assert sum(readers.values()) == pages, (label, readers)
        rows[label] = (rate(str(pps)), readers)
        assert pps == pytest.approx(pages / seconds, rel=0.02, abs=0.002), (label, row[0])
        assert ratio == pytest.approx(pps / rows["one process"][0], rel=0.02, abs=0.01), (label, row[0])
    assert len(rows["one process"][1]) == 1 and set(rows["one worker"][1]) == {"w1"}, rows
    assert set(rows["two workers"][1]) <= {"w1", "w2"}, rows
    # the summary is of the figures in the table
    assert float(summary["single_pps"]) == pytest.approx(rows["one process"][0], rel=0.01)
    for key, label in (("one_worker_x", "one worker"), ("two_workers_x", "two workers")):
        assert float(summary[key]) == pytest.approx(rows[label][0] / rows["one process"][0], rel=0.02, abs=0.01), summary
    # CPU a page: the single process's over each setup's (all its processes), from the CPU table printed
    cpu = {
        label: float(re.search(rf"^{label} +([\d.]+)  \(", result.stdout, re.MULTILINE)[1])
        for label in ("one process", "one worker", "two workers")
    }
    assert all(0.5 < spent < 120 for spent in cpu.values()), cpu  # reading a scanned A4 page takes CPU seconds
    for key, label in (("one_worker_cpu_x", "one worker"), ("two_workers_cpu_x", "two workers")):
        assert float(summary[key]) == pytest.approx(cpu["one process"] / cpu[label], rel=0.03, abs=0.01), (summary, cpu)
    two = rows["two workers"][1]
    assert float(summary["worker_share_min"]) == min(two.get("w1", 0), two.get("w2", 0)) / pages, (summary, two)
