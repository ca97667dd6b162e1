"""Wayland shortcuts: a real daemon offers its `hotkeys:` table to a stand-in GlobalShortcuts portal on a
private session bus and obeys its Activated signals; under Xvfb the X11 (pynput) path is still chosen."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from bgfx.live.control.hotkeys import shortcut_backend
from bgfx.live.control.portal_shortcuts import portal_trigger
from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon
from tests.test_daemon import xvfb  # noqa: F401 (the fixture)

CONFIG = """
effects: [{type: blur}]
hotkeys:
  "<ctrl>+<alt>+<space>": toggle-pause
  "<ctrl>+<alt>+b": toggle blur
  "<cmd>+<shift>+<f5>": next-preset
"""
WAYLAND = {"WAYLAND_DISPLAY": "wayland-test", "DISPLAY": "", "XDG_SESSION_TYPE": "wayland"}


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class StandInPortal:
    """tests/support/shortcuts_portal.py in its own process: what it recorded, and commands to it."""

    def __init__(self, env: dict[str, str], record: Path) -> None:
        self.record = record
        self.process = subprocess.Popen([sys.executable, "-m", "tests.support.shortcuts_portal", str(record)],
                                        cwd=ROOT, env=env, stdin=subprocess.PIPE, text=True)
        wait_until("the stand-in portal", lambda: bool(self.events("ready")))

    def events(self, kind: str) -> list[dict]:
        lines = self.record.read_text().splitlines() if self.record.exists() else []
        return [entry for entry in map(json.loads, lines) if entry["event"] == kind]

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.send("quit")
            self.process.wait(timeout=10)


@pytest.fixture()
def session_bus(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private session D-Bus: the environment that reaches it."""
    bus = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                         capture_output=True, text=True, check=True, timeout=20)
    address, pid = bus.stdout.split()[:2]
    yield {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
    os.kill(int(pid), signal.SIGTERM)


@pytest.fixture()
def portal(session_bus: dict[str, str], tmp_path: Path) -> Iterator[StandInPortal]:
    stand_in = StandInPortal(session_bus, tmp_path / "portal.jsonl")
    yield stand_in
    stand_in.stop()


def start_daemon(tmp_path: Path, env: dict[str, str]) -> RunningDaemon:
    config = tmp_path / "bgfx.yaml"
    config.write_text(CONFIG)
    return RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"], env)


def test_pynput_style_combinations_become_portal_triggers() -> None:
    assert portal_trigger("<ctrl>+<alt>+b") == "CTRL+ALT+b"
    assert portal_trigger("<ctrl>+<alt>+<space>") == "CTRL+ALT+space"
    assert portal_trigger("<shift>+<cmd>+<f5>") == "SHIFT+LOGO+F5"
    assert portal_trigger("B+<ctrl_l>") == "CTRL+b"  # modifiers first, the key last
    assert portal_trigger("<ctrl>++") == "CTRL+plus"
    assert portal_trigger("<ctrl>+<page_up>") == "CTRL+Page_Up"


@pytest.mark.parametrize(("env", "backend"), [
    ({"DISPLAY": ":1"}, "x11"),
    ({"DISPLAY": ":1", "WAYLAND_DISPLAY": "wayland-0"}, "portal"),  # XWayland: pynput would see only X clients
    ({"DISPLAY": ":1", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "x11"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "portal"),
    ({}, "portal"),
])
def test_the_back_end_follows_the_session(env: dict[str, str], backend: str) -> None:
    assert shortcut_backend(env)[0] == backend


@pytest.mark.e2e
def test_the_daemon_offers_its_hotkeys_to_the_portal_and_obeys_activated(
    tmp_path: Path, session_bus: dict[str, str], portal: StandInPortal
) -> None:
    daemon = start_daemon(tmp_path, {**session_bus, **WAYLAND})
    try:
        daemon.wait_for("the shortcuts bound", lambda: bool(portal.events("bound")))
        (bound,) = portal.events("bound")
        assert bound["session"].startswith("/org/freedesktop/portal/desktop/session/")
        assert bound["shortcuts"] == [
            ["toggle-pause", {"description": "pause or resume", "preferred_trigger": "CTRL+ALT+space"}],
            ["toggle blur", {"description": "turn one effect of the chain on or off: blur",
                             "preferred_trigger": "CTRL+ALT+b"}],
            ["next-preset", {"description": "the next preset", "preferred_trigger": "LOGO+SHIFT+F5"}],
        ]
        daemon.wait_for("the bound triggers logged", lambda: "toggle-pause → CTRL+ALT+space" in daemon.log())
        daemon.wait_sent(5)
        portal.send("activate toggle-pause")
        daemon.wait_for("paused by the portal", lambda: daemon.status()["state"] == "paused", timeout=30)
        portal.send("activate toggle blur")
        daemon.wait_for("blur off by the portal", lambda: daemon.status()["effects"] == {"blur": False}, timeout=30)
        portal.send("activate reload")  # not offered: ignored
        daemon.wait_for("the stranger ignored", lambda: "shortcut 'reload' is not one of ours" in daemon.log())
    finally:
        assert daemon.stop() == 0
    wait_until("the session closed on stop", lambda: bool(portal.events("session-closed")), timeout=10)


@pytest.mark.e2e
def test_a_closed_session_or_a_lost_portal_is_logged_and_the_daemon_goes_on(
    tmp_path: Path, session_bus: dict[str, str], portal: StandInPortal
) -> None:
    daemon = start_daemon(tmp_path, {**session_bus, **WAYLAND})
    try:
        daemon.wait_for("the shortcuts bound", lambda: bool(portal.events("bound")))
        daemon.wait_for("the bound triggers logged", lambda: "shortcuts (GlobalShortcuts portal)" in daemon.log())
        portal.send("close")
        daemon.wait_for("the close logged", lambda: "shortcuts are off: the desktop closed" in daemon.log())
        assert "bgfx ctl VERB" in daemon.log()
        portal.send("activate toggle-pause")  # the thread has stopped listening
        time.sleep(1.0)
        assert daemon.status()["state"] == "running"
        portal.stop()
        daemon.wait_sent(daemon.status()["frames_out"] + 5)
    finally:
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.log()


@pytest.mark.e2e
def test_without_a_portal_one_line_says_how_to_bind_by_hand(tmp_path: Path, session_bus: dict[str, str]) -> None:
    daemon = start_daemon(tmp_path, {**session_bus, **WAYLAND})
    try:
        daemon.wait_for("the hint", lambda: "shortcuts are off" in daemon.log())
        lines = [line for line in daemon.log().splitlines() if "shortcuts are off" in line]
        assert len(lines) == 1 and "ServiceUnknown" in lines[0] and "`bgfx ctl VERB`" in lines[0]
        daemon.wait_sent(5)
    finally:
        assert daemon.stop() == 0


def doctor_line(tmp_path: Path, env: dict[str, str]) -> str:
    """The shortcuts line of a real `bgfx doctor` run in `env` (its exit code is the camera's business)."""
    config = tmp_path / "doctor.yaml"
    config.write_text(CONFIG)
    result = subprocess.run([sys.executable, "-m", "bgfx", "doctor", "--config", str(config)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    (line,) = [line for line in result.stdout.splitlines() if "] shortcuts:" in line]
    return line


@pytest.mark.e2e
def test_doctor_says_the_portal_is_active_and_why(
    tmp_path: Path, session_bus: dict[str, str], portal: StandInPortal
) -> None:
    line = doctor_line(tmp_path, {**session_bus, **WAYLAND})
    assert line == "[  ok] shortcuts: GlobalShortcuts portal (WAYLAND_DISPLAY=wayland-test): 3 bindings offered, the desktop binds them"


@pytest.mark.e2e
def test_doctor_says_why_the_portal_is_not_there(tmp_path: Path, session_bus: dict[str, str]) -> None:
    assert "unavailable: no GlobalShortcuts portal on the session bus" in doctor_line(tmp_path, {**session_bus, **WAYLAND})
    no_bus = {**session_bus, **WAYLAND, "DBUS_SESSION_BUS_ADDRESS": ""}
    assert "unavailable: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)" in doctor_line(tmp_path, no_bus)


@pytest.mark.e2e
def test_under_xvfb_the_x11_path_is_still_chosen(tmp_path: Path, xvfb: str) -> None:  # noqa: F811
    daemon = start_daemon(tmp_path, {"DISPLAY": xvfb, "WAYLAND_DISPLAY": "", "XDG_SESSION_TYPE": ""})
    try:
        daemon.wait_for("hotkeys bound by pynput", lambda: "hotkeys: <ctrl>+<alt>+<space> → toggle-pause" in daemon.log())
        assert "shortcut back end: pynput (X11)" in daemon.log()
        daemon.wait_sent(5)
        subprocess.run(["xdotool", "key", "ctrl+alt+space"], env={**os.environ, "DISPLAY": xvfb}, check=True)
        daemon.wait_for("paused by a key press", lambda: daemon.status()["state"] == "paused", timeout=30)
    finally:
        assert daemon.stop() == 0
    assert "GlobalShortcuts" not in daemon.log()
    assert doctor_line(tmp_path, {**os.environ, "DISPLAY": xvfb, "WAYLAND_DISPLAY": "", "XDG_SESSION_TYPE": ""}) == (
        f"[  ok] shortcuts: pynput (X11, DISPLAY={xvfb} and no WAYLAND_DISPLAY): 3 bindings")
