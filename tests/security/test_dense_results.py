"""A job of dense text-layer pages (an attack pass: 40 pages sharing one compressed content stream of ~4,900 short runs,
a 22 KB upload) cost ~6 s of CPU to read per 10 pages and as much again for each read of its result, uncharged: ~85%
of the result's writing and half the pages' reading was Python's cyclic collector going through the whole heap again
and again while a page's thousands of objects were made (they die by their reference counts). The collector is held
off for those stretches (``inference.heap.gc_paused``)."""

from __future__ import annotations

import gc
import random
import threading
import zlib

import pytest

from inference.heap import gc_paused
from tests.e2e.test_jobs import wait_for
from tests.helpers import pdf_file


def dense_pdf(pages: int, rows: int = 100, columns: int = 30) -> bytes:
    """``pages`` pages drawing one content stream of rows x columns four-letter words in 4 pt type."""
    rng = random.Random(1)
    words = ["alph", "beta", "gamm", "delt", "omeg", "sigm", "kapp", "thet"]
    parts = ["BT /F1 4 Tf"] + [
        f"1 0 0 1 {10 + c * 15} {780 - r * 6} Tm ({rng.choice(words)}) Tj" for r in range(rows) for c in range(columns)
    ]
    stream = zlib.compress("\n".join(parts + ["ET"]).encode(), 9)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{5 + p} 0 R' for p in range(pages))}] /Count {pages} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n{stream.decode('latin-1')}\nendstream",
    ]
    page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    return pdf_file(objects + [page] * pages)


class Collections:
    """Counts the collector's runs in this process meanwhile."""

    def __enter__(self):
        self.count = 0
        gc.callbacks.append(self._seen)
        return self

    def _seen(self, phase, info):
        self.count += phase == "start"

    def __exit__(self, *exc):
        gc.callbacks.remove(self._seen)


def test_writing_a_dense_jobs_result_leaves_the_collector_alone(client):
    job = client.post("/jobs", files=[("files", ("dense.pdf", dense_pdf(4)))]).json()["id"]
    done = wait_for(lambda: client.get(f"/jobs/{job}").json(), lambda body: body["state"] not in ("queued", "running"))
    assert done["state"] == "done", done
    service = client.app.state.service
    with Collections() as seen:
        size = sum(len(piece) for piece in service.jobs.result_json(job))
    assert size > 2_000_000  # (~0.7 MB a page: 3,000 lines with their boxes, and the blocks' lines)
    assert seen.count <= 8, seen.count  # (before: ~200 runs, most of them through the whole heap)
    answer = client.get(f"/jobs/{job}/result")
    assert answer.status_code == 200 and len(answer.json()["results"][0]["pages"]) == 4


def test_the_collector_is_paused_only_while_some_stretch_holds_it():
    assert gc.isenabled()
    entered, leave = threading.Event(), threading.Event()

    def other():
        with gc_paused():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        assert not gc.isenabled()
        thread.start()
        assert entered.wait(10)
    assert not gc.isenabled()  # (the other thread's stretch still holds it)
    leave.set()
    thread.join(10)
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # (off before: left off)
    finally:
        gc.enable()


@pytest.fixture(autouse=True)
def collector_on():
    yield
    assert gc.isenabled()
