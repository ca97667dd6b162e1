"""Fail closed: no frame leaves with the raw room while the chain hides it — at start, when the model stalls,
when an effect raises, during a model switch. A raw frame is told by the fake camera's figures: no green wall
(the chain did not run) and sharp (not blurred); the desk video's frames measure over 1000, a blurred one ~2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.e2e

WALL = "effects: [{type: replace, name: wall, colour: '#00FF00'}]\nhotkeys: {}\nlive: {live}\n"


def raw(row: tuple[float, float, float]) -> bool:
    _, green, sharp = row
    return green < 0.05 and sharp > 100.0


def blurred(row: tuple[float, float, float]) -> bool:
    return row[1] < 0.05 and row[2] < 20.0


def composite(row: tuple[float, float, float]) -> bool:
    return row[1] > 0.3


def start(tmp_path: Path, live: str = "{}", env: dict[str, str] | None = None) -> RunningDaemon:
    config = tmp_path / "bgfx.yaml"
    config.write_text(WALL.replace("{live}", live))
    return RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"], env)


def test_the_first_frames_are_never_the_camera_frame(tmp_path: Path) -> None:
    daemon = start(tmp_path)
    try:
        daemon.wait_frames(40)
        rows = daemon.frame_rows()
        assert blurred(rows[0]), rows[0]  # no mask yet: the live frame blurred whole
        assert not any(raw(row) for row in rows), [row for row in rows if raw(row)][:3]
        assert any(composite(row) for row in rows)  # and then the chain's picture
    finally:
        assert daemon.stop() == 0


def test_a_stalled_segmenter_gives_the_last_picture_then_a_blur(tmp_path: Path) -> None:
    daemon = start(tmp_path, env={"BGFX_TEST_STALL_AFTER": "40"})
    try:
        daemon.wait_for("the stall", lambda: sum(composite(r) for r in daemon.frame_rows()) >= 20, timeout=60)
        daemon.wait_frames(120)  # four seconds: 0.5 s to go stale, 1 s of the last picture, then blurred
        rows = daemon.frame_rows()
        assert not any(raw(row) for row in rows)
        tail = rows[-20:]
        assert all(blurred(row) for row in tail), tail[:3]  # past the hold: blurred, not frozen, not raw
        assert daemon.status()["state"] == "running"
    finally:
        assert daemon.stop() == 0


def test_an_effect_that_raises_gives_safe_frames_and_the_daemon_goes_on(tmp_path: Path) -> None:
    daemon = start(tmp_path, env={"BGFX_TEST_RAISE_AFTER": "30"})
    try:
        daemon.wait_for("the failures", lambda: "processing failed" in daemon.log(), timeout=60)
        daemon.wait_frames(60)
        rows = daemon.frame_rows()
        assert not any(raw(row) for row in rows) and all(blurred(row) for row in rows[-20:])
        assert daemon.log().count("processing failed") == 1  # logged once, not 30 times a second
        assert daemon.status()["fps_out"] > 15  # the stream goes on (a stalled loop sends none)
    finally:
        assert daemon.stop() == 0


def test_a_model_switch_shows_no_room(tmp_path: Path) -> None:
    daemon = start(tmp_path)
    try:
        daemon.wait_frames(30)
        for model in ("deeplab_v3", "selfie_square", "selfie_landscape"):
            assert daemon.ctl("model", model).returncode == 0
            daemon.wait_frames(5)
        assert not any(raw(row) for row in daemon.frame_rows())
    finally:
        assert daemon.stop() == 0


@pytest.mark.parametrize(("stale", "expect"), [
    ("blur", blurred), ("card", lambda row: row[1] > 0.99), ("passthrough", raw),
])
def test_each_stale_policy_when_no_mask_comes(tmp_path: Path, stale: str, expect) -> None:
    config_live = f"{{stale: {stale}}}\npause: {{show: colour, colour: '#00FF00'}}"
    daemon = start(tmp_path, live=config_live, env={"BGFX_TEST_STALL_AFTER": "0"})  # the model never answers
    try:
        daemon.wait_frames(20)
        rows = daemon.frame_rows()[-15:]
        assert all(expect(row) for row in rows), rows[:3]  # blurred, the (green) card, or the camera as asked
        assert ("live.stale: passthrough" in daemon.log()) == (stale == "passthrough")  # warned only then
    finally:
        assert daemon.stop() == 0
