"""Sharing a request's lines out to the engines of the pool (rapid_pool.share_out): the longest lines first, each taken
by an engine when it is free, the readings in the page's order, and the same readings as one engine alone."""

import threading

from inference import InferenceService
from inference.backends.ocr.rapid_geometry import longest_first
from tests.helpers import ENGLISH, cyrillic_font, render_lines, render_with
from tests.polling import loaded_backend, unload_all


def test_the_longest_lines_are_read_first():
    """The order engines take the lines in: the widest for their height first (a line's reading time grows with its
    width at the recogniser's height), so that the last lines read are short ones; runs of one width to batch."""
    import numpy as np

    shapes = [(48, 400), (24, 400), (48, 100), (96, 960), (30, 30), (48, 48)]  # (height, width): 8.3, 16.7, 2.1, 10, 1, 1
    crops = [np.zeros((h, w, 3), np.uint8) for h, w in shapes]
    assert longest_first(crops) == [[1], [3], [0], [2], [4], [5]]  # (equal ones in the page's order)
    assert longest_first(crops, 4) == [[1, 3, 0, 2], [4, 5]]
    assert longest_first([], 1) == []
    assert longest_first(crops[:3], 0) == [[1], [0], [2]]  # (a run holds one line at least)


def test_a_slow_run_of_lines_keeps_no_engine_waiting(settings):
    """The lines are shared out one by one, each engine taking the next when it is free: while one engine is held on the
    first line (one Tesseract is unsure of, read again whole), another reads every other line; the readings come back in
    the page's order."""
    two = settings.model_copy(deep=True)
    next(m for m in two.models if m.id == "embedded").options["workers"] = 2  # (two engines, whatever the cores)
    service = InferenceService(two)
    try:
        service.ocr(render_lines(ENGLISH[:2]), "embedded")
        backend = loaded_backend(service.manager, "embedded")
        read_by = shared_out_with_one_engine_held(backend)
        taken = widths_taken(backend)
    finally:
        unload_all(service.manager)
    assert max(read_by.values()) >= 30, read_by  # (of 40 lines: with half the lines each, 20 and 20)
    assert min(taken[:6]) > max(taken[-6:]), taken  # (the widest first: 160 and 150 px; the last, 100 and 110)


def test_lines_read_one_at_a_time_are_shared_out_one_at_a_time_where_the_recogniser_reads_batches(settings):
    """Tesseract reads a line a call: its lines are taken one at a time (and by every idle engine) even where the
    recogniser reads lines in batches (rec_batch_size 4: 8 lines in two runs of 4); the recogniser's runs are batches."""
    import numpy as np

    two = settings.model_copy(deep=True)
    options = next(m for m in two.models if m.id == "embedded").options
    options["workers"], options["rec_batch_size"] = 2, 4
    service = InferenceService(two)
    crops = [np.full((48, 200, 3), i, np.uint8) for i in range(8)]
    runs: list[int] = []

    def read(helper, run):
        runs.append(len(run))
        return [int(crop[0, 0, 0]) for crop in run]

    try:
        service.ocr(render_lines(ENGLISH[:2]), "embedded")
        backend = loaded_backend(service.manager, "embedded")
        with backend.engine() as engine:
            assert backend.share_out(engine, crops, read, 1, batch=1) == list(range(8))
            assert runs == [1] * 8, runs
            runs.clear()
            assert backend.share_out(engine, crops, read, 1) == list(range(8))
            assert runs == [4, 4], runs
            runs.clear()
            assert backend.tesseract_reads(engine, crops, lambda crop: int(crop[0, 0, 0])) == list(range(8))
    finally:
        unload_all(service.manager)


def test_an_error_in_a_line_is_raised_the_other_engines_stop_and_every_engine_goes_back(settings):
    """A line whose reading fails (a request cancelled, an engine's error) while another engine reads: share_out raises
    it, the other engine takes no more of the request's lines, and both engines are back in the pool."""
    import numpy as np
    import pytest

    two = settings.model_copy(deep=True)
    next(m for m in two.models if m.id == "embedded").options["workers"] = 2
    service = InferenceService(two)
    crops = [np.full((48, 400 if i == 0 else 200, 3), i, np.uint8) for i in range(40)]  # (the first is taken first)
    other_reading, failing, read_after = threading.Event(), threading.Event(), []

    def read(helper, run):
        if run[0] is crops[0]:  # (fails once the other engine is reading a line)
            other_reading.wait(timeout=20)
            failing.set()
            raise RuntimeError("this line cannot be read")
        other_reading.set()
        failing.wait(timeout=20)
        read_after.extend(run)
        return [0 for _ in run]

    try:
        service.ocr(render_lines(ENGLISH[:2]), "embedded")
        backend = loaded_backend(service.manager, "embedded")
        with backend.engine() as engine, pytest.raises(RuntimeError, match="cannot be read"):
            backend.share_out(engine, crops, read)
        assert 1 <= len(read_after) <= 5, len(read_after)  # (of 39: it stopped after the line it held)
        assert backend._pool.qsize() == 2
        assert len(service.ocr(render_lines(ENGLISH[:2]), "embedded").lines) == 2
    finally:
        unload_all(service.manager)


def widths_taken(backend) -> list[int]:
    """The widths of 24 lines (100-160 px, in no order) in the order the engines took them; their readings must come back
    in the page's order."""
    import numpy as np

    crops = [np.full((48, 100 + 10 * (i % 7), 3), i, np.uint8) for i in range(24)]
    taken: list[int] = []

    def read(helper, run):
        taken.extend(crop.shape[1] for crop in run)
        return [int(crop[0, 0, 0]) for crop in run]

    with backend.engine() as engine:
        assert backend.share_out(engine, crops, read) == list(range(len(crops)))
    return taken


def shared_out_with_one_engine_held(backend) -> dict[int, int]:
    """How many of 40 lines each engine read when the one that took the first run is held until the rest are read."""
    import threading

    import numpy as np

    crops = [np.full((48, 200, 3), i, np.uint8) for i in range(40)]
    done, by_engine, turn = [], {}, threading.Condition()

    def read(helper, run):
        with turn:
            if run[0] is crops[0]:  # (held until every other line is read)
                turn.wait_for(lambda: len(done) + len(run) == len(crops), timeout=20)
            else:
                done.extend(run)
                turn.notify_all()
            by_engine[id(helper)] = by_engine.get(id(helper), 0) + len(run)
        return [int(crop[0, 0, 0]) for crop in run]

    with backend.engine() as engine:
        assert backend.share_out(engine, crops, read) == list(range(len(crops)))  # (in the page's order)
    return by_engine


def test_sharing_recognition_across_engines_reads_the_same(service, settings):
    page = render_lines(ENGLISH * 4)
    alone_settings = settings.model_copy(deep=True)
    next(m for m in alone_settings.models if m.id == "embedded").options["workers"] = 1
    alone = InferenceService(alone_settings)
    try:
        assert [line.text for line in service.ocr(page).lines] == [line.text for line in alone.ocr(page).lines]
    finally:
        unload_all(alone.manager)


def test_a_few_lines_re_read_by_tesseract_are_shared_out_too(settings):
    """Tesseract's re-reading of the lines RapidOCR may have read in another script (10-20 ms a line, against ~2 ms for
    RapidOCR's reading) is shared out from two lines on: a page with three Russian lines had them read one after the
    other on one core while the other stood idle (RapidOCR's lines are shared from 4 a core)."""
    from tests.unit.inference.test_ocr_scripts import needs_russian

    needs_russian()
    two = settings.model_copy(deep=True)
    next(m for m in two.models if m.id == "embedded").options["workers"] = 2  # (two engines, whatever the cores)
    service = InferenceService(two)
    page = render_with(cyrillic_font(32), ["Товарный чек номер сорок два", "Благодарим за покупку", "Кассир Иванова"])
    try:
        service.ocr(page, "embedded")
        backend = loaded_backend(service.manager, "embedded")
        threads, reexamine = set(), backend.reexamine
        backend.reexamine = lambda *args: threads.add(threading.get_ident()) or reexamine(*args)  # (a spy: who reads)
        try:
            lines = service.ocr(page, "embedded").lines
        finally:
            del backend.reexamine
    finally:
        unload_all(service.manager)
    assert any("Благодарим" in line.text for line in lines), [line.text for line in lines]
    assert len(threads) == 2, threads


def test_the_request_thread_reads_too_and_the_other_engines_threads_are_kept(settings):
    """share_out reads on the request's own thread and on threads kept for the pool's other engines: starting a thread
    for each engine of each call cost the request's thread ~2 ms a call (~80 calls on the 22 peer pages: 0.27 s)."""
    import numpy as np

    two = settings.model_copy(deep=True)
    next(m for m in two.models if m.id == "embedded").options["workers"] = 2  # (two engines, whatever the cores)
    service = InferenceService(two)
    crops = [np.full((48, 200, 3), i, np.uint8) for i in range(8)]
    readers: list[set[int]] = []
    both = threading.Barrier(2, timeout=30)  # (each engine's first line waits for the other's: both read in each call)

    def read(helper, run):
        reader = threading.get_native_id()  # (native ids: a thread's is not given to the next one started)
        if reader not in readers[-1]:
            readers[-1].add(reader)
            both.wait()
        return [int(crop[0, 0, 0]) for crop in run]

    try:
        service.ocr(render_lines(ENGLISH[:2]), "embedded")
        backend = loaded_backend(service.manager, "embedded")
        with backend.engine() as engine:
            for _ in range(3):
                readers.append(set())
                assert backend.share_out(engine, crops, read, 1) == list(range(8))
    finally:
        unload_all(service.manager)
    assert all(len(ids) == 2 for ids in readers), readers  # (both engines read in each call)
    assert all(threading.get_native_id() in ids for ids in readers), readers  # (this thread among them)
    assert len(set().union(*readers)) == 2, readers  # (the other engine's thread the same in every call)
