"""The detector's input prepared in one pass (rapid_pool.detector_input): the same array RapidOCR's own preparation
makes, and kept by the copies the pools make of a loaded detector, each at its own size."""

import copy

import numpy as np
import pytest

from inference.backends.ocr.rapid_pool import detector_input, quick_detector_input

rapidocr_det = pytest.importorskip("rapidocr.ch_ppocr_det.utils")


@pytest.mark.parametrize(
    ("shape", "limit_type", "side", "mean", "std"),
    [
        ((1800, 1274, 3), "max", 1040, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),  # a page, shrunk
        ((120, 700, 3), "min", 736, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),  # a strip, enlarged
        ((300, 400, 3), "min", 736, [0.485, 0.456, 0.406], [0.229, 0.229, 0.229]),  # a mean per channel
        ((300, 400, 3), "min", 736, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),  # a scale per channel: RapidOCR's way
    ],
)
def test_the_detector_gets_the_input_rapidocr_makes(shape, limit_type, side, mean, std):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    prepare = rapidocr_det.DetPreProcess(side, limit_type, mean, std)
    expected, got = prepare(image), detector_input(prepare, image)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


def test_copies_of_a_detector_prepare_at_their_own_size():
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    engine(np.full((64, 300, 3), 255, np.uint8))  # (loads the detector)
    detector = engine.text_det
    quick_detector_input(detector)
    twin = copy.deepcopy(detector, {id(detector.session): detector.session})  # (as the pools copy it)
    detector.limit_type = twin.limit_type = "max"
    detector.limit_side_len, twin.limit_side_len = 960, 480
    image = np.full((1800, 1200, 3), 200, np.uint8)
    assert detector.get_preprocess()(image).shape == (1, 3, 960, 640)
    assert twin.get_preprocess()(image).shape == (1, 3, 480, 320)
    assert np.allclose(twin.get_preprocess()(image), 200 / 127.5 - 1, atol=1e-6)
