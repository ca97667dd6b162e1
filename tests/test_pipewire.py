"""The PipeWire camera, proven by real readers: a private PipeWire 1.x session, `bgfx run --sink pipewire`, and
GStreamer readers in other processes (`pipewiresrc ! fdsink`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

from bgfx.errors import SinkError
from bgfx.live.settings import OutputSettings
from bgfx.live.sinks import SINKS, open_sink
from bgfx.live.sinks.pipewire import Publisher, launch_command
from bgfx.live.sinks.pipewire_graph import Graph, batches
from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon
from tests.support.pipewire_session import PipeWireSession, Reader, start_session

NODE = "bgfx-test"
CONFIG = """\
effects: {effects}
live: {live}
output: {{sink: pipewire, node_name: {node}, node_description: "bgfx test camera"}}
"""


@pytest.fixture(scope="module")
def session() -> Iterator[PipeWireSession]:
    session = start_session()
    yield session
    session.stop()


@pytest.fixture()
def start(tmp_path: Path, session: PipeWireSession) -> Iterator:
    started: list[RunningDaemon] = []

    def _start(effects: str = "[]", live: str = "{}") -> RunningDaemon:
        config = tmp_path / "bgfx.yaml"
        config.write_text(CONFIG.format(effects=effects, live=live, node=NODE))
        deadline = time.monotonic() + 20
        while node_props(session) is not None and time.monotonic() < deadline:  # the last test's node, going away
            time.sleep(0.1)
        daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO)], session.env)
        started.append(daemon)
        daemon.wait_for("the node", lambda: node_props(session) is not None)
        return daemon

    yield _start
    for daemon in started:
        if daemon.process.poll() is None:
            assert daemon.stop() == 0


def node_props(session: PipeWireSession) -> dict | None:
    dump = subprocess.run(["pw-dump", "--no-colors"], env=session.env, capture_output=True, timeout=20)
    for item in json.loads(dump.stdout or b"[]"):
        props = (item.get("info") or {}).get("props") or {}
        if item.get("type", "").endswith("Interface:Node") and props.get("node.name") == NODE:
            return props
    return None


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.PSNR(a, b))


@pytest.fixture(scope="module")
def input_frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            return frames
        frames.append(image)


@pytest.mark.e2e
def test_a_reader_gets_the_output_as_a_camera_of_the_right_size_rate_and_pixels(
    start, session: PipeWireSession, input_frames: list[np.ndarray]
) -> None:
    start()
    props = node_props(session)
    assert props["media.class"] == "Video/Source" and props["media.role"] == "Camera"
    assert props["node.description"] == "bgfx test camera"
    reader = Reader(session.env, NODE)
    try:
        first = reader.read()
        assert reader.size == (960, 540) and reader.rate == "30/1"
        frames = [reader.read() for _ in range(45)]
        began = time.monotonic()
        for _ in range(30):
            reader.read()
        rate = 30 / (time.monotonic() - began)
    finally:
        reader.close()
    assert 24 < rate < 36  # frames arrive at the camera's pace
    best = [max(psnr(frame, truth) for truth in input_frames) for frame in [first, *frames[10::7]]]
    assert min(best) >= 35, best  # the picture itself, after the YUV round trip


@pytest.mark.e2e
def test_colours_survive_a_reader_that_converts_them_itself(start, session: PipeWireSession) -> None:
    start(effects='[{type: replace, colour: "#2050E0"}]')  # a strong blue behind her: red and blue must not swap
    reader = Reader(session.env, NODE, convert=True)
    try:
        frames = [reader.read() for _ in range(40)]
    finally:
        reader.close()
    corner = np.median(frames[-1][10:60, 10:60].reshape(-1, 3), axis=0)  # the top left is background
    assert np.abs(corner - (0xE0, 0x50, 0x20)).max() < 12, corner  # BGR of #2050E0


@pytest.mark.e2e
def test_two_readers_at_once_then_one_leaves_and_another_comes(start, session: PipeWireSession) -> None:
    daemon = start(live="{on_demand: true, release_after_s: 30}")  # on demand: the status counts readers
    one, two = Reader(session.env, NODE), Reader(session.env, NODE)
    try:
        for _ in range(10):
            one.read(), two.read()
        daemon.wait_for("two readers", lambda: daemon.status()["readers"] == 2, timeout=20)
        one.close()
        for _ in range(10):
            two.read()  # the other goes on
    finally:
        one.close(), two.close()
    daemon.wait_for("no reader", lambda: daemon.status()["readers"] == 0, timeout=20)
    daemon.wait_for("the node back", lambda: node_props(session) is not None, timeout=20)
    later = Reader(session.env, NODE)
    try:
        assert later.read().shape == (540, 960, 3) and later.read().std() > 10  # a picture, not a blank
    finally:
        later.close()


@pytest.mark.e2e
def test_on_demand_the_camera_opens_only_while_someone_reads(start, session: PipeWireSession) -> None:
    daemon = start(live="{on_demand: true, release_after_s: 1}")
    time.sleep(1.5)
    assert daemon.status()["camera"] == "closed"
    reader = Reader(session.env, NODE)
    try:
        for _ in range(15):
            reader.read()
        assert daemon.status()["camera"] == "open" and daemon.status()["readers"] == 1
    finally:
        reader.close()
    daemon.wait_for("the camera released", lambda: daemon.status()["camera"] == "closed", timeout=20)
    assert "camera released" in daemon.log()


@pytest.mark.e2e
def test_without_a_pipewire_session_run_and_doctor_say_how_to_start_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no pipewire-0 socket here
    monkeypatch.delenv("PIPEWIRE_REMOTE", raising=False)
    with pytest.raises(SinkError, match=r"no PipeWire daemon answers in this session .*systemctl --user enable --now pipewire"):
        open_sink(OutputSettings(sink="pipewire"), (64, 48), 30.0)
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", "run", "--input", str(VIDEO), "--sink", "pipewire"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "pipewire sink: no PipeWire daemon answers" in result.stderr


@pytest.mark.e2e
def test_doctor_reports_the_session_version_and_manager(session: PipeWireSession, monkeypatch) -> None:
    for key in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.setenv(key, session.env[key])
    checks = SINKS["pipewire"].kind.doctor(OutputSettings(sink="pipewire"), (64, 48), 30.0)
    assert [check.level for check in checks] == ["ok"] and "PipeWire 1." in checks[0].detail


def test_the_graph_counts_distinct_readers_of_our_node_from_split_monitor_output() -> None:
    node = lambda ident, name: {"id": ident, "type": "PipeWire:Interface:Node",
                                "info": {"props": {"node.name": name, "media.class": "Video/Source"}}}  # fmt: skip
    link = lambda ident, source, reader: {"id": ident, "type": "PipeWire:Interface:Link",
                                          "info": {"output-node-id": source, "input-node-id": reader}}  # fmt: skip
    text = json.dumps([node(40, "bgfx"), node(41, "other")]) + "\n" + json.dumps([link(50, 40, 60), link(51, 40, 61)])
    text += json.dumps([link(52, 40, 61), link(53, 41, 62)]) + json.dumps([{"id": 50, "info": None}])
    graph, found, pending = Graph("bgfx"), [], ""
    for start in range(0, len(text), 37):  # as the pipe delivers it: in pieces that cut objects
        complete, pending = batches(pending + text[start : start + 37])
        found += complete
    assert pending == "" and len(found) == 4
    counts = []
    for batch in found:
        graph.apply(batch)
        counts.append(graph.readers())
    assert counts == [0, 2, 2, 1]  # two links to one reader count once; another node's reader not at all


@pytest.mark.e2e
def test_a_blocked_write_keeps_its_buffer_while_the_loop_sends_on() -> None:
    """A child that never reads: the writer blocks on one buffer; every later frame must come from the others."""
    size = (1024, 680)  # 1,044,480 bytes a frame: the pipe (widened to 1 MiB) takes the black one, the next blocks
    publisher = Publisher(["sleep", "60"], size)
    try:
        deadline = time.monotonic() + 10
        mark = 0
        while (publisher.writing is None or publisher.writing is publisher._black) and time.monotonic() < deadline:
            buffer = publisher.acquire()
            if buffer is not None:
                mark += 1
                buffer[:] = mark
                publisher.offer(buffer)
            time.sleep(0.05)
        in_write = publisher.writing
        assert in_write is not None and in_write is not publisher._black, "the writer never blocked on a frame"
        written_mark = int(in_write[0, 0])
        for _ in range(20):  # the loop keeps sending while the write is stuck
            buffer = publisher.acquire()
            assert buffer is not in_write
            if buffer is not None:
                buffer[:] = 255
                publisher.offer(buffer)
        assert publisher.writing is in_write
        assert int(in_write.min()) == int(in_write.max()) == written_mark
    finally:
        publisher.close()


def test_the_node_name_and_description_reach_the_publisher_quoted() -> None:
    command = launch_command((1280, 720), 30000 / 1001, "cam", "my camera")
    assert "framerate=30/1" in command and "blocksize=1382400" in command  # a whole rate: Chromium needs one
    assert command[-1] == 'stream-properties=props,media.class=Video/Source,media.role=Camera,node.name=cam,node.description=(string)"my\\ camera"'


PROBE_PAGE = """<!doctype html><html><body><video id=v autoplay muted playsinline></video><canvas id=c></canvas>
<script>
async function probe() {
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  const labels = (await navigator.mediaDevices.enumerateDevices()).filter(d => d.kind === 'videoinput').map(d => d.label);
  const track = stream.getVideoTracks()[0];
  const video = document.getElementById('v');
  video.srcObject = stream;
  await new Promise(resolve => { video.onloadeddata = resolve; });
  await new Promise(resolve => setTimeout(resolve, 1000));
  const canvas = document.getElementById('c');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  context.drawImage(video, 0, 0);
  const data = context.getImageData(10, 10, 50, 50).data;  // the top left corner: background
  const mean = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) { mean[0] += data[i]; mean[1] += data[i + 1]; mean[2] += data[i + 2]; }
  return {labels, label: track.label, settings: track.getSettings(), size: [video.videoWidth, video.videoHeight],
          corner: mean.map(total => total / (data.length / 4))};
}
</script></body></html>"""


@pytest.fixture()
def camera_portal(session: PipeWireSession) -> Iterator[None]:
    portal = subprocess.Popen(
        [sys.executable, "-m", "tests.support.camera_portal"], cwd=ROOT, env=session.env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert portal.stdout.readline().strip() == "ready"
    yield
    portal.terminate()
    portal.wait(timeout=10)


# Chromium's own capture service sometimes aborts as it links a PipeWire camera (about 1 run in 100 here, more under
# load): "Check failed: !race_checker301.RaceDetected()" in webrtc's video_capture_pipewire.cc, a race between its
# start and its stream callback, whoever publishes the node. The track then ends (a 2x2 black frame or a start
# timeout). Only that abort, found in the browser's own log, earns another try; anything else fails at once.
CAPTURE_SERVICE_CRASHED = "Detected crash of video capture service"


def probe_in_chromium(session: PipeWireSession, log_path: Path) -> dict | None:
    """What a page sees of the default camera in a fresh Chromium; None if Chromium's capture service crashed."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", env=session.env,
            args=["--use-fake-ui-for-media-stream", "--enable-features=WebRtcPipeWireCamera", "--disable-gpu",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging", f"--log-file={log_path}"],
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.route("http://localhost/", lambda route: route.fulfill(content_type="text/html", body=PROBE_PAGE))
            page.goto("http://localhost/")  # localhost: a secure context, where getUserMedia is allowed
            try:
                seen = page.evaluate("probe()")
            except Error:
                seen = None
        finally:
            browser.close()
    if CAPTURE_SERVICE_CRASHED in log_path.read_text(errors="replace"):
        return None
    assert seen is not None, "getUserMedia failed without Chromium's capture service crashing"
    return seen


@pytest.mark.e2e
def test_a_browser_lists_the_camera_and_shows_its_picture(start, session: PipeWireSession, camera_portal, tmp_path) -> None:
    start(effects='[{type: replace, colour: "#2050E0"}]')
    for attempt in range(3):
        seen = probe_in_chromium(session, tmp_path / f"chromium-{attempt}.log")
        if seen is not None:
            break
    assert seen is not None, "Chromium's capture service crashed on each of 3 tries"
    assert seen["label"] == "bgfx test camera" and "bgfx test camera" in seen["labels"]
    assert seen["size"] == [960, 540] and seen["settings"]["frameRate"] == 30
    assert np.abs(np.array(seen["corner"]) - (0x20, 0x50, 0xE0)).max() < 16, seen["corner"]  # RGB of the replace colour


@pytest.mark.e2e
def test_doctor_without_v4l2loopback_says_whether_the_pipewire_camera_would_work(
    bare_machine: Path, session: PipeWireSession, tmp_path: Path, monkeypatch
) -> None:
    from bgfx.doctor import report, run_checks

    for key in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.setenv(key, session.env[key])
    text = report(run_checks(None, {}))
    assert "[FAIL] v4l2loopback: the kernel module is not loaded" in text
    assert "[  ok] instead: pipewire: PipeWire 1." in text and "answers" in text
    assert "output.sink: pipewire works here" in text
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # a session with no PipeWire
    text = report(run_checks(None, {}))
    assert "[warn] instead: pipewire: no PipeWire daemon answers in this session" in text
    assert "systemctl --user enable --now pipewire wireplumber" in text
