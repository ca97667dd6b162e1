"""The hair model's head crop on real models and real frames: where it looks, when it is not called, and how
its mask follows the head between runs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.frame import Frame
from bgfx.vision.head_crop import CROP_MAX_SHARE, HeadCrop, fit_box, square_around
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from bgfx.vision.segmentation import RunningMode
from tests.conftest import TESTDATA

TINT = ChainItem("tint", True, HairTint())


def centre_of(mask: np.ndarray) -> np.ndarray:
    moments = cv2.moments(mask)
    return np.array([moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]])


@pytest.mark.models
def test_the_hair_model_looks_at_a_square_around_the_hair_it_found(video_frames: list[np.ndarray]) -> None:
    height, width = video_frames[0].shape[:2]
    with Pipeline((TINT,), SegmentationSettings(hair_every=1, still_every=1)) as pipeline:
        seen = [pipeline.segment(Frame(image, 1 + index * 33))["hair"] for index, image in enumerate(video_frames[:4])]
    whole, crops = seen[0], seen[1:]
    assert whole.box is None  # the first look is at the whole frame
    for crop in crops:
        x0, y0, x1, y1 = crop.box
        assert x1 - x0 == y1 - y0 and (x1 - x0) * (y1 - y0) <= CROP_MAX_SHARE * width * height  # a square, small
    hair_share = lambda segmentation: float((segmentation.masks["hair"] > 0.5).mean())
    assert hair_share(crops[-1]) > 3 * hair_share(whole)  # of the model's 512x512 input: several times the pixels
    ys, xs = np.nonzero(cv2.resize(whole.masks["hair"], (width, height)) > 0.5)
    x0, y0, x1, y1 = crops[-1].box
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    assert inside.mean() > 0.97  # the crop holds the hair the whole-frame look found


@pytest.mark.models
def test_a_photo_gets_a_second_closer_look_and_a_close_face_none() -> None:
    doctor = cv2.imread(str(TESTDATA / "stills" / "doctor-5871743_640.jpg"))  # a head small in the frame
    street = cv2.imread(str(TESTDATA / "stills" / "woman-5883428_1280.jpg"))  # a face close to the camera
    with Pipeline((TINT,), SegmentationSettings(), mode=RunningMode.IMAGE) as pipeline:
        assert pipeline.segment(Frame(doctor, 0))["hair"].box is not None
        pipeline.forget()
        assert pipeline.segment(Frame(street, 0))["hair"].box is None  # a crop over half the frame gains nothing


@pytest.mark.models
def test_with_nobody_in_the_picture_the_hair_model_is_not_called(video_frames: list[np.ndarray]) -> None:
    empty = cv2.resize(video_frames[0][0:300, 0:300], (960, 540))  # the shelves behind her: nobody
    with Pipeline((TINT,), SegmentationSettings(hair_every=1, still_every=1)) as pipeline:
        hair = pipeline.segmenters["hair"]
        calls = []
        original = hair.segment_for_video
        hair.segment_for_video = lambda *args, **kwargs: calls.append(args[1]) or original(*args, **kwargs)
        for index in range(3):
            frame = Frame(empty, 1 + index * 33)
            results = pipeline.segment(frame)
            assert results["hair"].timestamp_ms == frame.timestamp_ms and pipeline.mask_age_ms(frame, results) == 0
            assert not pipeline.masks(frame, results)["hair"].any()  # no hair, and that answer is fresh
        assert calls == []
        pipeline.segment(Frame(video_frames[0], 200))  # someone arrives: the person model sees them first ...
        assert calls == [200]  # ... and the hair model runs on the same frame


@pytest.mark.parametrize("shift", [(16, 8), (-12, 0)])
@pytest.mark.models
def test_between_hair_runs_the_mask_moves_with_the_head(video_frames: list[np.ndarray], shift: tuple[int, int]) -> None:
    image = video_frames[0]
    moved = cv2.warpAffine(image, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    with Pipeline((TINT,), SegmentationSettings(hair_every=30)) as pipeline:
        for index in range(3):  # the first hair run, at frame 0; the person mask settles
            frame = Frame(image, 1 + index * 33)
            before = pipeline.masks(frame, pipeline.segment(frame))["hair"]
        frame = Frame(moved, 200)
        results = pipeline.segment(frame)
        assert results["hair"].timestamp_ms == 1  # no new hair run ...
        after = pipeline.masks(frame, results)["hair"]
    assert np.abs(centre_of(after) - centre_of(before) - shift).max() < 3  # ... yet the mask moved with the head


def test_the_crop_is_a_square_around_the_hair_inside_the_frame() -> None:
    assert square_around((100, 100, 200, 180), (1280, 720)) == (70, 60, 230, 220)  # 100 px * 1.5 → 160, centred
    assert square_around((0, 0, 100, 100), (1280, 720)) == (0, 0, 160, 160)  # slid inside at the corner
    assert fit_box((640, 360), (2000, 100), (1280, 720)) == (0, 310, 1280, 410)  # cut to the frame's width
    assert HeadCrop().for_run() is None  # nothing learnt yet: the whole frame
