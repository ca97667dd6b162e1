"""The CPU budget: the governor's steps on a real pipeline, its judgement on real CPU time, and the daemon under
a real CPU hog on both cores."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from bgfx.live.governor import STEPS, Governor
from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.refine import RefineSettings
from bgfx.vision.segmentation_settings import SegmentationSettings
from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon

HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


class Clocks:
    """A wall clock and a process-CPU clock the test moves by hand: the governor's judgement without sleeping
    or depending on how busy the machine is."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def spend(self, seconds: float, cores: float) -> None:
        self.wall += seconds
        self.cpu += seconds * cores


def governed(budget: float, fps: float) -> tuple[Governor, Clocks]:
    clocks = Clocks()
    return Governor(budget, fps, clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu), clocks


@pytest.mark.models
def test_steps_set_the_pipelines_knobs_and_step_zero_restores_the_configured_ones() -> None:
    refine = RefineSettings(guide_width=256)
    with Pipeline((ChainItem("blur", True, Blur()),), SegmentationSettings(still_every=3), refine) as pipeline:
        pipeline.set_effort(STEPS[-1])
        gate = pipeline.gate
        assert (gate.still_every, gate.moving_every, gate.hair_factor) == (8, 2, 2)
        assert pipeline.refine_settings.guide_width == 160
        pipeline.set_effort(STEPS[0])
        assert (gate.still_every, gate.moving_every, gate.hair_factor) == (3, 1, 1)
        assert pipeline.refine_settings.guide_width == 256


def test_over_budget_steps_down_and_room_steps_back_up() -> None:
    governor, clocks = governed(budget=0.5, fps=10.0)
    frames, levels = 0, []
    for _ in range(3):  # busy: 0.9 cores, frames on time
        clocks.spend(1.05, cores=0.9)
        frames += 11
        governor.tick(frames)
        levels.append(governor.level)
    assert levels == [0, 1, 1] and governor.cores == pytest.approx(0.9)  # two seconds over, then one step down
    for _ in range(5):  # 0.4 cores: within budget but not well within it (70 %): no step back
        clocks.spend(1.05, cores=0.4)
        frames += 11
        governor.tick(frames)
    assert governor.level == 1
    levels = []
    for _ in range(5):  # idle: well within budget, on time: back up after five seconds
        clocks.spend(1.05, cores=0.05)
        frames += 11
        governor.tick(frames)
        levels.append(governor.level)
    assert levels == [1, 1, 1, 1, 0]


def test_late_frames_step_down_whatever_the_cpu_and_a_waiting_loop_is_not_judged() -> None:
    late, clocks = governed(budget=8.0, fps=30.0)
    for _ in range(2):  # 25 of the 30 frames a second: late, though the CPU is idle
        clocks.spend(1.0, cores=0.01)
        late.tick(int(clocks.wall * 25))
    assert late.level == 1
    waiting, clocks = governed(budget=0.1, fps=30.0)
    for _ in range(4):  # on demand, nobody reading: 3 s windows with no frames are not judged
        clocks.spend(3.0, cores=1.0)
        waiting.tick(0)
    assert waiting.level == 0


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


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_with_a_generous_budget_nothing_steps_down(tmp_path: Path) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_text("effects: [{type: blur}]\nlive: {cpu_budget: 8}\n")
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
    try:
        daemon.wait_frames(150)
        assert daemon.status()["effort"] == 0 and daemon.status()["effort_step"] == "as configured"
    finally:
        assert daemon.stop() == 0
