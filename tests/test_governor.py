"""The CPU budget: the governor's steps on a real pipeline, its judgement on real CPU time, and the daemon under
a real CPU hog on both cores."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

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


def test_the_daemon_holds_its_rate_under_a_cpu_hog_by_stepping_down(tmp_path: Path) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_text("effects: [{type: blur}]\nlive: {cpu_budget: 0.15}\n")
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=40)]) for _ in range(2)]
    try:
        daemon.wait_frames(30)
        daemon.wait_for("a step down", lambda: daemon.status()["effort"] >= 1, timeout=30)
        start = len(daemon.frames())
        began = time.monotonic()
        time.sleep(5)
        rate = (len(daemon.frames()) - start) / (time.monotonic() - began)
        status = daemon.status()
        assert rate >= 28 and status["fps_out"] >= 28, (rate, status)
        assert status["latency_ms_p95"] < 500
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
