"""PipeWire cameras as input (`capture.device: pipewire` or `pipewire:NODE`): libcamera/IPU6 laptops and the
Camera portal give cameras only this way.

Frames come from a `gst-launch-1.0 pipewiresrc ! ... ! fdsink` child, as the sink
publishes through one: a PipeWire or GStreamer fault kills the child, not the
daemon (the feed reopens it with backoff, as for a lost V4L2 camera). A camera
offering MJPEG is read as `image/jpeg`, cut at JPEG EOI markers and decoded by
the MJPEG fast path; others as raw BGR converted and scaled by GStreamer to the
capture size, cut at a fixed frame size. A reader thread keeps only the newest
frame (latest-only), so nothing the loop will not use is decoded. bgfx's own
sink node is never taken: a feedback loop would show the room it hides.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from typing import Any

import numpy as np

from bgfx.errors import CaptureError
from bgfx.live.cameras.mjpeg import MAX_BAD_IN_A_ROW, JpegDecoder
from bgfx.vision.frame import Frame
from bgfx.vision.timing import StrictClock, monotonic_ms

log = logging.getLogger(__name__)

OWN = "bgfx"  # our sink's node names and descriptions start with this (output.node_name's default)
FRAME_TIMEOUT_S = 3.0  # no frame this long: the camera counts as lost
CHUNK = 1 << 16


def camera_nodes(dump: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The props of each PipeWire camera node in a `pw-dump` list (Video/Source, role Camera or none), ours left out,
    with `bgfx.mjpeg`: whether it offers MJPEG, and `bgfx.formats`: its formats as text (`bgfx cameras`)."""
    cameras = []
    for item in dump:
        info = item.get("info") or {}
        props = info.get("props") or {}
        if not item.get("type", "").endswith("Interface:Node") or props.get("media.class") != "Video/Source":
            continue
        if props.get("media.role", "Camera") != "Camera" or _is_ours(props):
            continue
        formats = [f for f in (info.get("params") or {}).get("EnumFormat") or [] if isinstance(f, dict)]
        cameras.append({**props, "bgfx.mjpeg": any(f.get("mediaSubtype") == "mjpg" for f in formats),
                        "bgfx.formats": sorted({_format_text(f) for f in formats})})
    return cameras


def _format_text(param: dict[str, Any]) -> str:
    """An EnumFormat param as "MJPG 1280x720" or "YUY2" (a size or format given as a range: its default)."""
    name, size = param.get("format", param.get("mediaSubtype", "?")), param.get("size")
    name, size = (value.get("default", value) if isinstance(value, dict) and "default" in value else value
                  for value in (name, size))
    name = "MJPG" if param.get("mediaSubtype") == "mjpg" else str(name)
    return f"{name} {size['width']}x{size['height']}" if isinstance(size, dict) and "width" in size else name


def _is_ours(props: dict[str, Any]) -> bool:
    names = (str(props.get(key, "")) for key in ("node.name", "node.description", "application.name"))
    return any(name.lower().startswith(OWN) for name in names)


def list_cameras(env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The session's camera nodes (empty when there is no PipeWire session or no pw-dump)."""
    try:
        result = subprocess.run(["pw-dump", "--no-colors"], capture_output=True, timeout=10, env=env)
        return camera_nodes(json.loads(result.stdout or b"[]"))
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []


def pick_camera(device: str) -> dict[str, Any]:
    """The node for `pipewire` (the first camera) or `pipewire:NODE` (by node.name or id); CaptureError when none."""
    wanted = device.partition(":")[2]
    cameras = list_cameras()
    for props in cameras:
        if not wanted or wanted in (props.get("node.name"), str(props.get("object.serial")), str(props.get("object.id"))):
            return props
    names = ", ".join(str(p.get("node.name")) for p in cameras) or "none"
    raise CaptureError(f"capture.device {device}: no such PipeWire camera (cameras: {names}; `bgfx cameras` lists them)")


def launch_command(node: str, mjpeg: bool, size: tuple[int, int]) -> list[str]:
    """gst-launch-1.0 argv: frames of node `node` on stdout, JPEG packets or BGR of `size`."""
    tail = ["image/jpeg"] if mjpeg else [
        "videoconvert", "!", "videoscale", "!", f"video/x-raw,format=BGR,width={size[0]},height={size[1]}"]
    return ["gst-launch-1.0", "-q", "pipewiresrc", f"target-object={node}", "always-copy=true", "!", *tail,
            "!", "fdsink", "fd=1", "sync=false"]  # fmt: skip


def cut_frames(pending: bytearray, mjpeg: bool, frame_bytes: int) -> list[bytes]:
    """Whole frames taken off the front of `pending` (the rest stays): JPEGs up to each EOI marker (FF D9, which
    entropy-coded data never holds), or raw frames of `frame_bytes`."""
    packets = []
    while True:
        if mjpeg:
            end = pending.find(b"\xff\xd9") + 2
            if end < 2:
                return packets
        elif len(pending) >= frame_bytes:
            end = frame_bytes
        else:
            return packets
        packets.append(bytes(pending[:end]))
        del pending[:end]


class PipeWireCamera:
    """A PipeWire camera read by a gst-launch child; `read` gives the newest frame, decoded on the loop's turn."""

    def __init__(self, device: str, *, width: int, height: int, fps: float, fourcc: str) -> None:
        props = pick_camera(device)
        self.device, self.size, self.fps = device, (width, height), fps
        self.node = str(props.get("node.name"))
        self.mjpeg = bool(props["bgfx.mjpeg"]) and fourcc == "MJPG"
        self.decoder = JpegDecoder()
        self._frame_bytes = width * height * 3
        self._slot: tuple[int, bytes] | None = None
        self._arrived = threading.Condition()
        self._clock = StrictClock()
        self._process = subprocess.Popen(launch_command(self.node, self.mjpeg, self.size),
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=self._pump, name="pipewire-camera", daemon=True).start()
        log.info("camera %s: PipeWire node %s as %s", device, self.node, "MJPEG" if self.mjpeg else f"BGR {width}x{height}")

    def _pump(self) -> None:
        """Cut the child's stdout into frames; keep the newest (stamped at arrival) in the slot."""
        pending = bytearray()
        stream = self._process.stdout
        while chunk := stream.read1(CHUNK):
            pending += chunk
            for packet in cut_frames(pending, self.mjpeg, self._frame_bytes):
                with self._arrived:
                    self._slot = (monotonic_ms(), packet)
                    self._arrived.notify()
        with self._arrived:
            self._arrived.notify()

    def read(self) -> Frame:
        """The newest frame (waiting up to FRAME_TIMEOUT_S); a corrupt JPEG is skipped (counted) for the next."""
        for _ in range(MAX_BAD_IN_A_ROW):
            stamp, packet = self._take()
            if not self.mjpeg:
                return Frame(np.frombuffer(packet, np.uint8).reshape(self.size[1], self.size[0], 3), self._clock.stamp(stamp))
            image = self.decoder.decode(packet)
            if image is not None:
                return Frame(image, self._clock.stamp(stamp))
        raise CaptureError(f"camera {self.device}: {MAX_BAD_IN_A_ROW} corrupt MJPEG frames in a row from {self.node}")

    def _take(self) -> tuple[int, bytes]:
        with self._arrived:
            if self._slot is None and self._process.poll() is None:
                self._arrived.wait(FRAME_TIMEOUT_S)
            taken, self._slot = self._slot, None
        if taken is None:
            raise CaptureError(f"camera {self.device}: no frame from PipeWire node {self.node} (gone or stopped)")
        return taken

    @property
    def decode_errors(self) -> int:
        return self.decoder.errors

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._process.stdout.close()
