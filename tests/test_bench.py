"""The benchmark scripts run end to end on data the test makes (a real run, small)."""

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ENGLISH, render_lines

ROOT = Path(__file__).resolve().parent.parent


def test_ocr_quality_benchmark_prints_its_summary(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "gt").mkdir()
    manifest = []
    for i, lines in enumerate([ENGLISH, ENGLISH[:1]]):
        render_lines(lines).save(tmp_path / "images" / f"{i}.png")
        (tmp_path / "gt" / f"{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        manifest.append({"id": str(i), "image": f"images/{i}.png", "gt": f"gt/{i}.txt", "lang": "en"})
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(m) for m in manifest), encoding="utf-8")
    result = subprocess.run([sys.executable, "bench/ocr_quality.py", str(tmp_path), "--pages", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = dict(pair.split("=") for pair in result.stdout.strip().splitlines()[-1].split())
    for key in ("default_cer", "default_ips", "rapidocr_cer", "rapidocr_ips", "tesseract_cer", "tesseract_ips"):
        assert key in summary
    assert float(summary["default_cer"]) <= 0.05 and float(summary["default_ips"]) > 0
    # one rendered page (bench/pages.py), read by the default and Tesseract
    assert float(summary["pages_default_cer"]) <= 0.05 and summary["pages_default_cjk"] == "0"
    assert "pages_tesseract_cer" in summary and "rendered pages" in result.stdout
    # speed both ways: a page alone, and pages with every core busy; as ratios over Tesseract
    assert float(summary["pages_default_one_cer"]) <= 0.05 and float(summary["pages_tess_all_ips"]) > 0
    assert float(summary["pages_one_x"]) > 0 and float(summary["pages_all_x"]) > 0


def test_throughput_benchmark_runs_on_the_cpu_tiny_model(tiny_build):
    result = subprocess.run([sys.executable, "bench/throughput.py", "--requests", "4", "--max-tokens", "8",
                             "--tiny-models", str(tiny_build[0])], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = dict(pair.split("=") for pair in result.stdout.strip().splitlines()[-1].split())
    for key in ("concurrent_x", "batch_x", "seq_ips", "fast_concurrent_x", "fast_tokens_per_s", "floor_tokens_per_s",
                "chat_tokens_per_s"):
        assert float(summary[key]) > 0
    assert "batch sizes seen (concurrent)" in result.stdout


def test_load_benchmark_prints_its_summary_and_loads_only_this_machine(live_server):
    result = subprocess.run([sys.executable, "bench/load.py", live_server, "--levels", "1,2", "--requests", "2",
                             "--model", "rapidocr"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = dict(pair.split("=") for pair in result.stdout.strip().splitlines()[-1].split())
    assert float(summary["c1_rps"]) > 0 and summary["c2_not_ok"] == "0" and float(summary["health_max"]) >= 0
    elsewhere = subprocess.run([sys.executable, "bench/load.py", "http://192.0.2.1:8000"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
    assert elsewhere.returncode != 0 and "loopback" in elsewhere.stderr
