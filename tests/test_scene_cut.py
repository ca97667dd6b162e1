"""A new scene on real models and real frames: a cut runs every model at once and resets the head crop."""

from __future__ import annotations

import pytest

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from tests.conftest import TESTDATA

pytestmark = pytest.mark.models

CHAIN = (ChainItem("blur", True, Blur()), ChainItem("tint", True, HairTint()))


def test_a_cut_runs_both_models_on_the_cut_frame_and_resets_the_crop(video_frames: list[np.ndarray]) -> None:
    doctor = cv2.resize(cv2.imread(str(TESTDATA / "stills" / "doctor-5871743_640.jpg")), (960, 540))
    with Pipeline(CHAIN, SegmentationSettings()) as pipeline:  # shipped cadence: hair every 4th, x3 while still
        for index in range(14):  # a still desk: the hair model at frames 0 and 12, the second on its crop
            results = pipeline.segment(Frame(video_frames[0], 1 + 33 * index))
        assert results["hair"].box is not None and results["hair"].timestamp_ms == 1 + 33 * 12
        cut = Frame(doctor, 1 + 33 * 14)  # not a cadence frame
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
