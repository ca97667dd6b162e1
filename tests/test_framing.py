"""The framer's window and motion on person boxes (the model-measured clip tests are still to come, #19)."""

from __future__ import annotations

import numpy as np
import pytest

from bgfx import config
from bgfx.errors import ConfigError
from bgfx.vision.framing import DEAD_BAND, Framer, person_box, target_window
from bgfx.vision.framing_settings import FramingSettings

SETTINGS = FramingSettings(mode="follow", max_zoom=2.0, headroom=0.10, speed=2.0)
CAPTURE = (1280, 720)
ASPECT = 16 / 9
BOX = (250, 200, 550, 720)  # a person left of centre


def test_target_centres_person_and_keeps_headroom() -> None:
    window = target_window(BOX, CAPTURE, ASPECT, SETTINGS)
    centre = window.x + window.w / 2
    assert abs(centre - 400) <= 1.0
    assert window.x <= BOX[0] and window.x + window.w >= BOX[2]  # not cut at the sides
    assert abs((BOX[1] - window.y) / window.h - SETTINGS.headroom) < 0.01
    assert window.w >= CAPTURE[0] / SETTINGS.max_zoom - 1e-6  # zoom limit
    assert abs(window.w / window.h - ASPECT) < 1e-9


def test_follow_settles_without_overshoot() -> None:
    framer = Framer(SETTINGS, CAPTURE, ASPECT)
    target = target_window(BOX, CAPTURE, ASPECT, SETTINGS)
    xs = [framer.update(BOX, 1 / 30).x for _ in range(300)]
    assert abs(xs[-1] - target.x) < DEAD_BAND * target.w
    start = 0.0
    assert all(min(start, target.x) - 1e-6 <= x <= max(start, target.x) + 1e-6 for x in xs)  # no overshoot
    assert np.all(np.sign(target.x - start) * np.diff(xs) >= -1e-9)  # monotone towards the target


def test_mask_noise_never_moves_a_settled_picture() -> None:
    framer = Framer(SETTINGS, CAPTURE, ASPECT)
    for _ in range(300):
        framer.update(BOX, 1 / 30)
    settled = framer.window
    rng = np.random.default_rng(0)
    for _ in range(200):
        jitter = rng.integers(-8, 9, size=4)
        framer.update(tuple(int(v) for v in np.array(BOX) + jitter), 1 / 30)
        assert framer.window == settled


def test_nobody_eases_back_to_full_view_after_seconds() -> None:
    framer = Framer(SETTINGS, CAPTURE, ASPECT)
    for _ in range(300):
        framer.update(BOX, 1 / 30)
    zoomed = framer.window
    for _ in range(60):  # 2 s: stays
        framer.update(None, 1 / 30)
    assert framer.window == zoomed
    for _ in range(600):
        framer.update(None, 1 / 30)
    assert framer.window.w == pytest.approx(1280, abs=60)


def test_person_box_bounds_the_mask() -> None:
    mask = np.zeros((720, 1280), np.float32)
    mask[50:200, 300:400] = 1.0
    assert person_box(mask) == (300, 50, 400, 200)
    assert person_box(np.zeros((10, 10), np.float32)) is None


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ValueError, match="max_zoom: expected 1.0..4.0, got 9.0"):
        FramingSettings(max_zoom=9.0)


def _load(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def test_framing_section_loads_and_is_off_by_default(tmp_path) -> None:
    assert config.load().framing == FramingSettings()
    assert config.load().framing.mode == "off"
    loaded = _load(tmp_path, "framing:\n  mode: follow\n  max_zoom: 1.5\n  headroom: 0.2\n  speed: 4\n")
    assert loaded.framing == FramingSettings(mode="follow", max_zoom=1.5, headroom=0.2, speed=4.0)
    assert _load(tmp_path, "framing:\n  mode: off\n").framing.mode == "off"  # bare off is YAML false


def test_framing_errors_name_the_key(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, "framing:\n  mode: always\n  max_zoom: 9\n  zoom: 2\n  speed: fast\n")
    message = str(caught.value)
    assert "4 errors" in message
    assert "framing.mode: must be one of off, once, follow, got 'always'" in message
    assert "framing.max_zoom: must be 1.0..4.0, got 9" in message
    assert "framing.zoom: unknown key; allowed: mode, max_zoom, headroom, speed" in message
    assert "framing.speed: must be a number" in message


def _follow(framer: Framer, box: tuple[int, int, int, int], frames: int) -> np.ndarray:
    """(frames, 4) windows shown while following box at 30 fps."""
    return np.array([framer.update(box, 1 / 30).as_array() for _ in range(frames)])


def test_follow_is_the_critically_damped_spring_not_a_jump_or_a_low_pass() -> None:
    """From rest the shown window is target + offset0 (1 + wt) e^-wt: it starts slowly (no jump, no first-order
    low-pass, whose step is biggest at once), is half-way at wt = 1.68 (0.84 s at speed 2) and never passes
    the target (no underdamped ringing)."""
    framer = Framer(SETTINGS, CAPTURE, ASPECT)
    start, target = framer.window.as_array(), target_window(BOX, CAPTURE, ASPECT, SETTINGS).as_array()
    shown = _follow(framer, BOX, 45)
    t = np.arange(1, 46)[:, None] / 30
    spring = target + (start - target) * (1 + SETTINGS.speed * t) * np.exp(-SETTINGS.speed * t)
    np.testing.assert_allclose(shown, spring, atol=0.5)
    distance = np.abs(target - start).max()
    assert np.abs(shown[0] - start).max() < 0.01 * distance  # the first frame barely moves
    half = int(np.argmax(np.abs(shown - start).max(axis=1) >= distance / 2))
    assert 22 <= half <= 28  # 0.73-0.93 s


def test_follow_stops_within_one_percent_of_the_target() -> None:
    """The follow runs on until the window is within 1 % of its width of the target (a quarter of the dead
    band), so a settled picture is where it should be, not left at the edge of the band."""
    framer = Framer(SETTINGS, CAPTURE, ASPECT)
    target = target_window(BOX, CAPTURE, ASPECT, SETTINGS).as_array()
    for _ in range(300):
        framer.update(BOX, 1 / 30)
        if framer.settled:
            break
    assert framer.settled
    assert np.abs(framer.window.as_array() - target).max() <= 0.01 * framer.window.w + 1e-9


def test_dead_band_is_four_percent_of_the_window() -> None:
    """Settled: the person moving 2 % of the window width leaves the picture alone; moving 8 % is followed."""
    framer = Framer(SETTINGS, CAPTURE, ASPECT)
    _follow(framer, BOX, 300)
    settled, width = framer.window, framer.window.w
    small = round(0.02 * width)
    _follow(framer, (BOX[0] + small, BOX[1], BOX[2] + small, BOX[3]), 60)
    assert framer.window == settled
    large = round(0.08 * width)
    moved = _follow(framer, (BOX[0] + large, BOX[1], BOX[2] + large, BOX[3]), 300)
    assert moved[-1][0] - settled.x == pytest.approx(large, abs=0.01 * width)


def test_speed_limit_caps_a_quick_follow_at_one_and_a_half_windows_a_second() -> None:
    """At the highest speed the spring alone would cross the picture in a few frames; the limit holds each
    frame's step to 1.5 window widths a second, and it does bind (the follow is slower than the spring)."""
    quick = FramingSettings(mode="follow", max_zoom=2.0, headroom=0.10, speed=10.0)
    framer = Framer(quick, CAPTURE, ASPECT)
    shown = np.vstack([framer.window.as_array(), _follow(framer, (900, 200, 1200, 720), 30)])
    steps = np.abs(np.diff(shown, axis=0))
    limits = shown[:-1, 2:3] * 1.5 / 30
    assert np.all(steps <= limits + 1e-9)
    assert np.sum(np.isclose(steps, limits).any(axis=1)) >= 3  # held at the limit for some frames
