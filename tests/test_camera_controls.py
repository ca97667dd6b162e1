"""`bgfx cameras` and `capture.controls` against a fake of the V4L2 ioctl layer (a C920 webcam, its metadata node,
a v4l2loopback output): the listing as text and JSON, controls set at open and on reload as the fake device records
them, bad names and values answered with the camera's own choices, `bgfx doctor` showing the same listing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from dataclasses import replace

from bgfx.config import parse
from bgfx.errors import ConfigError
from bgfx.live import capture
from bgfx.live.cameras import controls, listing, v4l2
from bgfx.live.feed import Feed
from bgfx.live.settings import CaptureSettings
from bgfx.live.status import Rate
from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon
from tests.support.fake_v4l2 import FakeV4l2, frames_from, recorded, standard

MANUAL = {"auto_exposure": "manual_mode", "exposure_time_absolute": 100, "gain": 64}


def bgfx(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command line, with the fake V4L2 layer's nodes in tmp_path/dev."""
    env = {**os.environ, "BGFX_TEST_V4L2": str(tmp_path / "dev"), "BGFX_TEST_V4L2_FRAMES": str(VIDEO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "tests.support.run_bgfx", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_listing_names_each_camera_its_formats_rates_controls_and_capture_device(fake: FakeV4l2) -> None:
    found = listing.list_all(env={"PATH": "/nonexistent"})
    text = listing.as_text(found)
    lines = text.splitlines()
    assert lines[0] == "/dev/video0: HD Pro Webcam C920 (uvcvideo, usb-0000:00:14.0-1)  capture.device: /dev/video0"
    assert "  MJPG (Motion-JPEG): 640x480@30/24/20/15/10/7.5/5, 1280x720@30/24/20/15/10/7.5/5, 1920x1080@30/24/20/15/10/7.5/5" in lines
    assert "  YUYV (YUYV 4:2:2): 640x480@30/24/20/15/10/7.5/5, 1280x720@10/7.5/5, 1920x1080@5" in lines
    exposure = next(line for line in lines if line.strip().startswith("auto_exposure "))
    assert "menu 1 manual_mode, 3 aperture_priority_mode; default 3, now 3" in exposure
    assert any(line.strip().startswith("pan_absolute") and "-36000..36000 step 3600" in line for line in lines)
    assert not any("User Controls" in line or "camera_controls" in line for line in lines)  # class headings left out
    assert '/dev/video10: an output (v4l2 loopback "bgfx"), not a camera' in lines
    assert not any(line.startswith("/dev/video1:") for line in lines)  # the C920's metadata node
    assert lines[-1].startswith("PipeWire: pw-dump is not installed")
    data = json.loads(listing.as_json(found))
    assert [c["device"] for c in data["cameras"]] == ["/dev/video0"]
    mjpg = next(f for f in data["cameras"][0]["formats"] if f["fourcc"] == "MJPG")
    assert mjpg["sizes"][1] == [1280, 720, [30, 24, 20, 15, 10, 7.5, 5]]
    gain = next(c for c in data["cameras"][0]["controls"] if c["name"] == "gain")
    assert (gain["kind"], gain["minimum"], gain["maximum"], gain["value"]) == ("int", 0, 255, 0)


@pytest.mark.e2e
def test_no_camera_and_no_pipewire_session_are_one_line_each(tmp_path: Path) -> None:
    result = bgfx(tmp_path, "cameras", env={"BGFX_TEST_V4L2_NODES": "", "PIPEWIRE_REMOTE": "nobody-here"})
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        "V4L2: no camera (no /dev/video* node that captures)",
        "PipeWire: no session answers (pw-dump failed), so PipeWire cameras are not listed",
    ]


def test_controls_are_set_automatic_modes_first_and_menu_items_by_name(fake: FakeV4l2) -> None:
    taken = controls.apply("/dev/video0", {"exposure_time_absolute": 100, "gain": 64, "auto_exposure": "Manual Mode",
                                           "power_line_frequency": "50_hz", "white_balance_automatic": False})
    # exposure_time_absolute is refused (EACCES) while auto_exposure is automatic: the modes go first
    assert fake.sets == [("video0", "Auto Exposure", 1), ("video0", "White Balance, Automatic", 0),
                         ("video0", "Exposure Time, Absolute", 100), ("video0", "Gain", 64),
                         ("video0", "Power Line Frequency", 1)]
    assert taken == {"auto_exposure": 1, "white_balance_automatic": 0, "exposure_time_absolute": 100, "gain": 64,
                     "power_line_frequency": 1}


def test_a_control_no_longer_wanted_goes_back_to_the_cameras_default(fake: FakeV4l2) -> None:
    controls.apply("/dev/video0", MANUAL)
    controls.apply("/dev/video0", {"gain": 80}, reset=MANUAL)
    assert (fake.value("video0", "Gain"), fake.value("video0", "Auto Exposure")) == (80, 3)
    assert fake.value("video0", "Exposure Time, Absolute") == 250  # reset while still manual, then the mode


@pytest.mark.parametrize("wanted, says", [
    ({"exposure": 3}, "capture.controls.exposure: /dev/video0 has no control exposure; its controls: brightness, "
                      "contrast, saturation, white_balance_automatic, gain, power_line_frequency"),
    ({"gain": 300}, "capture.controls.gain: /dev/video0: 300 is not a value of gain (it takes 0..255)"),
    ({"pan_absolute": 100}, "it takes -36000..36000 step 3600"),
    ({"auto_exposure": "auto"}, "'auto' is not a value of auto_exposure (it takes 1 manual_mode, 3 aperture_priority_mode)"),
    ({"auto_exposure": 0}, "it takes 1 manual_mode, 3 aperture_priority_mode"),  # index 0 is not one this camera has
    ({"focus_automatic_continuous": 5}, "it takes true/false"),
    ({"gain": True}, "True is not a value of gain (it takes 0..255)"),
    ({"exposure_time_absolute": 100}, "sets exposure_time_absolute by an automatic mode now; set that mode to manual "
                                      "in capture.controls too (its automatic modes: white_balance_automatic, "
                                      "auto_exposure, focus_automatic_continuous)"),
])  # fmt: skip
def test_a_bad_name_or_value_names_the_device_and_the_cameras_choices(fake: FakeV4l2, wanted: dict, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        controls.apply("/dev/video0", {"brightness": 140, **wanted})
    assert says in str(raised.value)
    assert fake.sets == []  # nothing is set when any is bad


@pytest.mark.parametrize("raw, says", [
    ([1], "capture.controls: must map V4L2 control names to values"),
    ({"Gain": 1}, "'Gain' is not a V4L2 control name"),
    ({"gain": 1.5}, "gain: must be a whole number, true/false or a menu item's name, got 1.5"),
    ({"gain": [1]}, "must be a whole number"),
])  # fmt: skip
def test_the_config_file_checks_the_mappings_shape(raw: object, says: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"capture": {"controls": raw}}, "test.yaml", tmp_path)
    assert says in str(raised.value)
    assert parse({"capture": {"controls": MANUAL}}, "t.yaml", tmp_path).capture.controls == MANUAL
    assert parse({"capture": {"controls": None}}, "t.yaml", tmp_path).capture.controls == {}


def test_the_feed_sets_changed_controls_on_the_open_camera_and_resets_dropped_ones_at_reopen(
        fake: FakeV4l2, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "cv2", frames_from(str(VIDEO)))
    settings = CaptureSettings(width=960, height=540, controls=MANUAL)
    feed = Feed(settings, 0.001, Rate())
    assert feed.read() is not None and fake.value("video0", "Gain") == 64
    camera = feed._source
    fake.sets.clear()
    feed.reconfigure(replace(settings, controls={**MANUAL, "gain": 90}))
    assert feed._source is camera and fake.sets[-1] == ("video0", "Gain", 90)  # set live: the camera stays open
    feed.reconfigure(replace(settings, controls={**MANUAL, "gain": 999}))  # refused: logged, the last ones kept
    assert feed.settings.controls["gain"] == 90 and fake.value("video0", "Gain") == 90
    feed.release()
    feed.reconfigure(replace(settings, controls={"gain": 30}))
    assert feed.read() is not None
    assert (fake.value("video0", "Gain"), fake.value("video0", "Auto Exposure"),
            fake.value("video0", "Exposure Time, Absolute")) == (30, 3, 250)
    feed.release()


def write_config(tmp_path: Path, wanted: dict, web: str = "{enabled: false}") -> Path:
    path = tmp_path / "bgfx.yaml"
    path.write_text(f"capture: {{device: /dev/video0, width: 960, height: 540, controls: {json.dumps(wanted)}}}\n"
                    f"effects: []\noutput: {{sink: 'null'}}\nlive: {{watch_config: false, web: {web}}}\n")
    return path


@pytest.mark.e2e
def test_a_bad_control_at_start_is_a_config_error_naming_the_file_device_and_choices(tmp_path: Path) -> None:
    standard(tmp_path / "dev")
    result = bgfx(tmp_path, "run", "--config", str(write_config(tmp_path, {"gain": 300})), "--max-frames", "5")
    assert result.returncode == 78
    assert result.stderr.strip().splitlines()[-1] == (
        f"bgfx: error: {tmp_path / 'bgfx.yaml'}: capture.controls.gain: /dev/video0: 300 is not a value of gain "
        "(it takes 0..255)")
    assert recorded(tmp_path / "dev") == []


@pytest.fixture()
def running(tmp_path: Path) -> Iterator[RunningDaemon]:
    standard(tmp_path / "dev")
    env = {"BGFX_TEST_V4L2": str(tmp_path / "dev"), "BGFX_TEST_V4L2_FRAMES": str(VIDEO)}
    daemon = RunningDaemon(tmp_path, ["--config", str(write_config(tmp_path, MANUAL))], env)
    yield daemon
    daemon.stop()


def last_set(folder: Path, label: str) -> int | None:
    values = [value for _, name, value in recorded(folder) if name == label]
    return values[-1] if values else None


@pytest.mark.e2e
def test_controls_are_set_at_open_and_on_reload_and_a_bad_reload_keeps_them(running: RunningDaemon, tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    running.wait_sent(10)
    assert recorded(dev)[:3] == [("video0", "Auto Exposure", 1), ("video0", "Exposure Time, Absolute", 100),
                                 ("video0", "Gain", 64)]
    write_config(tmp_path, {**MANUAL, "gain": 80, "brightness": 150})
    assert running.ctl("reload").returncode == 0
    running.wait_for("gain 80 set", lambda: last_set(dev, "Gain") == 80, timeout=20)
    assert last_set(dev, "Brightness") == 150
    write_config(tmp_path, {**MANUAL, "gain": 999})
    answer = running.ctl("reload")
    assert answer.returncode == 1 and "capture.controls.gain: /dev/video0: 999 is not a value of gain (it takes 0..255)" in answer.stderr
    running.wait_sent(running.status()["frames_out"] + 5)  # still running
    assert last_set(dev, "Gain") == 80 and last_set(dev, "Brightness") == 150
    write_config(tmp_path, {"gain": 70})  # brightness and the manual exposure dropped: back to the camera's defaults
    assert running.ctl("reload").returncode == 0
    running.wait_for("gain 70 set", lambda: last_set(dev, "Gain") == 70, timeout=20)
    assert (last_set(dev, "Brightness"), last_set(dev, "Exposure Time, Absolute"), last_set(dev, "Auto Exposure")) \
        == (128, 250, 3)
    assert "Traceback" not in running.log()


@pytest.mark.e2e
def test_controls_are_ignored_with_a_warning_for_a_video_file(tmp_path: Path) -> None:
    standard(tmp_path / "dev")
    config = write_config(tmp_path, {"gain": 64})
    result = bgfx(tmp_path, "run", "--config", str(config), "--input", str(VIDEO), "--max-frames", "5")
    assert result.returncode == 0, result.stderr
    assert f"capture.controls: ignored for {VIDEO}: only V4L2 cameras (/dev/videoN) take controls" in result.stderr
    assert recorded(tmp_path / "dev") == []


@pytest.mark.e2e
def test_doctor_shows_the_listing_and_checks_the_controls(tmp_path: Path) -> None:
    standard(tmp_path / "dev")
    result = bgfx(tmp_path, "doctor", "--config", str(write_config(tmp_path, {"gain": 64, "focus": 1})),
                  env={"PATH": os.path.dirname(sys.executable)})
    lines = result.stdout.splitlines()
    assert "[  ok] camera: /dev/video0 HD Pro Webcam C920: YUYV 1920x1080@5, MJPG 1920x1080@30/24/20/15/10/7.5/5; " \
           "16 controls" in lines
    assert "[  ok] camera: PipeWire: pw-dump is not installed (package pipewire-bin or pipewire), so PipeWire " \
           "cameras are not listed" in lines
    failed = next(line for line in lines if line.startswith("[FAIL] capture.controls"))
    assert "/dev/video0 has no control focus; its controls: brightness" in failed and "focus_absolute" in failed
    assert result.returncode == 1 and "Traceback" not in result.stderr


@pytest.mark.e2e
def test_doctor_without_any_camera_says_so_in_one_line(tmp_path: Path) -> None:
    result = bgfx(tmp_path, "doctor", "--config", str(write_config(tmp_path, {})),
                  env={"PATH": os.path.dirname(sys.executable), "BGFX_TEST_V4L2_NODES": "video10"})
    assert "[FAIL] camera: no camera found (no V4L2 camera, no PipeWire camera node)" in result.stdout.splitlines()
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_cameras_lists_a_pipewire_camera_with_its_capture_device(tmp_path: Path) -> None:
    from tests.test_camera_pipewire import NODE, publish, wait_camera
    from tests.support.pipewire_session import start_session

    standard(tmp_path / "dev")
    session = start_session()
    publisher = publish(session, jpeg=False)
    try:
        wait_camera(session)
        result = bgfx(tmp_path, "cameras", "--json", env=session.env)
    finally:
        publisher.kill()
        publisher.wait()
        session.stop()
    data = json.loads(result.stdout)
    node = next(n for n in data["pipewire"] if n["device"] == f"pipewire:{NODE}")
    assert node["mjpeg"] is False and not [n for n in data["pipewire"] if "bgfx" in n["device"]]
    assert [c["device"] for c in data["cameras"]] == ["/dev/video0"]


@pytest.mark.e2e
def test_settings_and_the_control_page_show_the_cameras_controls(tmp_path: Path) -> None:
    from tests.test_web import CHROMIUM_ARGS
    from playwright.sync_api import expect, sync_playwright

    standard(tmp_path / "dev")
    env = {"BGFX_TEST_V4L2": str(tmp_path / "dev"), "BGFX_TEST_V4L2_FRAMES": str(VIDEO)}
    daemon = RunningDaemon(tmp_path, ["--config", str(write_config(tmp_path, MANUAL, web="{port: 0}"))], env)
    try:
        daemon.wait_sent(5)
        answer = daemon.ctl("settings")
        assert answer.returncode == 0, answer.stderr
        shown = json.loads(answer.stdout)["controls"]
        assert (shown["device"], shown["wanted"], shown["note"]) == ("/dev/video0", MANUAL, "")
        gain = next(c for c in shown["camera"] if c["name"] == "gain")
        assert (gain["value"], gain["wanted"], gain["choices"], gain["default"]) == (64, 64, "0..255", 0)
        wb = next(c for c in shown["camera"] if c["name"] == "white_balance_temperature")
        assert (wb["inactive"], wb["wanted"]) == (True, None)
        page_file = Path(os.environ["XDG_RUNTIME_DIR"]) / "bgfx" / "web.json"
        daemon.wait_for("the control page", page_file.exists, timeout=60)
        time.sleep(0.2)
        page_info = json.loads(page_file.read_text())
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = chromium.new_page()
            page.goto(f"{page_info['url']}?token={page_info['token']}")
            expect(page.locator('[data-control="gain"]')).to_have_text("gain = 64 (0..255; default 0) capture.controls: 64",
                                                                       timeout=30000)
            expect(page.locator('[data-control="auto_exposure"]')).to_contain_text("auto_exposure = 1 (1 manual_mode, "
                                                                                  "3 aperture_priority_mode; default 3)")
            expect(page.locator("#camera-note")).to_have_text("/dev/video0: set in capture.controls")
            chromium.close()
    finally:
        assert daemon.stop() == 0


LAYOUT_PROGRAM = r"""
#include <stdio.h>
#include <stddef.h>
#include <linux/videodev2.h>
#define R(name) printf(#name " %lu\n", (unsigned long)(name));
#define O(type, field) printf(#type "." #field " %zu\n", offsetof(struct type, field));
int main(void) {
  R(VIDIOC_QUERYCAP) R(VIDIOC_ENUM_FMT) R(VIDIOC_G_CTRL) R(VIDIOC_S_CTRL) R(VIDIOC_QUERYCTRL) R(VIDIOC_QUERYMENU)
  R(VIDIOC_ENUM_FRAMESIZES) R(VIDIOC_ENUM_FRAMEINTERVALS)
  O(v4l2_capability, device_caps) O(v4l2_fmtdesc, pixelformat) O(v4l2_frmsizeenum, discrete)
  O(v4l2_frmivalenum, discrete) O(v4l2_queryctrl, default_value) O(v4l2_queryctrl, flags) O(v4l2_querymenu, name)
  return 0;
}
"""
OFFSETS = {"v4l2_capability.device_caps": (v4l2.Capability, "device_caps"),
           "v4l2_fmtdesc.pixelformat": (v4l2.FormatDesc, "pixelformat"), "v4l2_frmsizeenum.discrete": (v4l2.FrameSize, "size"),
           "v4l2_frmivalenum.discrete": (v4l2.FrameInterval, "interval"),
           "v4l2_queryctrl.default_value": (v4l2.QueryCtrl, "default_value"), "v4l2_queryctrl.flags": (v4l2.QueryCtrl, "flags"),
           "v4l2_querymenu.name": (v4l2.QueryMenu, "item")}


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/usr/include/linux/videodev2.h").exists() or not shutil.which("cc"),
                    reason="needs the kernel's videodev2.h and a C compiler")
def test_the_ctypes_structs_and_requests_are_the_kernels(tmp_path: Path) -> None:
    # the fake answers whatever layout bgfx uses: only the kernel's own header can say the layout is right
    source = tmp_path / "layout.c"
    source.write_text(LAYOUT_PROGRAM)
    subprocess.run(["cc", str(source), "-o", str(tmp_path / "layout")], check=True, capture_output=True)
    answers = dict(line.rsplit(" ", 1) for line in subprocess.run([str(tmp_path / "layout")], capture_output=True,
                                                                   text=True, check=True).stdout.splitlines())
    for name, value in answers.items():
        if name.startswith("VIDIOC_"):
            assert getattr(v4l2, name) == int(value), name
        else:
            struct, field = OFFSETS[name]
            assert getattr(struct, field).offset == int(value), name
