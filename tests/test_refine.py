"""Refinement: exact behaviour on synthetic arrays, and the quality claims on real data."""

from __future__ import annotations

import numpy as np
import pytest

from bgfx.vision.refine import Refiner, RefineSettings
from tests.conftest import EVALDATA, VIDEO


def test_output_is_frame_size_uint8() -> None:
    frame = np.zeros((90, 160, 3), np.uint8)
    alpha = Refiner(RefineSettings())(np.ones((18, 32), np.float32), frame)
    assert alpha.shape == (90, 160) and alpha.dtype == np.uint8 and alpha.min() == 255


def test_edges_snap_to_the_frame_not_the_model_grid() -> None:
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[:, 150:] = 255  # the true edge is at x=150
    x = np.arange(320, dtype=np.float32)
    soft = np.tile(np.clip((x - 130) / 40, 0, 1), (180, 1))  # an upsampled model edge: 40 px wide
    plain = Refiner(RefineSettings(enabled=False))(soft, frame)
    refined = Refiner(RefineSettings(temporal=0.0, threshold=0.5, softness=0.5))(soft, frame)
    assert 40 < plain[90, 144] < 215 and 40 < plain[90, 156] < 215  # without a guide the edge stays soft
    assert refined[90, 144] < 30 and refined[90, 156] > 225  # with the frame as guide it is sharp, at x=150


def test_temporal_smoothing_damps_flicker_where_still_and_follows_motion() -> None:
    frame = np.full((90, 160, 3), 128, np.uint8)
    settings = RefineSettings(temporal=0.8, softness=0.0, threshold=0.5)
    refiner = Refiner(settings)
    outputs = [refiner(np.full((9, 16), value, np.float32), frame)[45, 80] for value in (0.7, 0.4, 0.7, 0.4, 0.7, 0.4)]
    assert outputs == [255] * 6  # an unsure pixel on a still picture does not flip back and forth
    unsmoothed = Refiner(RefineSettings(temporal=0.0, softness=0.0, threshold=0.5))
    assert [unsmoothed(np.full((9, 16), v, np.float32), frame)[45, 80] for v in (0.7, 0.4)] == [255, 0]

    moved = frame.copy()
    moved[:, :] = 20  # the picture changes: something moved
    refiner(np.full((9, 16), 0.0, np.float32), moved)
    assert refiner(np.full((9, 16), 0.0, np.float32), moved)[45, 80] == 0
    confident = Refiner(settings)
    confident(np.full((9, 16), 1.0, np.float32), frame)
    assert confident(np.full((9, 16), 0.0, np.float32), frame)[45, 80] == 0  # a sure change is taken at once


def test_threshold_and_softness_shape_the_ramp() -> None:
    frame = np.zeros((10, 10, 3), np.uint8)
    ramp = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    hard = Refiner(RefineSettings(enabled=True, temporal=0.0, softness=0.0, threshold=0.3, guide_width=64, radius=1, eps=1e-6))
    out = hard(ramp, frame)
    assert set(np.unique(out)) <= {0, 255}


@pytest.mark.parametrize("model_name", ["selfie_landscape"])
def test_refined_mask_flickers_less_and_keeps_as_much_hair(model_name: str) -> None:
    from benchmarks.quality import measure_flicker, measure_hair_kept

    settings = RefineSettings()
    flicker = measure_flicker(VIDEO, model_name, settings, frames=150)
    hair = measure_hair_kept(EVALDATA / "hair_celebamaskhq", model_name, settings)
    print(f"flicker raw {flicker['raw']:.5f} refined {flicker['refined']:.5f}; hair kept raw {hair['raw']:.4f} refined {hair['refined']:.4f}")
    assert flicker["refined"] < 0.6 * flicker["raw"]
    assert hair["refined"] >= hair["raw"]
