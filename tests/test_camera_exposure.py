"""The camera's exposure set from the face (#20, camera side first): the plan's steps against a simulated sensor,
the steering thread closing the loop with the real light effect on a fake C920 (the V4L2 ioctl layer faked, the
frames made from a desk frame whose light follows the exposure time and gain the fake camera holds), and
`bgfx run` taking the camera over and leaving it as found."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgfx.live.cameras import v4l2
from bgfx.live.cameras.exposure import CameraExposure
from bgfx.live.cameras.exposure_plan import BAND, ExposureLimits, frame_limit, linear, next_setting
from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.light import Light, face_box
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon
from tests.support.fake_v4l2 import FakeV4l2, recorded, standard

LIMITS_30 = ExposureLimits((3, frame_limit(2047, 30.0)), (0, 255), None)


def encode(light: float) -> float:
    """The sRGB grey 0..255 of linear light 0..1."""
    value = min(max(light, 0.0), 1.0)
    return 255.0 * (12.92 * value if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055)


def sensor(scene: float, time_units: int, gain: int | None) -> float:
    """A face's grey as a camera records it: scene light × exposure time × gain (×2 every 64 steps), clipped."""
    return encode(scene * time_units / 250.0 * 2.0 ** ((gain or 0) / 64.0))


@pytest.mark.unit
@pytest.mark.parametrize("scene", [0.002, 0.01, 0.05, 0.3, 0.9])
def test_the_plan_reaches_the_band_from_either_side_without_overshoot(scene: float) -> None:
    target = 133.0
    setting, faces = (250, 0), []
    for _ in range(40):
        faces.append(sensor(scene, *setting))
        planned = next_setting(faces[-1], target, *setting, LIMITS_30)
        if planned is None:
            break
        setting = planned
    ratios = [linear(target) / linear(face) for face in faces]
    limited = setting[0] in LIMITS_30.time and setting[1] in LIMITS_30.gain
    assert planned is None and (1 / BAND <= ratios[-1] <= BAND or limited), (faces, setting)
    side = math.copysign(1.0, math.log(ratios[0]))
    assert all(math.log(ratio) * side > -math.log(BAND) for ratio in ratios), ratios  # never past the band
    assert len(faces) <= 20, len(faces)


@pytest.mark.unit
@pytest.mark.parametrize("ratio", [1.26, 1.4, 1.6, 2.5, 1 / 1.26, 1 / 1.6, 1 / 2.5])
def test_a_step_never_crosses_the_target(ratio: float) -> None:
    scene, target = 0.1, encode(0.1 * ratio)  # the face's light needs × ratio
    time_units, _ = next_setting(encode(scene), target, 250, None, ExposureLimits((3, 2047)))
    after = scene * time_units / 250
    assert 1.0 < after / scene <= ratio if ratio > 1 else ratio <= after / scene < 1.0, (ratio, time_units)


@pytest.mark.unit
def test_exposure_first_then_gain_up_and_gain_first_down() -> None:
    up = next_setting(30.0, 133.0, 200, 40, LIMITS_30)
    assert up[0] > 200 and up[1] == 40
    assert next_setting(30.0, 133.0, 333, 40, LIMITS_30) == (333, 55)  # at the frame interval: a 16th of the gain
    assert next_setting(250.0, 133.0, 333, 40, LIMITS_30) == (333, 25)  # too bright: the gain comes down first
    down = next_setting(250.0, 133.0, 333, 0, LIMITS_30)
    assert down[0] < 333 and down[1] == 0
    assert next_setting(5.0, 133.0, 333, 255, LIMITS_30) is None  # all used: the light curve does the rest
    assert next_setting(250.0, 133.0, 3, 0, LIMITS_30) is None
    assert next_setting(125.0, 133.0, 200, 40, LIMITS_30) is None  # within the band: nothing moves
    assert next_setting(30.0, 133.0, 200, None, ExposureLimits((3, 333))) == (300, None)  # no gain: ×1.5 at most


@pytest.mark.unit
@pytest.mark.parametrize("mains, period, longest", [(50, 100.0, 300), (60, 250 / 3, 333)])
def test_under_mains_light_long_exposures_are_whole_half_periods(mains: int, period: float, longest: int) -> None:
    limits = ExposureLimits((3, frame_limit(2047, 30.0)), None, 10_000 / (2 * mains))
    assert frame_limit(2047, 30.0) == 333 and limits.longest == longest  # 3 × 10 ms, 4 × 8.33 ms in a 30 fps frame
    times, setting = [], 20
    for face in [10.0] * 12 + [250.0] * 12:
        planned = next_setting(face, 133.0, setting, None, limits)
        if planned is not None:
            setting = planned[0]
            times.append(setting)
    assert max(times) == limits.longest and min(times) < period, times
    for value in times:
        assert value < period or abs(value / period - round(value / period)) * period <= 1.0, (value, times)


@pytest.mark.unit
def test_no_hunting_between_two_half_periods() -> None:
    limits = ExposureLimits((3, 333), (0, 255), 100.0)  # 50 Hz: 100, 200, 300
    face = encode(0.1 / 1.45)  # needs × 1.45 at 100: 200 would be × 2, past the band
    assert next_setting(face, encode(0.1), 100, 0, limits) is None
    assert next_setting(encode(0.1 * 2), encode(0.1), 200, 0, limits) == (100, 0)  # needs ÷ 2: a whole step
    setting, faces = (100, 0), []
    for _ in range(20):  # the sensor: light ∝ exposure time
        faces.append(encode(0.1 / 1.45 * setting[0] / 100))
        planned = next_setting(faces[-1], encode(0.1), *setting, limits)
        setting = planned or setting
    assert setting == (100, 0) and len(set(faces)) == 1


def desk_scene() -> tuple[np.ndarray, np.ndarray]:
    """A desk frame's linear light (H, W, 3) float32 and its person alpha (H, W) uint8 from the real model."""
    capture = cv2.VideoCapture(str(VIDEO))
    ok, image = capture.read()
    capture.release()
    assert ok
    with Pipeline((ChainItem("light", True, Light()),), SegmentationSettings(still_every=1)) as pipeline:
        person = pipeline.process(Frame(image, 1))[1]["person"]
    table = np.array([linear(g) for g in range(256)], np.float32)
    return table[image], person


def recorded_face(camera: FakeV4l2) -> tuple[int, int]:
    return camera.value("video0", "Exposure Time, Absolute"), camera.value("video0", "Gain")


class Camera:
    """Frames of the desk scene in a dim room (0.08 of its light) as the fake C920's exposure and gain record them,
    a frame late as a UVC camera takes a new value (the frame being exposed keeps the old one)."""

    def __init__(self, fake: FakeV4l2, scene: np.ndarray, rng: np.random.Generator) -> None:
        self.fake, self.scene, self.rng = fake, scene, rng
        self.settings = recorded_face(fake)

    def frame(self) -> np.ndarray:
        (exposure, gain), self.settings = self.settings, recorded_face(self.fake)
        light = self.scene * (0.08 * exposure / 250.0 * 2.0 ** (gain / 64.0))
        grey = np.where(light <= 0.0031308, 12.92 * light, 1.055 * np.power(np.minimum(light, 1.0), 1 / 2.4) - 0.055)
        noisy = 255.0 * grey + self.rng.normal(0.0, 2.0, grey.shape)
        return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


class Deaf:
    """The light runtime without its camera_changed (to show what that call is for)."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def __getattr__(self, name: str):
        return getattr(self.runtime, name)

    def camera_changed(self) -> None:
        pass


def steer_for(fake: FakeV4l2, scene: np.ndarray, person: np.ndarray, seconds: float, *, deaf: bool = False) -> tuple[list[float], float]:
    """Run the light effect on the fake camera's frames at 30 fps with the exposure steered: the face's L* sent,
    frame by frame, and the face's grey as the camera gave it last (before the curve)."""
    camera, runtime = Camera(fake, scene, np.random.default_rng(7)), Light().prepare()
    steering = CameraExposure("/dev/video0", 30.0)
    meter = Deaf(runtime) if deaf else runtime
    small_face = face_box(cv2.resize(person, (160, 90)))
    box = tuple(slice(s.start * 6, s.stop * 6) for s in small_face)
    faces, start = [], time.monotonic()
    try:
        for index in range(int(seconds * 30)):
            out = runtime.apply(camera.frame(), {"person": person}, 1 + index * 33)
            steering.steer(meter)
            faces.append(float(np.median(cv2.cvtColor(out[box], cv2.COLOR_BGR2Lab)[..., 0])) / 2.55)
            time.sleep(max(0.0, start + (index + 1) / 30 - time.monotonic()))
    finally:
        steering.close()
    return faces, runtime.reading[1]


@pytest.mark.models
def test_the_camera_lifts_the_face_before_the_curve_and_is_left_as_found(fake: FakeV4l2) -> None:
    scene, person = desk_scene()
    faces, camera_face = steer_for(fake, scene, person, 5.0)
    sets = fake.sets
    assert sets[0] == ("video0", "Auto Exposure", 1)  # manual first: exposure time is refused while automatic
    exposures = [value for _, label, value in sets if label == "Exposure Time, Absolute"]
    gains = [(index, value) for index, (_, label, value) in enumerate(sets) if label == "Gain"]
    assert 333 in exposures and max(exposures) == 333  # to the frame interval at 30 fps, never longer
    assert all(value < 83 or value % 83 <= 1 or value % 83 >= 82 for value in exposures), exposures  # 60 Hz mains
    first_gain_up = next(index for index, value in gains if value > 0)
    assert all(value == 333 for _, label, value in sets[first_gain_up:-3] if label.startswith("Exposure")), sets
    assert abs(faces[-1] - Light().target) <= 5.0, faces[-30:]  # the face at the target
    target = Light().prepare().target_grey  # the camera's own work: its picture's face near the target, before the curve
    assert abs(math.log(linear(camera_face) / linear(target))) <= math.log(BAND) + 0.05, (camera_face, target)
    assert fake.sets[-3:] == [("video0", "Exposure Time, Absolute", 250), ("video0", "Gain", 0), ("video0", "Auto Exposure", 3)]


@pytest.mark.models
def test_the_curve_follows_each_camera_step_at_once(fake: FakeV4l2, tmp_path: Path) -> None:
    scene, person = desk_scene()
    jumps = {}
    for deaf in (False, True):
        faces = steer_for(fake, scene, person, 3.0, deaf=deaf)[0]
        jumps[deaf] = np.abs(np.diff(faces[15:])).max()  # after the first half second
        fake.devices["video0"].__post_init__()  # the camera as it came
    assert jumps[False] <= 2.0 < jumps[True], jumps


@pytest.mark.unit
def test_readings_from_frames_exposed_before_a_step_do_not_step_again(fake: FakeV4l2) -> None:
    runtime = Light().prepare()
    steering = CameraExposure("/dev/video0", 30.0, period_s=0.01)
    start = time.monotonic()
    try:
        for index in range(100):  # a camera that never brightens: each reading still says too dark
            runtime.reading = (index, 20.0)
            steering.steer(runtime)
            time.sleep(0.01)
    finally:
        steering.close()
    seconds = time.monotonic() - start
    steps = [label for _, label, _ in fake.sets[1:-3]]
    assert 2 <= len(steps) <= seconds / 0.15 + 1, (len(steps), seconds)


@pytest.mark.unit
def test_after_a_usb_glitch_the_camera_is_still_set_back_as_first_found(fake: FakeV4l2, monkeypatch) -> None:
    from bgfx.live.cameras import exposure

    monkeypatch.setattr(exposure, "RETRY_S", 0.05)
    real, failed = fake.ioctl, []

    def glitching(fd, request, arg):
        if request == v4l2.VIDIOC_S_CTRL and len(fake.sets) == 2 and not failed:
            failed.append(1)
            raise OSError(5, "Input/output error")
        return real(fd, request, arg)

    monkeypatch.setattr(v4l2, "ioctl", glitching)
    runtime = Light().prepare()
    steering = CameraExposure("/dev/video0", 30.0, period_s=0.01)
    try:
        for index in range(150):  # 1.5 s: the glitch, the retry after 0.05 s and a second takeover, with room under load
            runtime.reading = (index, 20.0)
            steering.steer(runtime)
            time.sleep(0.01)
    finally:
        steering.close()
    assert failed and [s[2] for s in fake.sets if s[1] == "Auto Exposure"] == [1, 1, 3]  # taken twice, set back once
    assert fake.sets[-3:] == [("video0", "Exposure Time, Absolute", 250), ("video0", "Gain", 0), ("video0", "Auto Exposure", 3)]


@pytest.mark.unit
def test_a_camera_whose_exposure_the_user_sets_or_a_file_is_left_alone(fake: FakeV4l2) -> None:
    runtime = Light().prepare()
    runtime.reading = (1, 20.0)
    for steering in (CameraExposure("/dev/video0", 30.0, {"gain": 64}), CameraExposure(str(VIDEO), 30.0)):
        for index in range(20):
            runtime.reading = (index, 20.0)
            steering.steer(runtime)
            time.sleep(0.03)
        steering.close()
    assert fake.sets == []


@pytest.mark.e2e
def test_bgfx_run_takes_the_camera_over_with_light_and_sets_it_back_at_stop(tmp_path: Path) -> None:
    standard(tmp_path / "dev")
    config = tmp_path / "bgfx.yaml"
    config.write_text("capture: {device: /dev/video0, width: 960, height: 540}\neffects: [{type: light, target: 70}]\n"
                      "output: {sink: 'null'}\nlive: {watch_config: false, web: {enabled: false}}\n"
                      "pause: {release_camera: true}\n")
    modes = lambda: [value for _, label, value in recorded(tmp_path / "dev") if label == "Auto Exposure"]
    env = {"BGFX_TEST_V4L2": str(tmp_path / "dev"), "BGFX_TEST_V4L2_FRAMES": str(VIDEO)}
    daemon = RunningDaemon(tmp_path, ["--config", str(config)], env)
    try:
        daemon.wait_for("a longer exposure", lambda: any(
            label == "Exposure Time, Absolute" and value > 250 for _, label, value in recorded(tmp_path / "dev")), timeout=60)
        assert recorded(tmp_path / "dev")[0] == ("video0", "Auto Exposure", 1)
        assert daemon.ctl("pause").returncode == 0  # the camera released: set back for whoever opens it
        daemon.wait_for("the mode set back", lambda: modes() == [1, 3], timeout=20)
        assert daemon.ctl("resume").returncode == 0
        daemon.wait_for("taken over again", lambda: modes() == [1, 3, 1], timeout=30)
    finally:
        assert daemon.stop() == 0
    assert recorded(tmp_path / "dev")[-3:] == [("video0", "Exposure Time, Absolute", 250), ("video0", "Gain", 0),
                                             ("video0", "Auto Exposure", 3)]
    assert "Traceback" not in daemon.log()
