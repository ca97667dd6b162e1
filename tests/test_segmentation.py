"""The engine on real models and real photos."""

from __future__ import annotations

import logging
import os
import threading
import time

import cv2
import numpy as np
import pytest

from bgfx.errors import ModelError
from bgfx.vision.frame import Frame
from bgfx.vision.native_log import NativeStderrToLog
from bgfx.vision.segmentation import (
    RunningMode,
    Segmenter,
    SegmenterOptions,
    inspect_model,
)
from tests.conftest import MODELS, model

FULL = SegmenterOptions(at_model_size=False, output_category_mask=True)


@pytest.mark.parametrize("name", ["selfie_landscape", "selfie_square", "deeplab_v3"])
@pytest.mark.models
def test_person_mask_covers_face_and_leaves_wall(name: str, sergey: np.ndarray) -> None:
    with Segmenter(model(name), FULL) as segmenter:
        person = segmenter.segment(sergey).masks["person"]
    assert person.shape == sergey.shape[:2]
    face = person[200:400, 200:400]
    wall = np.concatenate([person[0:100, 0:60].ravel(), person[0:100, -60:].ravel()])
    assert face.mean() > 0.95
    assert wall.mean() < 0.05


@pytest.mark.models
def test_person_on_astronaut(astronaut: np.ndarray) -> None:
    with Segmenter(model("selfie_square"), FULL) as segmenter:
        person = segmenter.segment(astronaut).masks["person"]
    assert person[100:220, 180:280].mean() > 0.9  # her face
    assert person[20:120, 400:500].mean() < 0.2  # the dark sky behind, top right


@pytest.mark.models
def test_hair_mask_covers_hair_not_face(sergey: np.ndarray) -> None:
    with Segmenter(model("hair"), FULL) as segmenter:
        hair = segmenter.segment(sergey).masks["hair"]
    assert hair[5:55, 180:420].mean() > 0.9  # the top of the head
    assert hair[250:400, 200:400].mean() < 0.05  # eyes to mouth


@pytest.mark.models
def test_deeplab_finds_a_person_among_its_classes(sergey: np.ndarray) -> None:
    with Segmenter(model("deeplab_v3"), FULL) as segmenter:
        result = segmenter.segment(sergey)
    assert len(segmenter.labels) == 21 and segmenter.labels[15] == "person"
    assert np.bincount(result.category.ravel(), minlength=21).argmax() == 15


@pytest.mark.parametrize("name", ["hair", "deeplab_v3"])
@pytest.mark.models
def test_category_mask_agrees_with_argmax_of_confidences(name: str, sergey: np.ndarray) -> None:
    with Segmenter(model(name), FULL) as segmenter:
        result = segmenter.segment(sergey)
    stack = np.stack([result.masks[label] for label in segmenter.labels])
    agreement = (np.argmax(stack, axis=0) == result.category).mean()
    assert agreement > 0.995


@pytest.mark.models
def test_model_size_feed_returns_model_size_masks(video_frames: list[np.ndarray]) -> None:
    with Segmenter(model("selfie_landscape"), SegmenterOptions()) as segmenter:
        result = segmenter.segment(video_frames[0])
    assert result.shape == (144, 256)


@pytest.mark.models
def test_rotation_returns_masks_aligned_with_the_given_image(sergey: np.ndarray) -> None:
    wide = cv2.copyMakeBorder(sergey, 0, 0, 150, 150, cv2.BORDER_REPLICATE)  # 900x600, person upright
    with Segmenter(model("selfie_square"), FULL) as segmenter:
        upright = segmenter.segment(wide).masks["person"] > 0.5
    sideways = cv2.rotate(wide, cv2.ROTATE_90_CLOCKWISE)  # as a camera mounted on its side sees him
    with Segmenter(model("selfie_square"), SegmenterOptions(at_model_size=False, rotation_degrees=270)) as segmenter:
        mask = segmenter.segment(sideways).masks["person"] > 0.5
    assert mask.shape == sideways.shape[:2]
    assert (cv2.rotate(mask.astype(np.uint8), cv2.ROTATE_90_COUNTERCLOCKWISE).astype(bool) == upright).mean() > 0.98


@pytest.mark.models
def test_video_mode_rejects_non_increasing_timestamps(sergey: np.ndarray) -> None:
    with Segmenter(model("selfie_landscape"), SegmenterOptions(running_mode=RunningMode.VIDEO)) as segmenter:
        segmenter.segment_for_video(sergey, 100)
        with pytest.raises(ValueError, match="timestamp 100 ms is not after the previous 100 ms"):
            segmenter.segment_for_video(sergey, 100)
        with pytest.raises(ValueError, match="strictly increasing"):
            segmenter.segment_for_video(sergey, 50)


@pytest.mark.models
def test_live_stream_delivers_through_callback_without_blocking(video_frames: list[np.ndarray]) -> None:
    options = SegmenterOptions(running_mode=RunningMode.LIVE_STREAM, wanted=frozenset({"hair"}))
    with Segmenter(model("hair"), options) as segmenter:
        segmenter.submit(Frame(video_frames[0], 1))
        # submit returned before MediaPipe had produced this frame's mask
        assert segmenter.latest() is None
        for index, image in enumerate(video_frames[1:40], start=2):
            segmenter.submit(Frame(image, index * 33))
        submitted_ts = 40 * 33  # the last frame submitted
        deadline = time.monotonic() + 20
        while (segmenter.latest() is None or segmenter.latest().timestamp_ms != submitted_ts) and time.monotonic() < deadline:
            time.sleep(0.01)
        result = segmenter.latest()
    assert result is not None and result.timestamp_ms == submitted_ts
    assert set(result.masks) == {"hair"} and result.masks["hair"].dtype == np.float32
    assert segmenter.submitted == 40 and segmenter.delivered >= 1  # MediaPipe may drop frames while busy
    assert len(segmenter.latencies_ms) == segmenter.delivered and min(segmenter.latencies_ms) > 0


@pytest.mark.models
def test_asking_a_hair_model_for_a_person_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match=r"model 'hair' gives masks background, hair; it cannot give person \(choose selfie_landscape"):
        Segmenter(model("hair"), SegmenterOptions(wanted=frozenset({"person"})))


@pytest.mark.models
def test_inspect_reads_input_size_and_labels() -> None:
    info = inspect_model(MODELS / "selfie_segmenter_landscape.tflite")
    assert info.input_hw == (144, 256) and info.labels == ("selfie",)


@pytest.mark.parametrize("cut", [0, 1000, 100_000])
def test_corrupt_or_truncated_tflite_is_a_model_error(tmp_path, cut: int) -> None:
    broken = tmp_path / "broken.tflite"
    broken.write_bytes((MODELS / "selfie_segmenter.tflite").read_bytes()[:cut] if cut else b"not a model at all")
    with pytest.raises(ModelError, match="broken.tflite"):
        inspect_model(broken)


@pytest.mark.models
def test_callback_runs_on_mediapipe_thread_not_the_callers(
    video_frames: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = threading.get_ident()
    seen: list[int] = []
    original = Segmenter._on_result

    def spy(self: Segmenter, *args: object) -> None:
        seen.append(threading.get_ident())
        original(self, *args)

    monkeypatch.setattr(Segmenter, "_on_result", spy)  # before construction: MediaPipe keeps the bound method
    with Segmenter(model("selfie_landscape"), SegmenterOptions(running_mode=RunningMode.LIVE_STREAM)) as segmenter:
        segmenter.submit(Frame(video_frames[0], 1))
        deadline = time.monotonic() + 10
        while segmenter.latest() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    assert segmenter.latest() is not None
    assert seen and all(ident != caller for ident in seen)


@pytest.mark.models
def test_rgb_and_bgr_inputs_give_the_same_masks(sergey: np.ndarray) -> None:
    with Segmenter(model("selfie_square"), FULL) as segmenter:
        from_bgr = segmenter.segment(sergey).masks["person"]
        from_rgb = segmenter.segment(cv2.cvtColor(sergey, cv2.COLOR_BGR2RGB), rgb=True).masks["person"]
    assert np.abs(from_bgr - from_rgb).max() < 1e-4


@pytest.mark.models
def test_rgba_portrait_is_accepted(sergey: np.ndarray) -> None:
    rgba = cv2.cvtColor(sergey, cv2.COLOR_BGR2BGRA)
    with Segmenter(model("selfie_square"), FULL) as segmenter:
        assert segmenter.segment(rgba).masks["person"][250:400, 200:400].mean() > 0.95


@pytest.mark.models
def test_mediapipe_native_lines_go_to_the_debug_log_not_stderr(
    sergey: np.ndarray, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bgfx.mediapipe")
    with Segmenter(model("selfie_landscape")) as segmenter:
        assert segmenter.segment(sergey).masks["person"].mean() > 0.3
    err = capfd.readouterr().err  # XNNPACK's line comes once a process, the feedback manager's each model
    assert "XNNPACK" not in err and "inference_feedback_manager" not in err
    assert any("Disabling support for feedback tensors" in record.getMessage() for record in caplog.records)


def test_other_lines_written_to_fd_2_while_a_model_loads_are_passed_on(capfd: pytest.CaptureFixture[str]) -> None:
    with NativeStderrToLog():
        os.write(2, b"a real error from elsewhere\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert capfd.readouterr().err == "a real error from elsewhere\n"
