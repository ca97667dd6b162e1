"""PipeWire cameras as input: a GStreamer publisher in the suite's private PipeWire session is the camera,
once raw and once image/jpeg; `bgfx run` takes its frames end to end, never its own sink node."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

from bgfx.live.cameras.pipewire_source import camera_nodes, cut_frames, list_cameras
from tests.support.daemon import RunningDaemon
from tests.support.pipewire_session import PipeWireSession, start_session

NODE = "testcam"
RED = "0xffff0000"  # videotestsrc's foreground-color is ARGB


@pytest.fixture(scope="module")
def session() -> Iterator[PipeWireSession]:
    session = start_session()
    yield session
    session.stop()


def publish(session: PipeWireSession, jpeg: bool) -> subprocess.Popen:
    """A red 640x360 camera node named NODE, raw or MJPEG."""
    properties = f"props,media.class=Video/Source,media.role=Camera,node.name={NODE}"
    encode = ["jpegenc", "!"] if jpeg else []
    return subprocess.Popen(
        ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=solid-color", f"foreground-color={RED}", "!",
         "video/x-raw,width=640,height=360,framerate=30/1,format=I420", "!", *encode,
         "pipewiresink", "mode=provide", f"stream-properties={properties}"],
        env=session.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_camera(session: PipeWireSession) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [c for c in list_cameras(session.env) if c.get("node.name") == NODE]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("the test camera node did not appear")


@pytest.mark.e2e
def test_bgfx_run_takes_a_pipewire_camera_end_to_end(session: PipeWireSession, tmp_path: Path, jpeg: bool = False) -> None:
    # MJPEG end to end is left out: here a jpegenc ! pipewiresink publisher links but sends no buffer to any reader
    publisher = publish(session, jpeg)
    try:
        assert wait_camera(session)["bgfx.mjpeg"] is jpeg
        out = tmp_path / "live.mp4"
        config = tmp_path / "bgfx.yaml"
        config.write_text(f"capture: {{device: 'pipewire:{NODE}', width: 640, height: 360, fps: 30}}\n"
                          f"effects: []\noutput: {{sink: file, path: {out}}}\n")
        daemon = RunningDaemon(tmp_path, ["--config", str(config), "--max-frames", "40"], session.env)
        assert daemon.process.wait(timeout=120) == 0, daemon.log()
    finally:
        publisher.kill()
        publisher.wait()
    assert "Traceback" not in daemon.log()
    capture = cv2.VideoCapture(str(out))
    frames = [capture.read()[1] for _ in range(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))]
    assert len(frames) == 40 and frames[-1].shape == (360, 640, 3)
    red = [((f[..., 2] > 200) & (f[..., 1] < 60) & (f[..., 0] < 60)).mean() for f in frames[-10:]]
    assert min(red) > 0.95  # the camera's own picture, red as published (not BGR swapped, not a card)


def test_our_own_sink_node_and_non_cameras_are_never_taken() -> None:
    def node(name: str, description: str, media_class: str = "Video/Source", role: str = "Camera") -> dict:
        props = {"node.name": name, "node.description": description, "media.class": media_class, "media.role": role}
        return {"type": "PipeWire:Interface:Node", "info": {"props": props, "params": {"EnumFormat": [{"mediaSubtype": "mjpg"}]}}}

    dump = [node("bgfx", "bgfx virtual camera"), node("mine", "bgfx test camera"), node("mic", "Mic", "Audio/Source"),
            node("screen", "Screen", role="Screen"), node("libcamera_ov01a10", "Built-in camera")]
    cameras = camera_nodes(dump)
    assert [c["node.name"] for c in cameras] == ["libcamera_ov01a10"] and cameras[0]["bgfx.mjpeg"] is True


def test_mjpeg_from_the_child_is_cut_at_each_eoi_whatever_the_chunks() -> None:
    jpegs = [cv2.imencode(".jpg", np.full((36, 64, 3), value, np.uint8))[1].tobytes() for value in (10, 120, 250)]
    stream = b"".join(jpegs)
    pending, packets = bytearray(), []
    for start in range(0, len(stream) - 7, 7):  # chunks that split markers and packets anywhere
        pending += stream[start:start + 7]
        packets += cut_frames(pending, True, 0)
    assert packets == jpegs[:2] and bytes(pending) == stream[len(jpegs[0]) + len(jpegs[1]):][: len(pending)]
    raw = bytearray(bytes(range(250)) * 2)
    assert cut_frames(raw, False, 200) == [bytes(range(200)), bytes(range(200, 250)) + bytes(range(150))]
    assert len(raw) == 100
