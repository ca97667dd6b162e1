"""Refinement: exact behaviour on synthetic arrays, and the quality claims on real data."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgfx.vision.refine import Refiner, RefineSettings
from tests.conftest import EVALDATA, VIDEO


def test_output_is_frame_size_uint8() -> None:
    frame = np.zeros((90, 160, 3), np.uint8)
    alpha = Refiner(RefineSettings())(np.ones((18, 32), np.float32), frame)
    assert alpha.shape == (90, 160) and alpha.dtype == np.uint8 and alpha.min() == 255
    plain = Refiner(RefineSettings(enabled=False))(np.full((18, 32), 0.5, np.float32), frame)
    assert plain.shape == (90, 160) and plain.min() == plain.max() == 128  # off: confidence × 255, upsampled


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


def _alpha_of(confidence: float, **settings: float) -> int:
    """The alpha a uniform confidence becomes (flat frame: the guided filter passes it through)."""
    refiner = Refiner(RefineSettings(temporal=0.0, guide_width=64, **settings))
    return int(refiner(np.full((8, 8), confidence, np.float32), np.full((16, 16, 3), 90, np.uint8))[8, 8])


def test_threshold_and_softness_shape_the_ramp() -> None:
    hard = {c: _alpha_of(c, threshold=0.3, softness=0.0) for c in (0.0, 0.28, 0.32, 1.0)}
    assert hard == {0.0: 0, 0.28: 0, 0.32: 255, 1.0: 255}  # no softness: a step at the threshold
    soft = {c: _alpha_of(c, threshold=0.45, softness=0.4) for c in (0.2, 0.28, 0.45, 0.62, 0.7)}
    assert soft[0.2] == 0 and soft[0.7] == 255  # outside threshold ± softness/2: fully off or on
    assert 0 < soft[0.28] < 10 and 245 < soft[0.62] < 255  # a smoothstep: flat at both ends
    assert abs(soft[0.45] - 128) <= 3  # the threshold is half opacity
    assert _alpha_of(0.45, threshold=0.9, softness=0.4) == 0  # a higher threshold keeps less


@pytest.mark.parametrize("model_name", ["selfie_landscape"])
@pytest.mark.models
def test_refined_mask_flickers_less_and_keeps_as_much_hair(model_name: str) -> None:
    from benchmarks.quality import measure_flicker, measure_hair_kept

    settings = RefineSettings()
    flicker = measure_flicker(VIDEO, model_name, settings, frames=150)
    hair = measure_hair_kept(EVALDATA / "hair_celebamaskhq", model_name, settings)
    print(f"flicker raw {flicker['raw']:.5f} refined {flicker['refined']:.5f}; hair kept raw {hair['raw']:.4f} refined {hair['refined']:.4f}")
    assert flicker["refined"] < 0.6 * flicker["raw"]
    assert hair["refined"] >= hair["raw"]


def test_edges_snap_in_both_directions() -> None:
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[100:] = 255  # a horizontal edge at y=100: the guide must keep the frame's height
    y = np.arange(180, dtype=np.float32)[:, None]
    soft = np.tile(np.clip((y - 80) / 40, 0, 1), (1, 320))
    refined = Refiner(RefineSettings(temporal=0.0, threshold=0.5, softness=0.5))(soft, frame)
    assert refined[94, 160] < 30 and refined[106, 160] > 225


def test_the_temporal_rate_mixes_certainty_motion_and_setting() -> None:
    frame = np.full((90, 160, 3), 128, np.uint8)
    refiner = Refiner(RefineSettings(temporal=0.8, softness=0.0, threshold=0.5))
    refiner(np.full((9, 16), 0.7, np.float32), frame)
    refiner(np.full((9, 16), 0.4, np.float32), frame)
    # still picture: rate = (2*0.4-1)^2 + 0 + (1-0.8) = 0.24, so the state moves 24% of the way to 0.4
    assert np.allclose(refiner._state, 0.7 + 0.24 * (0.4 - 0.7), atol=1e-5)
    brighter = frame + 12  # every grey level moved by 12: motion = 12/24 = 0.5 adds to the rate
    refiner(np.full((9, 16), 0.4, np.float32), brighter)
    state = 0.628
    assert np.allclose(refiner._state, state + min(1.0, 0.04 + 0.5 + 0.2) * (0.4 - state), atol=1e-4)
    refiner.reset()
    assert refiner._state is None and refiner._previous_guide is None
    refiner(np.full((9, 16), 0.3, np.float32), frame)
    assert np.allclose(refiner._state, 0.3)  # after a reset, the first mask is taken as it is


def test_the_fast_guided_filter_matches_the_full_one() -> None:
    from bgfx.vision.refine import fast_guided_filter

    rng = np.random.default_rng(3)
    guide = np.zeros((120, 160), np.uint8)
    guide[:, 80:] = 200
    guide = cv2.GaussianBlur(guide + rng.integers(0, 20, guide.shape, dtype=np.uint8), (0, 0), 1.5)
    source = np.clip(np.linspace(-0.5, 1.5, 160, dtype=np.float32)[None, :].repeat(120, 0), 0, 1)
    full = cv2.ximgproc.guidedFilter(guide, source, 4, 0.005 * 255 * 255)
    fast = fast_guided_filter(guide, source, 4, 0.005)
    assert fast.shape == source.shape and fast.dtype == np.float32
    assert np.abs(fast - full).mean() < 0.02 and np.abs(fast - full).max() < 0.15
    flat = fast_guided_filter(guide, np.full((120, 160), 0.3, np.float32), 4, 0.005)
    assert np.allclose(flat, 0.3, atol=1e-4)  # a constant passes through unchanged


def test_the_last_refinement_keeps_the_guide_size_alpha_it_was_scaled_from() -> None:
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[:, 150:] = 200
    refiner = Refiner(RefineSettings(guide_width=64))
    mask = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (18, 1))
    alpha = refiner(mask, frame)
    last = refiner.last
    assert last is not None and last.alpha is alpha and last.small.shape == (36, 64)
    assert not last.small.flags.writeable and not alpha.flags.writeable
    assert np.array_equal(cv2.resize(last.small, (320, 180), interpolation=cv2.INTER_LINEAR), alpha)
    assert refiner(mask, frame, still=True) is alpha and refiner.last is last  # still: handed back as it was
