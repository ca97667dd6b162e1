"""A new scene on real models and real frames: a cut, sitting down or a second person leaning in runs the models
at once and resets the head crop to the whole frame."""

from __future__ import annotations

import pytest

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import HAIR_STILL_STRETCH, Pipeline, SegmentationSettings
from bgfx.vision.segmentation import Segmenter
from tests.conftest import SERGEY, TESTDATA, model

pytestmark = pytest.mark.models

CHAIN = (ChainItem("blur", True, Blur()), ChainItem("tint", True, HairTint()))


def test_a_cut_runs_both_models_on_the_cut_frame_and_resets_the_crop(video_frames: list[np.ndarray]) -> None:
    doctor = cv2.resize(cv2.imread(str(TESTDATA / "stills" / "doctor-5871743_640.jpg")), (960, 540))
    shipped = SegmentationSettings()
    again = shipped.hair_every * min(shipped.still_every, HAIR_STILL_STRETCH)  # the hair model while still: 12th frame
    with Pipeline(CHAIN, shipped) as pipeline:
        for index in range(again + 2):  # a still desk: the hair model at frames 0 and `again`, the second on its crop
            results = pipeline.segment(Frame(video_frames[0], 1 + 33 * index))
        assert results["hair"].box is not None and results["hair"].timestamp_ms == 1 + 33 * again
        cut = Frame(doctor, 1 + 33 * (again + 2))  # not a cadence frame
        results = pipeline.segment(cut)
        assert pipeline.gate.cut
    assert results["selfie_landscape"].timestamp_ms == cut.timestamp_ms
    assert results["hair"].timestamp_ms == cut.timestamp_ms and results["hair"].box is None  # whole frame


def test_the_desk_clip_is_never_a_new_scene(video_frames: list[np.ndarray]) -> None:
    with Pipeline(CHAIN, SegmentationSettings()) as pipeline:
        cuts = stale = 0
        for index, image in enumerate(video_frames):
            results = pipeline.segment(Frame(image, 1 + 33 * index))
            cuts += pipeline.gate.cut
            stale += pipeline._head.stale(results["selfie_landscape"])
    assert (cuts, stale) == (0, 0)  # typing is not a cut: the desk clip's cost stays as it was


def _cut_out(sergey: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The portrait at size x size and its person alpha (H, W, 1) float 0..1 from the real person model."""
    with Segmenter(model("selfie_landscape")) as segmenter:
        alpha = segmenter.segment(sergey).masks["person"]
    alpha = cv2.resize(alpha, (size, size))[..., None]
    return cv2.resize(sergey, (size, size)), alpha


def _scene(wall: np.ndarray, people: list[tuple[np.ndarray, np.ndarray, int, int]]) -> np.ndarray:
    """The wall with each (picture, alpha, x, y) laid on it, cut where it leaves the frame."""
    scene = wall.astype(np.float32)
    height, width = scene.shape[:2]
    for picture, alpha, x, y in people:
        h, w = picture.shape[:2]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
        part = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
        region = scene[y0:y1, x0:x1]
        scene[y0:y1, x0:x1] = region * (1 - alpha[part]) + picture[part] * alpha[part]
    return scene.astype(np.uint8)


def _hair_iou(pipeline: Pipeline, frame: Frame, results: dict, truth: np.ndarray) -> float:
    shown = pipeline.masks(frame, results)["hair"] > 127
    return float((shown & truth).sum() / max((shown | truth).sum(), 1))


def _run_and_score(frames: list[np.ndarray]) -> float:
    """The hair mask the live cadence shows on the last frame, against the hair model run on that whole frame."""
    with Pipeline(CHAIN, SegmentationSettings()) as pipeline:
        for index, image in enumerate(frames):
            frame = Frame(image, 1 + 33 * index)
            results = pipeline.segment(frame)
        with Segmenter(model("hair")) as reference:
            hair = reference.segment(frames[-1]).masks["hair"]
        truth = cv2.resize(hair, (frames[-1].shape[1], frames[-1].shape[0])) > 0.5
        return _hair_iou(pipeline, frame, results, truth)


@pytest.fixture(scope="module")
def portrait() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sergey = cv2.imread(str(SERGEY))
    picture, alpha = _cut_out(sergey, 420)
    wall = np.full((540, 960, 3), sergey[20, 20], np.uint8)
    return picture, alpha, wall


def test_sitting_down_moves_the_hair_crop_to_the_new_head(portrait) -> None:
    picture, alpha, wall = portrait
    standing = [_scene(wall, [(picture, alpha, 270, -60)])] * 14  # still: the crop settles on the head up there
    sitting = [_scene(wall, [(picture, alpha, 270, -60 + 95 * step)]) for step in (1, 2)]  # 190 px down at once
    seated = [sitting[-1]] * 3
    assert _run_and_score(standing + sitting + seated) > 0.8  # 0.91; 0.02 with the crop kept on the old head


def test_a_second_person_leaning_in_gets_their_hair_tinted_too(portrait) -> None:
    picture, alpha, wall = portrait
    alone = [_scene(wall, [(picture, alpha, 0, 120)])] * 14  # still: the crop settles on the one head
    leaning_in = [_scene(wall, [(picture, alpha, 0, 120), (picture, alpha, 540, 120)])] * 6  # a second one beside
    assert _run_and_score(alone + leaning_in) > 0.8  # 0.90; 0.48 with the crop kept on the first head
