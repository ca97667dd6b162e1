"""`bgfx run` end to end: the test video as camera, real models, frames received by a registered
pyvirtualcam backend, control by `bgfx ctl`, keys pressed with xdotool under Xvfb."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.e2e

GREEN_WALL = """
effects:
  - type: replace
    name: wall
    colour: "#00FF00"
segmentation:
  models: [selfie_landscape, deeplab_v3]
hotkeys: {hotkeys}
live: {live}
output: {output}
pause: {pause}
"""


def write_config(tmp_path: Path, hotkeys: str = "{}", live: str = "{}", output: str = "{}", pause: str = "{}") -> Path:
    path = tmp_path / "bgfx.yaml"
    path.write_text(GREEN_WALL.format(hotkeys=hotkeys, live=live, output=output, pause=pause))
    return path


@pytest.fixture()
def start(tmp_path: Path) -> Iterator:
    started: list[RunningDaemon] = []

    def _start(*args: str, env: dict[str, str] | None = None, config: Path | None = None) -> RunningDaemon:
        config = config or write_config(tmp_path)
        daemon = RunningDaemon(
            tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam", *args], env
        )
        started.append(daemon)
        return daemon

    yield _start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.stop()


def test_output_rate_equals_input_and_effects_apply(start, tmp_path: Path) -> None:
    daemon = start()
    daemon.wait_frames(30)
    first = len(daemon.frames())
    daemon.wait_frames(60)
    rows = daemon.frames()[first:]
    rate = (len(rows) - 1) / (rows[-1][0] - rows[0][0])
    assert abs(rate - 29.97) < 0.1 * 29.97, f"output rate {rate:.2f} fps for a 29.97 fps input"
    green = sum(g for _, g in rows) / len(rows)
    assert 0.5 < green < 0.8  # the background was replaced
    latest = cv2.imread(str(daemon.camera_dir / "latest.png"))
    assert latest.shape == (540, 960, 3)
    face = latest[120:220, 590:670]
    assert ((face[..., 1] == 255) & (face[..., 0] == 0)).mean() < 0.01  # and the person kept
    status = daemon.status()
    for key in ("fps_in", "fps_out", "latency_ms_median", "latency_ms_p95", "dropped", "model", "effects"):
        assert key in status
    assert status["model"] == "selfie_landscape" and status["effects"] == {"wall": True}
    assert status["latency_ms_median"] > 0
    assert daemon.stop() == 0


def test_ctl_toggle_model_and_pause_change_the_output(start, model_dir) -> None:
    model_dir("selfie_landscape", "deeplab_v3", "hair")
    daemon = start()
    daemon.wait_frames(20)
    before = daemon.green_share(20)
    result = daemon.ctl("model", "deeplab_v3")
    assert result.returncode == 0 and result.stdout.strip() == "model deeplab_v3"
    daemon.wait_frames(10)
    after = daemon.green_share(20)
    assert abs(after - before) > 0.008, (before, after)  # another model, another silhouette
    assert daemon.status()["model"] == "deeplab_v3"

    bad = daemon.ctl("model", "hair")
    assert bad.returncode == 1 and "cannot give person" in bad.stderr
    missing = daemon.ctl("model", "selfie_multiclass")  # not in its model folder: no download inside the live loop
    assert missing.returncode == 1 and "bgfx models pull selfie_multiclass" in missing.stderr
    assert daemon.status()["model"] == "deeplab_v3"  # the failed switch left the working model

    assert daemon.ctl("toggle", "wall").stdout.strip() == "wall off"
    daemon.wait_frames(5)
    assert daemon.green_share(10) == 0.0
    assert daemon.ctl("toggle", "nothing").returncode == 1

    assert daemon.ctl("pause").stdout.strip() == "paused"
    daemon.wait_frames(10)
    # pause.release_camera: the light goes off (the status is published once a second: wait for the next one)
    daemon.wait_for("the camera released", lambda: daemon.status()["camera"] == "closed")
    paused = cv2.imread(str(daemon.camera_dir / "latest.png"))
    assert cv2.Laplacian(cv2.cvtColor(paused, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var() < 100  # the blurred card
    assert daemon.ctl("resume").stdout.strip() == "resumed"
    daemon.wait_for("the camera back", lambda: daemon.status()["camera"] == "open")
    assert daemon.stop() == 0


@pytest.fixture()
def xvfb() -> Iterator[str]:
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        pytest.fail("Xvfb and xdotool are needed (.ci/run installs them: apt-get install xvfb xdotool)")
    display = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{display}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f":{display}"
    server.terminate()
    server.wait(timeout=10)


def test_real_key_presses_switch_model_and_toggle_effect(start, tmp_path: Path, xvfb: str) -> None:
    config = write_config(tmp_path, hotkeys='{"<ctrl>+<alt>+g": "toggle wall", "<ctrl>+<alt>+m": "next-model"}')
    daemon = start(config=config, env={"DISPLAY": xvfb})
    daemon.wait_frames(20)
    daemon.wait_for("hotkeys to be bound", lambda: "hotkeys: <ctrl>+<alt>+g" in daemon.log())
    before = daemon.green_share(20)
    subprocess.run(["xdotool", "key", "ctrl+alt+m"], env={**os.environ, "DISPLAY": xvfb}, check=True)
    daemon.wait_for("the model switch", lambda: daemon.status()["model"] == "deeplab_v3", timeout=30)
    daemon.wait_frames(10)
    assert abs(daemon.green_share(20) - before) > 0.008

    subprocess.run(["xdotool", "key", "ctrl+alt+g"], env={**os.environ, "DISPLAY": xvfb}, check=True)
    daemon.wait_for("the toggle", lambda: daemon.status()["effects"] == {"wall": False}, timeout=30)
    daemon.wait_frames(5)
    assert daemon.green_share(10) == 0.0
    assert daemon.stop() == 0


def test_reload_keeps_running_on_a_broken_config_and_applies_a_good_one(start, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    daemon = start(config=config)
    daemon.wait_frames(20)
    config.write_text("effects:\n  - type: replace\n    colour: '#00FF00'\n    strength: 3\n")
    result = daemon.ctl("reload")
    assert result.returncode == 1
    assert "effects[0].strength: unknown key" in result.stderr and str(config) in result.stderr
    assert daemon.green_share(15) > 0.5  # still the old chain
    config.write_text("effects:\n  - type: replace\n    name: wall\n    colour: '#0000FF'\n")
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("the SIGHUP reload", lambda: "reloaded" in daemon.log())
    daemon.wait_frames(5)
    assert daemon.green_share(10) == 0.0
    latest = cv2.imread(str(daemon.camera_dir / "latest.png"))
    assert tuple(latest[10, 10]) == (255, 0, 0)  # blue (BGR) wall now
    assert daemon.stop() == 0


def test_a_capture_source_failing_mid_run_keeps_output_and_reconnects(start, tmp_path: Path) -> None:
    clip = tmp_path / "camera.mp4"
    shutil.copyfile(VIDEO, clip)
    daemon = RunningDaemon(tmp_path, ["--config", str(write_config(tmp_path)), "--input", str(clip), "--backend", "fakecam"])
    try:
        daemon.wait_frames(20)
        clip.write_bytes(b"")  # the camera's stream breaks under the decoder
        daemon.wait_for("the camera to be lost", lambda: daemon.status()["state"] == "camera-lost", timeout=60)
        lost_at = len(daemon.frames())
        daemon.wait_frames(15)  # the virtual camera is still fed (the camera-lost card)
        assert "camera lost" in daemon.log()
        shutil.copyfile(VIDEO, clip)
        daemon.wait_for("the reconnection", lambda: daemon.status()["state"] == "running", timeout=60)
        daemon.wait_frames(10)
        assert len(daemon.frames()) > lost_at + 25
        assert daemon.green_share(10) > 0.5  # effects again
    finally:
        assert daemon.stop() == 0


def test_on_demand_opens_the_camera_only_while_the_node_is_held(start, tmp_path: Path) -> None:
    node = tmp_path / "video10"
    node.write_bytes(b"")
    config = write_config(tmp_path, live="{on_demand: true, release_after_s: 1}", output=f"{{device: {node}}}")
    daemon = start(config=config)
    daemon.wait_for("idle", lambda: _state(daemon) == "idle")
    time.sleep(1.5)
    assert daemon.frames() == [] and daemon.status()["camera"] == "closed"
    with open(node, "rb"):  # an application opens the virtual camera
        daemon.wait_frames(20)
        assert daemon.status()["camera"] == "open"
    daemon.wait_for("the camera to be released", lambda: daemon.status()["camera"] == "closed", timeout=20)
    count = len(daemon.frames())
    time.sleep(1.0)
    assert len(daemon.frames()) == count  # nothing is sent while nobody watches
    assert "camera released" in daemon.log()
    assert daemon.stop() == 0


def test_on_demand_watches_the_node_the_sink_opened_not_a_default(start, tmp_path: Path) -> None:
    node = tmp_path / "video42"  # what the virtual camera backend picked: not /dev/video10
    node.write_bytes(b"")
    config = write_config(tmp_path, live="{on_demand: true, release_after_s: 1}")  # output.device: null
    daemon = start(config=config, env={"BGFX_FAKECAM_NODE": str(node)})
    daemon.wait_for("idle", lambda: _state(daemon) == "idle")
    assert daemon.frames() == []
    with open(node, "rb"):
        daemon.wait_frames(10)
        assert daemon.status()["readers"] == 1
    daemon.wait_for("the camera to be released", lambda: daemon.status()["camera"] == "closed", timeout=20)
    assert f"watching {node} for readers" in daemon.log()
    assert daemon.stop() == 0


def test_reload_applies_live_and_pause_keys_and_names_what_waits_for_a_restart(start, tmp_path: Path) -> None:
    blue, red = tmp_path / "blue.png", tmp_path / "red.png"
    cv2.imwrite(str(blue), np.full((20, 20, 3), (255, 0, 0), np.uint8))
    cv2.imwrite(str(red), np.full((20, 20, 3), (0, 0, 255), np.uint8))
    config = write_config(tmp_path, live="{stale: passthrough}", pause=f"{{show: image, image: {blue}}}")
    daemon = start(config=config, env={"BGFX_TEST_STALL_AFTER": "0"})  # the model never answers: masks are stale
    daemon.wait_frames(10)
    assert daemon.green_share(10) == 0.0  # stale masks: the camera as is
    assert daemon.ctl("pause").returncode == 0
    daemon.wait_frames(8)
    assert tuple(cv2.imread(str(daemon.camera_dir / "latest.png"))[5, 5]) == (255, 0, 0)
    config.write_text(config.read_text().replace("stale: passthrough", "stale: card").replace(str(blue), str(red))
                      .replace("output: {}", "output: {fps: 12}"))
    assert daemon.ctl("reload").returncode == 0
    daemon.wait_frames(8)
    assert tuple(cv2.imread(str(daemon.camera_dir / "latest.png"))[5, 5]) == (0, 0, 255)  # the new pause image
    assert daemon.ctl("resume").returncode == 0
    daemon.wait_frames(8)
    resumed = cv2.imread(str(daemon.camera_dir / "latest.png"))
    assert ((resumed[..., 2] == 255) & (resumed[..., 1] == 0)).mean() > 0.99  # live.stale: card (the red image) now
    assert "output.fps: None → 12.0 applies on restart only" in daemon.log()
    assert daemon.stop() == 0


def _state(daemon: RunningDaemon) -> str | None:
    result = daemon.ctl("status", "--json")
    return None if result.returncode else json.loads(result.stdout)["state"]


def test_sigterm_ends_it_cleanly(start) -> None:
    daemon = start()
    daemon.wait_frames(10)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=5) == 0
    assert daemon.ctl("status").returncode == 69  # the control socket is gone too


def test_without_v4l2loopback_run_says_how_to_load_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", "run", "--input", str(VIDEO), "--device", str(tmp_path / "video99")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 69
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgfx" in result.stderr
    assert "/etc/modules-load.d/v4l2loopback.conf" in result.stderr
    assert "Traceback" not in result.stderr


def test_null_sink_runs_the_live_loop_for_max_frames(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", "run", "--input", str(VIDEO), "--sink", "null", "--max-frames", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started > 60 / 29.97 * 0.9  # paced at the input's rate, not as fast as possible


def test_control_socket_is_private(start) -> None:
    daemon = start()
    daemon.wait_frames(5)
    path = Path(daemon.env["XDG_RUNTIME_DIR"]) / "bgfx" / "control.sock"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    other_user = subprocess.run(
        [sys.executable, "-c", "import os, socket, sys; os.setgid(65534); os.setuid(65534); "
         "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'pause\\n'); print(s.recv(999))", str(path)],
        capture_output=True, text=True, timeout=30,
    )
    assert other_user.returncode != 0 and "PermissionError" in other_user.stderr
    assert daemon.status()["state"] == "running"  # nothing was paused
    assert daemon.stop() == 0


def test_file_sink_and_an_output_rate_below_the_camera(tmp_path: Path) -> None:
    out = tmp_path / "live.mp4"
    config = write_config(tmp_path, output=f"{{sink: file, path: {out}, fps: 15}}")
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(VIDEO), "--max-frames", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 30 and capture.get(cv2.CAP_PROP_FPS) == 15
    frames = [capture.read()[1] for _ in range(30)]
    green = [((f[..., 1] > 200) & (f[..., 0] < 60) & (f[..., 2] < 60)).mean() for f in frames[5:]]
    assert min(green) > 0.4  # the chain ran on what was written


def test_output_fps_below_input_drops_to_the_output_rate(start, tmp_path: Path) -> None:
    daemon = start(config=write_config(tmp_path, output="{fps: 15}"))
    daemon.wait_frames(10)
    first = len(daemon.frames())
    daemon.wait_frames(30)
    rows = daemon.frames()[first:]
    rate = (len(rows) - 1) / (rows[-1][0] - rows[0][0])
    assert abs(rate - 15) < 1.5, rate
    assert daemon.status()["fps_in"] > 20  # the camera (30 fps) is still read at its own rate, not at 15
    assert daemon.stop() == 0


def test_saving_the_config_file_applies_it(start, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    daemon = start(config=config)
    daemon.wait_frames(15)
    daemon.wait_for("the config watch", lambda: "saved changes are applied" in daemon.log())
    replacement = tmp_path / "bgfx.yaml.new"
    replacement.write_text("effects:\n  - type: replace\n    name: wall\n    colour: '#0000FF'\n")
    replacement.rename(config)  # how editors save
    daemon.wait_for("the reload", lambda: "reloaded" in daemon.log())
    daemon.wait_frames(5)
    assert daemon.green_share(10) == 0.0
    config.write_text("effects: [{type: replace, colour: 12}]\n")  # a broken save: reported, old one kept
    daemon.wait_for("the error", lambda: "effects[0].colour: must be '#RRGGBB'" in daemon.log())
    daemon.wait_frames(10)
    assert tuple(cv2.imread(str(daemon.camera_dir / "latest.png"))[10, 10]) == (255, 0, 0)
    assert daemon.stop() == 0


def test_the_shipped_hotkeys_work_with_real_key_presses(tmp_path: Path, xvfb: str) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_text("effects: [{type: blur}]\n")  # no hotkeys: the shipped ones apply
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"],
                           {"DISPLAY": xvfb})
    try:
        daemon.wait_frames(10)
        daemon.wait_for("hotkeys to be bound", lambda: "hotkeys: <ctrl>+<alt>+m" in daemon.log())
        press = lambda keys: subprocess.run(["xdotool", "key", keys], env={**os.environ, "DISPLAY": xvfb}, check=True)
        press("ctrl+alt+space")
        daemon.wait_for("pause by <ctrl>+<alt>+<space>", lambda: daemon.status()["state"] == "paused", timeout=30)
        press("ctrl+alt+space")
        daemon.wait_for("resume", lambda: daemon.status()["state"] == "running", timeout=30)
        press("ctrl+alt+b")
        daemon.wait_for("blur off by <ctrl>+<alt>+b", lambda: daemon.status()["effects"] == {"blur": False}, timeout=30)
    finally:
        assert daemon.stop() == 0
