"""The MJPEG fast path: packets from an MJPEG .avi (the stand-in for an MJPEG webcam, made here from the
desk clip) decoded by libjpeg-turbo into reused buffers; corrupt packets skipped and counted, end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgfx.errors import CaptureError
from bgfx.live.capture import open_source
from bgfx.live.cameras.mjpeg import RING, JpegDecoder, MjpegFile
from tests.conftest import ROOT, VIDEO
from tests.support.daemon import RunningDaemon

SIZE = (1280, 720)
FRAMES = 12


def desk_frames(count: int = FRAMES, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = [cv2.resize(capture.read()[1], size) for _ in range(count)]
    capture.release()
    return frames


def write_mjpeg(path: Path, frames: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def corrupt_packets(path: Path, damaged: dict[int, str]) -> None:
    """Damage packets in place (same length, so the container still parses): 'flip' zeroes the JPEG
    header after SOI; 'truncate' zeroes the second half of the packet with its EOI, as a cut-off transfer."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]
    for index, how in damaged.items():
        start = starts[index]
        end = data.index(b"\xff\xd9", start) + 2
        first, last = (start + 2, start + 400) if how == "flip" else ((start + end) // 2, end)
        data[first:last] = bytes(last - first)
    path.write_bytes(bytes(data))


def packet(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def test_decodes_as_opencv_does_into_reused_buffers() -> None:
    frames = desk_frames(RING + 1)
    decoder = JpegDecoder()
    images = []
    for frame in frames:
        image = decoder.decode(packet(frame))
        reference = cv2.imdecode(np.frombuffer(packet(frame), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (720, 1280, 3) and image.dtype == np.uint8
        assert np.abs(image.astype(int) - reference).mean() < 1.0
        images.append(image)
    assert np.shares_memory(images[0], images[RING])  # the ring's buffers come round again, none allocated
    assert not np.shares_memory(images[0], images[1])  # the frame handed out is not the one being written
    assert decoder.errors == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_corrupt_packet_is_skipped_and_counted(damage: str) -> None:
    good = packet(desk_frames(1)[0])
    bad = {"truncate": good[: len(good) // 2], "flip": good[:2] + bytes(300) + good[302:], "garbage": bytes(5000)}[damage]
    decoder = JpegDecoder()
    assert decoder.decode(bad) is None
    assert decoder.errors == 1
    assert decoder.decode(good) is not None and decoder.errors == 1


def test_the_mjpeg_stand_in_skips_corrupt_packets_and_hands_on_only_whole_frames(tmp_path: Path) -> None:
    frames = desk_frames()
    path = write_mjpeg(tmp_path / "cam.avi", frames)
    corrupt_packets(path, {3: "flip", 7: "truncate"})
    source = open_source(str(path), width=1280, height=720, fps=30, fourcc="MJPG")
    assert isinstance(source, MjpegFile) and source.size == SIZE
    source.fps = 1000.0  # not paced: the test needs the packets, not the camera's rate
    good = [f for i, f in enumerate(frames) if i not in (3, 7)]
    got = [source.read().image.copy() for _ in range(len(good))]
    source.close()
    assert source.decode_errors == 2
    for expected, image in zip(good, got):  # each one a whole frame, in order: no damaged picture, none raw
        assert np.abs(image.astype(int) - expected).mean() < 4.0


def test_a_camera_of_nothing_but_corrupt_packets_is_a_capture_error(tmp_path: Path) -> None:
    path = write_mjpeg(tmp_path / "broken.avi", desk_frames(3))
    corrupt_packets(path, {0: "flip", 1: "flip", 2: "truncate"})
    with pytest.raises(CaptureError, match="broken.avi"):
        MjpegFile(path)


CONFIG = """
effects:
  - type: replace
    name: wall
    colour: "#00FF00"
output: {{sink: file, path: {out}}}
"""


@pytest.mark.e2e
def test_bgfx_run_on_the_mjpeg_stand_in_sends_the_chain_and_counts_decode_errors(tmp_path: Path) -> None:
    path = write_mjpeg(tmp_path / "cam.avi", desk_frames(60))
    corrupt_packets(path, {10: "truncate", 20: "flip"})
    out = tmp_path / "live.mp4"
    config = tmp_path / "bgfx.yaml"
    config.write_text(CONFIG.format(out=out))
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(path)])
    try:
        daemon.wait_for("the control socket", lambda: daemon.ctl("status", "--json").returncode == 0, timeout=90)
        daemon.wait_for("decode errors in status", lambda: daemon.status().get("decode_errors", 0) >= 2, timeout=90)
        daemon.wait_for("50 frames sent", lambda: daemon.status()["frames_out"] >= 50, timeout=90)
        status = daemon.status()
        assert status["state"] == "running" and status["fps_in"] > 20
    finally:
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.log()
    capture = cv2.VideoCapture(str(out))
    written = [capture.read()[1] for _ in range(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))]
    green = [((f[..., 1] > 200) & (f[..., 0] < 60) & (f[..., 2] < 60)).mean() for f in written[10:]]
    assert len(written) > 40 and min(green) > 0.3  # the chain ran on the decoded frames
