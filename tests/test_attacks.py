"""The attack run, kept: what a hostile or clumsy user, or a flaky machine, does to a running daemon.
Each case must leave it running on its last good state with one line in the log (fast cases; the floods
and the soak measured by benchmarks/)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon
from tests.test_models import model_without_metadata

pytestmark = pytest.mark.e2e

WALL = "effects: [{type: replace, name: wall, colour: '#00FF00'}]\nhotkeys: {}\n"


@pytest.fixture()
def daemon(tmp_path: Path):
    config = tmp_path / "bgfx.yaml"
    config.write_text(WALL)
    running = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
    running.config = config
    running.wait_frames(15)
    yield running
    assert running.stop() == 0  # still alive, and it ends cleanly


def alive_on_the_old_chain(daemon: RunningDaemon) -> None:
    daemon.wait_frames(10)
    assert daemon.green_share(10) > 0.5 and daemon.process.poll() is None


@pytest.mark.parametrize(("text", "line"), [
    (b"effects: [{type: blur}]\n# caf\xe9\n", "not UTF-8 text (a bad byte on line 2)"),
    (b"effects: [{type: [blur]}]\n", "effects[0].type: unknown effect ['blur']"),
    (b"effects: " + b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b"segmentation: {models: []}\n", "segmentation.models: must list at least one model"),
])
def test_a_broken_file_on_reload_is_reported_and_the_old_state_kept(daemon: RunningDaemon, text: bytes, line: str) -> None:
    daemon.config.write_bytes(text)
    answer = daemon.ctl("reload")
    assert answer.returncode == 1 and line in answer.stderr and "Traceback" not in answer.stderr
    alive_on_the_old_chain(daemon)
    assert line in daemon.log() and "Traceback" not in daemon.log()


def test_bad_model_files_are_refused_and_the_running_model_kept(daemon: RunningDaemon, tmp_path: Path) -> None:
    bare = model_without_metadata(tmp_path / "bare.tflite")
    for path, line in (("/proc/self/mem", "0 bytes is not the size of a segmentation model"),
                       (str(bare), "cannot load as a MediaPipe segmenter: Input tensor has type float32"),
                       (str(tmp_path), "not a regular file")):
        answer = daemon.ctl("model", path)
        assert answer.returncode == 1 and line in answer.stderr, answer.stderr
    assert daemon.status()["model"] == "selfie_landscape"
    alive_on_the_old_chain(daemon)


def test_a_sighup_flood_coalesces_and_the_picture_goes_on(daemon: RunningDaemon) -> None:
    before = len(daemon.frames())
    for _ in range(100):  # 100 SIGHUPs in about a second
        daemon.process.send_signal(signal.SIGHUP)
        time.sleep(0.01)
    during = len(daemon.frames()) - before
    daemon.wait_for("the reloads", lambda: "reloaded" in daemon.log())
    alive_on_the_old_chain(daemon)
    reloads = daemon.log().count("reload: reloaded")
    assert 1 <= reloads <= 40, reloads  # a flag per turn, and reloads waiting coalesce: never one per signal
    assert during >= 15, during  # frames kept going out during the flood (reloads run off the frame thread)


def test_an_early_sighup_or_sigterm_is_never_fatal(tmp_path: Path) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_text(WALL)
    env = {**os.environ, "BGFX_FAKECAM_DIR": str(tmp_path / "cam")}
    args = [sys.executable, "-m", "tests.support.run_bgfx", "run", "--config", str(config), "--input", str(VIDEO),
            "--backend", "fakecam"]
    hupped = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)  # parsing arguments is done; MediaPipe and the model are still loading
    hupped.send_signal(signal.SIGHUP)
    time.sleep(6)
    assert hupped.poll() is None  # SIGHUP's default would have ended it
    hupped.send_signal(signal.SIGTERM)
    assert hupped.wait(timeout=20) == 0
    termed = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(0.6)
    termed.send_signal(signal.SIGTERM)
    assert termed.wait(timeout=30) == 0 and "Traceback" not in termed.stderr.read()


def test_a_config_that_cannot_be_read_at_start_exits_78_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_bytes(b"effects: []\n# \xff\n")
    result = subprocess.run([sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(VIDEO),
                             "--sink", "null"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 78 and "Traceback" not in result.stderr
    assert f"bgfx: error: {config}: not UTF-8 text" in result.stderr
