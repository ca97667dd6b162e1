"""Motion-gated cadence on real models and real frames: still pictures skip model runs, motion runs them at once."""

from __future__ import annotations

import pytest

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.frame import Frame
from bgfx.vision.motion import MotionGate
from bgfx.vision.pipeline import Pipeline, SegmentationSettings

BLUR = ChainItem("blur", True, Blur())
TINT = ChainItem("tint", True, HairTint())


def shifted(image: np.ndarray, dx: int) -> np.ndarray:
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, 0]]), image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def person_runs(pipeline: Pipeline, images: list[np.ndarray], start_ms: int = 1) -> list[int]:
    """The frame indices on which the person model produced a new result (VIDEO mode)."""
    runs, last = [], None
    for index, image in enumerate(images):
        stamp = pipeline.segment(Frame(image, start_ms + 33 * index))["selfie_landscape"].timestamp_ms
        if stamp != last:
            runs.append(index)
        last = stamp
    return runs


@pytest.mark.models
def test_a_still_picture_runs_the_model_every_nth_frame_and_motion_at_once(video_frames: list[np.ndarray]) -> None:
    still = video_frames[0]
    rng = np.random.default_rng(1)
    noisy = [np.clip(still + rng.normal(0, 6, still.shape), 0, 255).astype(np.uint8) for _ in range(9)]  # sensor noise
    with Pipeline((BLUR,), SegmentationSettings(still_every=3)) as pipeline:
        assert person_runs(pipeline, noisy) == [0, 3, 6]  # noise is not motion
        pipeline.forget()
        moving = [still, still, shifted(still, 24), shifted(still, 24), shifted(still, 48)]
        assert person_runs(pipeline, moving, start_ms=1000) == [0, 2, 4]  # each move runs it on that very frame
    with Pipeline((BLUR,), SegmentationSettings(still_every=1)) as every:
        assert person_runs(every, noisy[:4]) == [0, 1, 2, 3]  # still_every 1: no gating


@pytest.mark.models
def test_between_runs_the_mask_is_refined_on_the_current_frame(video_frames: list[np.ndarray]) -> None:
    still = video_frames[0]
    with Pipeline((BLUR,), SegmentationSettings(still_every=8, motion_threshold=255.0)) as pipeline:  # never "moving"
        first = Frame(still, 1)
        pipeline.masks(first, pipeline.segment(first))
        moved = Frame(shifted(still, 30), 34)
        results = pipeline.segment(moved)
        assert results["selfie_landscape"].timestamp_ms == 1 and pipeline.mask_age_ms(moved, results) == 33
        alpha = pipeline.masks(moved, results)["person"]
    columns = np.nonzero(alpha.mean(axis=0) > 127)[0]
    with Pipeline((BLUR,), SegmentationSettings(still_every=1)) as fresh:
        truth = fresh.masks(moved, fresh.segment(moved))["person"]
    agree = ((alpha > 127) == (truth > 127)).mean()
    assert columns.size and agree > 0.9  # the old mask, guided by this frame: close to a fresh run


@pytest.mark.models
def test_the_hair_model_stretches_its_cadence_while_still(video_frames: list[np.ndarray]) -> None:
    still = video_frames[0]
    with Pipeline((TINT,), SegmentationSettings(hair_every=2, still_every=3)) as pipeline:
        stamps = [pipeline.segment(Frame(still, 1 + 33 * index))["hair"].timestamp_ms for index in range(13)]
    assert sorted(set(stamps)) == [1, 1 + 33 * 6, 1 + 33 * 12]  # every 2 x 3 = 6th frame


def test_the_gate_measures_mean_grey_change() -> None:
    gate = MotionGate(still_every=4, threshold=1.0)
    grey = np.full((72, 128, 3), 100, np.uint8)
    assert gate.due(grey) and gate.moving  # no reference yet
    assert not gate.due(grey + 0) and gate.change == 0.0
    assert gate.due(grey + 2) and gate.moving and abs(gate.change - 2.0) < 0.01  # 2 grey levels everywhere
    assert [gate.due(grey + 2) for _ in range(4)] == [False, False, False, True]  # the still cadence
