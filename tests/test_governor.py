"""The CPU budget: the governor's steps on a real pipeline, its judgement on real CPU time, and the daemon under
a real CPU hog on both cores."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2

from bgfx.live.governor import STEPS, Governor, apply_step
from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon

HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_steps_set_the_pipelines_knobs_and_step_zero_restores_the_configured_ones() -> None:
    with Pipeline((ChainItem("blur", True, Blur()),), SegmentationSettings(still_every=3)) as pipeline:
        apply_step(pipeline, len(STEPS) - 1, 256)
        gate = pipeline.gate
        assert (gate.still_every, gate.moving_every, gate.hair_factor) == (4, 2, 2)
        assert pipeline.refine_settings.guide_width == 160
        apply_step(pipeline, 0, 256)
        assert (gate.still_every, gate.moving_every, gate.hair_factor) == (3, 1, 1)
        assert pipeline.refine_settings.guide_width == 256


def test_over_budget_steps_down_and_room_steps_back_up() -> None:
    governor = Governor(budget=0.5, fps=10.0)
    frames, levels = 0, []
    for _ in range(3):  # busy: a whole core, frames on time
        burn(1.05)
        frames += 11
        governor.tick(frames)
        levels.append(governor.level)
    assert levels == [0, 1, 1] and governor.cores > 0.8  # two seconds over, then one step down
    for _ in range(5):  # idle: within budget, on time
        time.sleep(1.05)
        frames += 11
        governor.tick(frames)
    assert governor.level == 0 and governor.cores < 0.1
    late = Governor(budget=8.0, fps=30.0)
    for _ in range(2):  # frames late, CPU no matter
        time.sleep(1.05)
        late.tick(0)
    assert late.level == 1


def clip_720p30(path: Path, frames: int = 150) -> Path:
    """The desk video's first `frames` frames scaled to 1280x720 at 30 fps: a 720p30 webcam."""
    capture = cv2.VideoCapture(str(VIDEO))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1280, 720))
    for _ in range(frames):
        ok, image = capture.read()
        assert ok, f"cannot decode {VIDEO}"
        writer.write(cv2.resize(image, (1280, 720)))
    writer.release()
    capture.release()
    return path


def test_the_daemon_holds_its_rate_under_a_cpu_hog_by_stepping_down(tmp_path: Path) -> None:
    """720p30 under a busy loop on both cores: at least 28 fps out, the masks never older than the stale limit."""
    config = tmp_path / "bgfx.yaml"
    config.write_text("effects: [{type: blur}]\nlive: {cpu_budget: 0.15}\n")
    clip = clip_720p30(tmp_path / "720p30.mp4")
    # The null sink: the test camera's own per-frame checks and PNGs would load the daemon's loop at 720p.
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(clip), "--sink", "null"])
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=40)]) for _ in range(2)]
    try:
        daemon.wait_sent(30)
        daemon.wait_for("a step down", lambda: daemon.status()["effort"] >= 1, timeout=30)
        start, began = daemon.status()["frames_out"], time.monotonic()
        time.sleep(5)
        status = daemon.status()
        rate = (status["frames_out"] - start) / (time.monotonic() - began)
        assert rate >= 28 and status["fps_out"] >= 28, (rate, status)
        assert status["latency_ms_p95"] < 500
        assert 0 < status["mask_age_ms_max"] <= 500, status  # live.max_mask_age_ms: no safe frame was needed
    finally:
        for hog in hogs:
            hog.kill()
        assert daemon.stop() == 0


def test_with_a_generous_budget_nothing_steps_down(tmp_path: Path) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_text("effects: [{type: blur}]\nlive: {cpu_budget: 8}\n")
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
    try:
        daemon.wait_frames(150)
        assert daemon.status()["effort"] == 0 and daemon.status()["effort_step"] == "as configured"
    finally:
        assert daemon.stop() == 0
