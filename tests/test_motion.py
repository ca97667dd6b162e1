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


def person_moved(image: np.ndarray, dx: int) -> np.ndarray:
    """The frame with its middle third (where the person sits) shifted by dx px: motion that is no pan."""
    out = image.copy()
    third = image.shape[1] // 3
    out[:, third : 2 * third] = shifted(image, dx)[:, third : 2 * third]
    return out


def pan_frames(image: np.ndarray, step: int, count: int) -> list[np.ndarray]:
    """A camera pan: a window of the image's size sliding `step` px a frame across it scaled up by 1.25."""
    height, width = image.shape[:2]
    big = cv2.resize(image, (width * 5 // 4, height * 5 // 4), interpolation=cv2.INTER_LINEAR)
    top = (big.shape[0] - height) // 2
    return [np.ascontiguousarray(big[top : top + height, x : x + width]) for x in range(0, step * count, step)]


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
        moving = [still, still, person_moved(still, 24), person_moved(still, 24), person_moved(still, 48)]
        assert person_runs(pipeline, moving, start_ms=1000) == [0, 2, 4]  # each move runs it on that very frame
    with Pipeline((BLUR,), SegmentationSettings(still_every=1)) as every:
        assert person_runs(every, noisy[:4]) == [0, 1, 2, 3]  # still_every 1: no gating


def masks_over(pipeline: Pipeline, images: list[np.ndarray], start_ms: int = 1) -> tuple[list[np.ndarray], list[int]]:
    """The refined person masks (> 127) of each frame and the indices of the frames the model ran on."""
    masks, runs, last = [], [], None
    for index, image in enumerate(images):
        frame = Frame(image, start_ms + 33 * index)
        results = pipeline.segment(frame)
        stamp = results["selfie_landscape"].timestamp_ms
        runs, last = runs + [index] * (stamp != last), stamp
        masks.append(pipeline.masks(frame, results)["person"] > 127)
    return masks, runs


@pytest.mark.models
def test_a_pan_moves_the_last_mask_instead_of_running_the_model(video_frames: list[np.ndarray], monkeypatch) -> None:
    pan = pan_frames(video_frames[0], 16, 12)  # 16 px a frame at 960 px wide: a brisk pan
    with Pipeline((BLUR,), SegmentationSettings(still_every=1)) as every:
        truth, _ = masks_over(every, pan)
    iou = lambda masks: min((a & b).sum() / (a | b).sum() for a, b in zip(masks, truth))
    with Pipeline((BLUR,), SegmentationSettings(still_every=3)) as gated:
        followed, runs = masks_over(gated, pan)
        assert runs == [0, 3, 6, 9]  # a pan is no motion: the still cadence, so the mask's age stays bounded
        assert iou(followed) > 0.94  # the last mask moved with the picture
        gated.forget()
        gated.gate.follow_pans = False
        assert masks_over(gated, pan, 1000)[1] == list(range(12))  # as before: every frame of a pan runs the model
        gated.forget()
        gated.gate.follow_pans = True
        monkeypatch.setattr(MotionGate, "shift_since", lambda self, timestamp_ms, frame_wh: (0, 0))
        assert iou(masks_over(gated, pan, 2000)[0]) < 0.9  # the cadence alone, the mask left where it was: it lags


def test_the_gate_finds_the_global_shift_of_a_pan(video_frames: list[np.ndarray]) -> None:
    gate = MotionGate(still_every=8, threshold=1.0)
    pan = pan_frames(video_frames[0], 10, 4)
    assert gate.due(pan[0], 1) and gate.shift_since(1, (960, 540)) == (0, 0)
    for index, image in enumerate(pan[1:3], start=1):
        assert not gate.due(image, 1 + 33 * index) and not gate.moving and gate.pan is not None
        dx, dy = gate.shift_since(1, (960, 540))
        assert abs(dx + 10 * index) <= 2 and abs(dy) <= 1, (index, dx, dy)  # the picture slides left
    assert gate.due(pan[3], 1 + 33 * 3) and not gate.moving  # a pan runs the model every 3rd frame (still: 8th)
    assert gate.shift_since(999, (960, 540)) == (0, 0)  # a mask of no known run is left where it is
    assert gate.due(person_moved(pan[0], 30), 200) and gate.moving and gate.pan is None  # a person moving is no pan


def test_local_motion_skips_the_pan_check_and_a_pan_takes_it(video_frames: list[np.ndarray], monkeypatch) -> None:
    from bgfx.vision import motion

    tried = []
    real = motion.global_shift
    monkeypatch.setattr(motion, "global_shift", lambda *args: tried.append(1) or real(*args))
    gate = MotionGate(still_every=8, threshold=1.0)
    gate.due(video_frames[0], 1)
    for index, image in enumerate(video_frames[1:40], start=1):  # typing and gestures: moving, never a pan
        gate.due(image, 1 + 33 * index)
    assert tried == [] and gate.moving
    gate = MotionGate(still_every=8, threshold=1.0)
    pan = pan_frames(video_frames[0], 4, 6)  # a slow pan: 4 px a frame
    for index, image in enumerate(pan):
        gate.due(image, 1 + 33 * index)
    assert len(tried) == 5 and gate.pan is not None


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


@pytest.mark.models
def test_a_still_room_reuses_the_refined_alpha_until_the_model_runs_again(video_frames: list[np.ndarray]) -> None:
    rng = np.random.default_rng(2)
    still = [np.clip(video_frames[0] + rng.normal(0, 3, video_frames[0].shape), 0, 255).astype(np.uint8) for _ in range(7)]
    with Pipeline((BLUR,), SegmentationSettings(still_every=3)) as gated, Pipeline((BLUR,), SegmentationSettings(still_every=1)) as every:
        alphas, worst = [], 0.0
        for index, image in enumerate(still):
            frame = Frame(image, 1 + 33 * index)
            alphas.append(gated.masks(frame, gated.segment(frame))["person"])
            truth = every.masks(frame, every.segment(frame))["person"]
            worst = max(worst, float(((alphas[-1] > 127) != (truth > 127)).mean()))
        moved = Frame(person_moved(still[0], 40), 1 + 33 * len(still))
        after_motion = gated.masks(moved, gated.segment(moved))["person"]
    assert alphas[1] is alphas[0] and alphas[2] is alphas[0]  # between runs: the same alpha, no refinement
    assert alphas[3] is not alphas[0] and alphas[4] is alphas[3]  # the model's next run refines afresh
    assert after_motion is not alphas[6] and not after_motion.flags.writeable  # motion refines at once
    assert worst < 0.002, worst  # pixels on which the mask differs from refining every frame
