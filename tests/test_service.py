"""The service side: sd_notify readiness and watchdog, the unit file, `bgfx service install`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.e2e


def notify_socket(tmp_path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "notify.sock"))
    server.settimeout(0.2)
    return server


def collect(server: socket.socket, seconds: float) -> list[tuple[float, str]]:
    messages = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = server.recv(4096)
        except TimeoutError:
            continue
        messages.append((time.monotonic(), data.decode()))
    return messages


def test_ready_after_the_first_frame_then_watchdog(tmp_path: Path) -> None:
    server = notify_socket(tmp_path)
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"}
    daemon = RunningDaemon(tmp_path, ["--input", str(VIDEO), "--backend", "fakecam"], env)
    try:
        messages = collect(server, 8.0)
        frames = daemon.frames()
    finally:
        assert daemon.stop() == 0
    ready = [(t, m) for t, m in messages if m.startswith("READY=1")]
    assert len(ready) == 1, messages
    assert frames and frames[0][0] <= ready[0][0]  # the first frame had reached the sink before READY
    watchdogs = [t for t, m in messages if m == "WATCHDOG=1"]
    assert len(watchdogs) >= 8  # every half of WATCHDOG_USEC (0.5 s) over ~6 s of running
    assert any(m.startswith("STATUS=running") for _, m in messages)


def test_bad_config_exits_with_the_config_status_and_never_ready(tmp_path: Path) -> None:
    server = notify_socket(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("effects: [{type: blur, strength: 0}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", "run", "--config", str(bad), "--input", str(VIDEO)], cwd=ROOT,
        env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 78
    assert "effects[0].strength: must be 1..100, got 0" in result.stderr
    assert not [m for _, m in collect(server, 0.5) if "READY=1" in m]


def _verify(unit: Path) -> subprocess.CompletedProcess:
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is needed (.ci/run installs Debian's systemd)")
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)


FAKE_SYSTEMCTL = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls.log"
[ -n "$SYSTEMCTL_FAILS" ] && { echo "Failed to connect to bus: No medium found" >&2; exit 1; }
exit 0
"""


def service_env(tmp_path: Path, fails: bool = False) -> dict[str, str]:
    """No user systemd runs on these machines: a stand-in `systemctl` on PATH records its calls."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    (tools / "systemctl").write_text(FAKE_SYSTEMCTL)
    (tools / "systemctl").chmod(0o755)
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "PATH": f"{tools}:{os.environ['PATH']}"}
    return {**env, "SYSTEMCTL_FAILS": "1"} if fails else env


def bgfx_in(env: dict[str, str], *args: str, umask: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bgfx", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def test_service_install_writes_a_unit_systemd_accepts(tmp_path: Path) -> None:
    env = service_env(tmp_path)
    result = bgfx_in(env, "service", "install", umask=0)
    assert result.returncode == 0, result.stderr
    unit = tmp_path / "home" / ".config" / "systemd" / "user" / "bgfx.service"
    assert f"wrote {unit}" in result.stdout and "enabled" in result.stdout
    assert (tmp_path / "tools" / "calls.log").read_text().splitlines() == ["--user daemon-reload", "--user enable bgfx.service"]
    assert unit.stat().st_mode & 0o777 == 0o644 and unit.parent.stat().st_mode & 0o777 == 0o755  # umask 000 or not
    text = unit.read_text()
    command = text.split("ExecStart=")[1].split()[0]
    assert Path(command).is_file() and os.access(command, os.X_OK)
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "RestartPreventExitStatus=78",
                 "ExecReload=/bin/kill -HUP $MAINPID", "PartOf=graphical-session.target"):
        assert line in text
    verified = _verify(unit)
    assert verified.returncode == 0, verified.stderr
    removed = bgfx_in(env, "service", "uninstall")
    assert removed.returncode == 0 and f"removed {unit}" in removed.stdout and not unit.exists()


def test_systemctl_failures_are_reported_with_a_failing_status(tmp_path: Path) -> None:
    env = service_env(tmp_path, fails=True)
    installed = bgfx_in(env, "service", "install")
    assert installed.returncode == 1 and "Traceback" not in installed.stderr
    assert "systemctl --user daemon-reload failed: Failed to connect to bus" in installed.stderr
    assert (tmp_path / "home" / ".config" / "systemd" / "user" / "bgfx.service").exists()  # written all the same
    removed = bgfx_in(env, "service", "uninstall")
    assert removed.returncode == 1 and "systemctl --user disable --now bgfx failed" in removed.stderr
    assert bgfx_in(env, "service", "status").returncode == 3


def test_a_path_with_spaces_is_quoted_the_way_systemd_reads_it(tmp_path: Path) -> None:
    from bgfx.service import quote_exec, render_unit

    assert quote_exec("/usr/bin/bgfx") == "/usr/bin/bgfx"
    assert quote_exec('/opt/my apps/50% "new"/bgfx') == '"/opt/my apps/50%% \\"new\\"/bgfx"'
    folder = tmp_path / "my apps" / "v 2"
    folder.mkdir(parents=True)
    program = folder / "bgfx"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / "bgfx.service"
    unit.write_text(render_unit(str(program)))
    assert f'ExecStart="{program}" run' in unit.read_text()
    verified = _verify(unit)
    assert verified.returncode == 0, verified.stderr  # systemd finds the program behind the quotes


def test_config_init_writes_a_private_file_whatever_the_umask(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    result = bgfx_in(env, "config", "init", umask=0)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "cfg" / "bgfx" / "config.yaml"
    assert written.stat().st_mode & 0o777 == 0o600 and written.parent.stat().st_mode & 0o777 == 0o700
    assert bgfx_in(env, "config", "init").returncode == 78  # exists: --force to overwrite


def test_doctor_without_loopback_or_camera_says_how_to_fix_both(bare_machine: Path) -> None:
    from bgfx.doctor import report, run_checks

    checks = run_checks(None, {})
    text = report(checks)
    assert "[FAIL] v4l2loopback: the kernel module is not loaded" in text
    assert "fix: sudo modprobe v4l2loopback devices=1 exclusive_caps=1" in text
    assert "[FAIL] camera: no camera found" in text
    assert "fix: plug a webcam in, or set capture.device to a video file" in text
    assert "[  ok] model selfie_landscape" in text


def test_doctor_with_a_loopback_device_and_a_camera_checks_both(bare_machine: Path, monkeypatch) -> None:
    from bgfx.doctor import report, run_checks
    from bgfx.live.cameras import v4l2
    from tests.support.fake_v4l2 import standard

    monkeypatch.setattr(v4l2, "ioctl", standard(bare_machine / "dev").ioctl)  # a C920 at video0, a loopback at video10
    (bare_machine / "module" / "parameters").mkdir(parents=True)
    (bare_machine / "module" / "parameters" / "exclusive_caps").write_text("N\n")
    for name, driver in (("video0", "uvcvideo"), ("video10", "v4l2loopback")):
        (bare_machine / "drivers" / driver).mkdir(parents=True)
        (bare_machine / "v4l" / name / "device").mkdir(parents=True)
        (bare_machine / "v4l" / name / "device" / "driver").symlink_to(bare_machine / "drivers" / driver)
    text = report(run_checks(None, {"output": {"device": "/nonexistent/video10"}}))
    assert "[warn] v4l2loopback: loaded without exclusive_caps (N)" in text
    assert "[FAIL] loopback device: none found (/nonexistent/video10)" in text
    assert "[  ok] camera: /dev/video0" in text and "/dev/video10" not in text.split("camera:")[1]


def test_doctor_with_a_backend_and_the_video_as_camera_is_fine(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.run_bgfx", "doctor", "--input", str(VIDEO), "--backend", "fakecam"],
        cwd=ROOT, env={**os.environ, "BGFX_FAKECAM_DIR": str(tmp_path / "cam")}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[  ok] virtual camera: pyvirtualcam backend 'fakecam' opens" in result.stdout
    assert f"[  ok] camera: video file {VIDEO}: 960x540 at 29.97 fps" in result.stdout
    assert "nothing blocks `bgfx run`" in result.stdout


def test_doctor_names_a_broken_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("capture: {fps: fast}\n")
    result = subprocess.run([sys.executable, "-m", "bgfx", "doctor", "--config", str(bad)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "[FAIL] config:" in result.stdout and "capture.fps: must be a number, got str 'fast'" in result.stdout
