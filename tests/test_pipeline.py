"""The pipeline's planning and lifecycle on real models: which models run, how often, and what closes."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgfx.errors import CommandError, ModelError
from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.effects.replace import Replace
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from bgfx.vision.segmentation import RunningMode, Segmenter
from bgfx.vision.timing import StageClock
from tests.conftest import MODELS

BLUR = ChainItem("blur", True, Blur())
TINT = ChainItem("tint", True, HairTint())


def frames(video_frames: list[np.ndarray], count: int) -> list[Frame]:
    return [Frame(image, 1 + index * 33) for index, image in enumerate(video_frames[:count])]


@pytest.mark.models
def test_two_models_run_each_at_its_own_cadence(video_frames: list[np.ndarray]) -> None:
    with Pipeline((BLUR, TINT), SegmentationSettings(hair_every=3, still_every=1)) as pipeline:
        assert set(pipeline.segmenters) == {"selfie_landscape", "hair"}
        seen = []
        for frame in frames(video_frames, 7):
            results = pipeline.segment(frame)
            seen.append((results["selfie_landscape"].timestamp_ms, results["hair"].timestamp_ms))
            image, masks = pipeline.render(frame, pipeline.masks(frame, results)), pipeline.masks(frame, results)
            assert set(masks) == {"person", "hair"} and image.shape == frame.image.shape
    stamps = [1 + i * 33 for i in range(7)]
    assert [person for person, _ in seen] == stamps  # the person model on every frame
    assert [hair for _, hair in seen] == [stamps[0]] * 3 + [stamps[3]] * 3 + [stamps[6]]  # hair every 3rd


@pytest.mark.models
def test_toggling_runs_only_the_models_the_enabled_effects_need(
    video_frames: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []
    real_close = Segmenter.close
    monkeypatch.setattr(Segmenter, "close", lambda self: closed.append(self.name) or real_close(self))
    with Pipeline((BLUR, TINT), SegmentationSettings()) as pipeline:
        hair = pipeline.segmenters["hair"]
        assert pipeline.toggle("tint") is False
        assert set(pipeline.segmenters) == {"selfie_landscape"} and pipeline.chain.needs == {"person"}
        frame = frames(video_frames, 1)[0]
        assert set(pipeline.segment(frame)) == {"selfie_landscape"}  # the hair model does not run
        assert pipeline.toggle("tint") is True and pipeline.segmenters["hair"] is hair  # back at no cost
        pipeline.toggle("tint")
        assert pipeline.toggle("blur") is False
        assert pipeline.segmenters == {} and pipeline.chain.needs == frozenset()
        assert np.array_equal(pipeline.process(frame)[0], frame.image)  # nothing enabled: the frame as is
        assert pipeline.toggle("tint") is True and set(pipeline.segmenters) == {"selfie_landscape", "hair"}
        with pytest.raises(CommandError, match="unknown effect 'sparkle'; effects: blur, tint"):
            pipeline.toggle("sparkle")
        assert pipeline.chain.enabled == {"blur": False, "tint": True}
        assert closed == []  # two spares at most, none evicted yet
    assert sorted(closed) == ["hair", "selfie_landscape"]  # closing the pipeline closes the spares too


@pytest.mark.models
def test_spare_segmenters_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    real_close = Segmenter.close
    monkeypatch.setattr(Segmenter, "close", lambda self: closed.append(self.name) or real_close(self))
    own = tmp_path / "own.tflite"
    own.write_bytes((MODELS / "selfie_segmenter_landscape.tflite").read_bytes())
    with Pipeline((BLUR,), SegmentationSettings()) as pipeline:
        for model in ("selfie_square", "deeplab_v3", "selfie_landscape", "selfie_square"):
            pipeline.commit(pipeline.prepare(person_model=model))
        assert closed == []  # three models: the running one and two spares, swapped back and forth
        pipeline.commit(pipeline.prepare(person_model=str(own)))  # a fourth: the oldest spare is closed
        assert closed == ["deeplab_v3"] and len(pipeline.pool.spares) == 2


def test_an_effect_that_starts_disabled_loads_no_model() -> None:
    with Pipeline((ChainItem("blur", False, Blur()),), SegmentationSettings()) as pipeline:
        assert pipeline.segmenters == {}


def test_a_model_that_gives_hair_serves_both_masks_and_the_plan_says_so() -> None:
    with Pipeline((), SegmentationSettings()) as pipeline:
        assert pipeline.pool.plan(frozenset({"person", "hair"}), "selfie_multiclass") == {"selfie_multiclass": {"person", "hair"}}
        assert pipeline.pool.plan(frozenset({"person", "hair"}), "selfie_landscape") == {
            "selfie_landscape": {"person"}, "hair": {"hair"}}
        with pytest.raises(ModelError, match="no model known to bgfx gives a 'sky' mask"):
            pipeline.pool.plan(frozenset({"sky"}), "selfie_landscape")


@pytest.mark.models
def test_a_failed_model_switch_keeps_the_running_model(video_frames: list[np.ndarray]) -> None:
    with Pipeline((BLUR,), SegmentationSettings()) as pipeline:
        running = pipeline.segmenters["selfie_landscape"]
        with pytest.raises(ModelError, match="cannot give person"):
            pipeline.commit(pipeline.prepare(person_model="hair"))
        assert pipeline.person_model == "selfie_landscape" and pipeline.segmenters == {"selfie_landscape": running}
        pipeline.commit(pipeline.prepare(person_model="selfie_square"))
        assert set(pipeline.segmenters) == {"selfie_square"}


@pytest.mark.models
def test_mask_age_is_infinite_until_every_needed_model_answered(video_frames: list[np.ndarray]) -> None:
    first, second = frames(video_frames, 2)
    with Pipeline((BLUR, TINT), SegmentationSettings()) as pipeline:
        assert pipeline.mask_age_ms(first, {}) == float("inf")
        results = pipeline.segment(first)
        assert pipeline.mask_age_ms(second, results) == second.timestamp_ms - first.timestamp_ms


@pytest.mark.models
def test_closing_the_pipeline_closes_the_effects(tmp_path: Path) -> None:
    clip = tmp_path / "bg.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 24))
    for value in (10, 200):
        writer.write(np.full((24, 32, 3), value, np.uint8))
    writer.release()
    pipeline = Pipeline((ChainItem("wall", True, Replace(video=clip)),), SegmentationSettings())
    decoder = pipeline.chain._runtimes[0]._player.video._capture
    pipeline.commit(pipeline.prepare(items=(BLUR,)))
    assert not decoder.isOpened()  # the replaced chain's video was released
    pipeline.commit(pipeline.prepare(items=(ChainItem("wall", True, Replace(video=clip)),)))
    decoder = pipeline.chain._runtimes[0]._player.video._capture
    pipeline.close()
    assert not decoder.isOpened() and pipeline.segmenters == {}


@pytest.mark.models
def test_a_model_switch_with_no_person_effect_is_checked_before_it_is_accepted() -> None:
    with Pipeline((TINT,), SegmentationSettings()) as pipeline:
        with pytest.raises(ModelError, match="model 'hair' gives masks background, hair; it cannot give person"):
            pipeline.commit(pipeline.prepare(person_model="hair"))
        pipeline.commit(pipeline.prepare(person_model="selfie_square"))
        assert pipeline.person_model == "selfie_square" and set(pipeline.segmenters) == {"selfie_square", "hair"}
        assert pipeline.toggle("tint") is False
        pipeline.commit(pipeline.prepare(items=(BLUR,)))
        assert set(pipeline.segmenters) == {"selfie_square"}  # the accepted model serves the next chain


@pytest.mark.models
def test_a_model_switch_restarts_the_person_mask_smoothing(video_frames: list[np.ndarray]) -> None:
    with Pipeline((BLUR,), SegmentationSettings()) as pipeline:
        for frame in frames(video_frames, 3):
            pipeline.process(frame)
        assert pipeline._refiners["person"]._state is not None
        pipeline.commit(pipeline.prepare(person_model="selfie_square"))
        assert pipeline._refiners["person"]._state is None  # no blending of two models' masks


@pytest.mark.parametrize("every", [2, 3])
@pytest.mark.models
def test_the_hair_cadence_follows_hair_every(video_frames: list[np.ndarray], every: int) -> None:
    with Pipeline((TINT,), SegmentationSettings(hair_every=every, still_every=1)) as pipeline:
        stamps = [pipeline.segment(frame)["hair"].timestamp_ms for frame in frames(video_frames, 6)]
    assert stamps == [1 + (i - i % every) * 33 for i in range(6)]


@pytest.mark.models
def test_rendering_applies_the_chain_once_every_mask_is_there(video_frames: list[np.ndarray]) -> None:
    frame = frames(video_frames, 1)[0]
    with Pipeline((ChainItem("wall", True, Replace(colour=(0, 255, 0))),), SegmentationSettings()) as pipeline:
        clock = StageClock()
        image, masks = pipeline.process(frame, clock)
        assert set(masks) == {"person"} and masks["person"].shape == frame.image.shape[:2]
        assert 0.3 < (image == (0, 255, 0)).all(axis=2).mean() < 0.9  # the wall went green, the person stayed
        assert {"segmentation", "refine", "effect:wall"} <= set(clock.cpu)
        assert np.array_equal(pipeline.render(frame, {}), frame.image)  # no mask yet: the frame as it is
    with Pipeline((ChainItem("blur", False, Blur()),), SegmentationSettings()) as idle:
        assert idle.mask_age_ms(frame, {}) == 0.0  # nothing needed, nothing stale


@pytest.mark.models
def test_live_stream_results_arrive_and_a_new_model_shows_the_old_mask_until_it_answers(
    video_frames: list[np.ndarray],
) -> None:
    with Pipeline((BLUR,), SegmentationSettings(), mode=RunningMode.LIVE_STREAM) as pipeline:
        submitted, results = [], {}
        deadline = time.monotonic() + 10
        for frame in itertools.cycle(frames(video_frames, 30)):
            frame = Frame(frame.image, len(submitted) * 33 + 1)
            submitted.append(frame.timestamp_ms)
            results = pipeline.segment(frame)
            if "selfie_landscape" in results or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        first = results["selfie_landscape"]
        assert first.timestamp_ms in submitted and first.masks["person"].dtype == np.float32
        pipeline.commit(pipeline.prepare(person_model="selfie_square"))
        handed = pipeline.segment(Frame(video_frames[0], submitted[-1] + 33))
        assert set(handed) == {"selfie_square"}
        assert handed["selfie_square"] is first or handed["selfie_square"].timestamp_ms > first.timestamp_ms
