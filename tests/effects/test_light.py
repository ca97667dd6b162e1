"""light, denoise and studio_light on footage made dark here: the desk clip and stills through a gamma 1.6 and a
gain (face L* ≈ 15 from ≈ 60) plus fixed-seed sensor noise, with the real person model through a Pipeline."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgfx.config_edit import ConfigEditor
from bgfx.errors import CommandError
from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.denoise import Denoise
from bgfx.vision.effects.light import Light, face_box, tone_curve
from bgfx.vision.effects.studio_light import StudioLight
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from tests.conftest import TESTDATA

pytestmark = pytest.mark.models

DESK_FACE = (slice(85, 215), slice(530, 630))  # the desk clip's face (forehead to chin, glasses in), 960x540
DOCTOR = TESTDATA / "stills" / "doctor-5871743_640.jpg"
DOCTOR_FACE = (slice(105, 165), slice(305, 385))  # forehead, eyes and cheeks above the beard, 640x427
NOISE = 2.0  # sensor noise std, levels, added after darkening


def darken(image: np.ndarray, rng: np.random.Generator, gain: float = 0.35) -> np.ndarray:
    """A dim room: 255 · gain · (x/255)^1.6 per channel, then Gaussian sensor noise (std NOISE), uint8."""
    lut = np.clip(255.0 * gain * (np.arange(256) / 255.0) ** 1.6, 0, 255).astype(np.uint8)
    noisy = cv2.LUT(image, lut).astype(np.float32) + rng.normal(0.0, NOISE, image.shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def lab(image: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    """(L* median, a* mean, b* mean) of a box: L* 0..100, a*/b* signed."""
    values = cv2.cvtColor(image[box], cv2.COLOR_BGR2Lab).reshape(-1, 3).astype(np.float64)
    return np.array([np.median(values[:, 0]) / 2.55, values[:, 1].mean() - 128.0, values[:, 2].mean() - 128.0])


def run(items: tuple[ChainItem, ...], images: list[np.ndarray], step_ms: int = 33) -> list[np.ndarray]:
    """The pipeline's output for each image (the person model on every frame)."""
    with Pipeline(items, SegmentationSettings(still_every=1)) as pipeline:
        return [pipeline.process(Frame(image, 1 + index * step_ms))[0] for index, image in enumerate(images)]


LIGHT = ChainItem("light", True, Light())


def test_a_dark_face_comes_to_the_target_with_its_own_colour(video_frames: list[np.ndarray]) -> None:
    rng = np.random.default_rng(20)
    dark = [darken(image, rng) for image in video_frames[:45]]
    assert abs(lab(dark[-1], DESK_FACE)[0] - 15.0) < 2.0  # the footage is as dark as the figure's
    out = run((LIGHT, ChainItem("denoise", True, Denoise())), dark)[-1]
    lit, clean = lab(out, DESK_FACE), lab(video_frames[44], DESK_FACE)
    assert abs(lit[0] - Light().target) <= 8.0, lit
    assert np.hypot(*(lit[1:] - clean[1:])) <= 5.0, (lit, clean)  # skin hue and chroma as in the clean clip


def test_a_still_face_holds_its_lightness_and_colour() -> None:
    clean = cv2.imread(str(DOCTOR), cv2.IMREAD_COLOR)
    rng = np.random.default_rng(21)
    dark = [darken(clean, rng, gain=0.47) for _ in range(40)]  # a new noise field every frame
    assert abs(lab(dark[0], DOCTOR_FACE)[0] - 15.0) < 2.5
    lightness = [lab(image, DOCTOR_FACE)[0] for image in run((LIGHT,), dark)]
    assert abs(lightness[-1] - Light().target) <= 8.0, lightness[-1]
    assert np.std(lightness[10:]) <= 1.0, lightness
    lit, original = lab(run((LIGHT,), dark[:3])[-1], DOCTOR_FACE), lab(clean, DOCTOR_FACE)
    assert np.hypot(*(lit[1:] - original[1:])) <= 5.0, (lit, original)


def test_a_bright_window_behind_does_not_darken_the_face(video_frames: list[np.ndarray]) -> None:
    """From frame 10 a window (the upper-left background at 250) shines behind her; the face stays as lit.
    Metered on the whole frame, the window would take the face down (the mutation check flips just that)."""
    rng = np.random.default_rng(22)
    dark = [darken(image, rng) for image in video_frames[:40]]
    windowed = [image.copy() for image in dark]
    for image in windowed[10:]:
        image[0:260, 0:420] = 250
    plain, shining = run((LIGHT,), dark)[-1], run((LIGHT,), windowed)[-1]
    assert lab(shining, DESK_FACE)[0] >= lab(plain, DESK_FACE)[0] - 1.0
    assert abs(lab(shining, DESK_FACE)[0] - Light().target) <= 8.0


def test_the_curve_follows_a_change_over_its_time_constant_whatever_the_frame_rate() -> None:
    """A face that brightens in one step: 800 ms later the curve has gone 1 - 1/e of the way (in the log of the
    face's level), the same at 15 and at 60 frames a second."""
    person = np.zeros((360, 640), np.uint8)
    cv2.ellipse(person, (320, 110), (60, 80), 0, 0, 360, 255, -1)
    person[180:] = 255 * (np.abs(np.arange(640) - 320) < 180)
    readings = []
    for step in (66, 16):
        runtime = Light().prepare()
        for timestamp in range(0, 3000, step):
            level = 30 if timestamp < 1000 else 60
            runtime.apply(np.full((360, 640, 3), level, np.uint8), {"person": person}, timestamp)
            if timestamp <= 1800 < timestamp + step:
                readings.append(np.exp(runtime._log_face))
    expected = np.exp(np.log(30) + (1 - np.exp(-1.0)) * (np.log(60) - np.log(30)))
    assert readings == pytest.approx([expected, expected], rel=0.04)


def test_no_light_without_a_person_and_none_at_strength_zero() -> None:
    image = np.full((90, 160, 3), 40, np.uint8)
    nobody = {"person": np.zeros((90, 160), np.uint8)}
    assert face_box(nobody["person"]) is None
    assert np.array_equal(Light().prepare().apply(image, nobody, 0), image)  # nothing metered: no lift yet
    assert np.array_equal(tone_curve(40.0, 120.0, 132.0, 0.0), np.arange(256))
    assert np.all(np.diff(tone_curve(20.0, 100.0, 132.0, 1.0).astype(int)) >= 0)  # monotone


def test_denoise_averages_still_parts_and_leaves_no_trail_behind_a_moving_patch(sergey: np.ndarray) -> None:
    """A still scene with noise (std 6, as after a lift) and a dark 40-px patch crossing it 12 px a frame."""
    rng = np.random.default_rng(23)
    background = cv2.resize(sergey, (640, 480))
    runtime = Denoise(strength=100).prepare()

    def scene(index: int) -> tuple[np.ndarray, slice]:
        clean = background.copy()
        columns = slice(20 + 12 * index, 60 + 12 * index)
        clean[400:440, columns] = 20
        return clean, columns

    for index in range(30):
        clean, columns = scene(index)
        noisy = np.clip(clean + rng.normal(0.0, 6.0, clean.shape), 0, 255).astype(np.uint8)
        out = runtime.apply(noisy, {}, index * 33)

    def high_pass(image: np.ndarray) -> float:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32) - cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY)
        return float((grey - cv2.GaussianBlur(grey, (0, 0), 2.0))[:380].std())  # rows the patch never crosses

    assert high_pass(out) < 0.5 * high_pass(noisy), (high_pass(out), high_pass(noisy))
    behind = (slice(400, 440), slice(columns.start - 60, columns.start - 8))  # where the patch was 1-4 frames ago
    trail = np.abs(out[behind].astype(int) - clean[behind]).mean()
    assert trail < 6.0, trail  # background again, noise and all; a ghost of the patch would be ~60+ off
    assert np.abs(out[400:440, columns].astype(int) - 20).mean() < 6.0  # the patch itself where it is now


def test_studio_light_lifts_the_person_and_dims_the_room(sergey: np.ndarray) -> None:
    lit = run((ChainItem("studio", True, StudioLight(amount=60)),), [sergey])[0]
    with Pipeline((ChainItem("studio", True, StudioLight(amount=60)),), SegmentationSettings()) as pipeline:
        person = pipeline.process(Frame(sergey, 1))[1]["person"]
    grey, before = cv2.cvtColor(lit, cv2.COLOR_BGR2GRAY).astype(float), cv2.cvtColor(sergey, cv2.COLOR_BGR2GRAY)
    inside, outside = person > 250, person < 5
    assert grey[inside].mean() > before[inside].mean() + 10
    assert grey[outside].mean() < 0.8 * before[outside].mean()
    nothing = StudioLight(amount=0).prepare().apply(sergey, {"person": person}, 0)
    assert np.array_equal(nothing, sergey)


def test_light_is_set_live_by_key_and_a_bad_value_names_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("effects:\n  - type: light\n  - type: denoise\n    strength: 40\n", encoding="utf-8")
    editor = ConfigEditor(path, path)
    config, draft = editor.set(None, "effects.light.target", "62")
    assert config.effects[0].effect == Light(target=62)
    config, _ = editor.set(draft, "effects.denoise.strength", "80")
    assert config.effects[1].effect == Denoise(strength=80) and config.effects[0].effect.target == 62
    with pytest.raises(CommandError, match=r"effects\[0\]\.target: must be 40\.\.75, got 90"):
        editor.set(None, "effects.light.target", "90")
