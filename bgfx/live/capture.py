"""Where frames come from: a V4L2 webcam, or a video file standing in for one (`bgfx.vision.video`).

A camera is asked for width, height, fps and pixel format (MJPG where offered,
since many USB cameras give 720p30 only in MJPG) and what it actually gives is
logged. A video file is either paced at its own frame rate and looped (a demo
or test camera) or read as fast as possible with media timestamps (`process`).
Every Frame carries a strictly increasing timestamp in ms.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import cv2

from bgfx.errors import CaptureError
from bgfx.vision.frame import Frame
from bgfx.vision.timing import StrictClock, monotonic_ms
from bgfx.vision.video import VideoFile

log = logging.getLogger(__name__)


class Source(Protocol):
    fps: float
    size: tuple[int, int]

    def read(self) -> Frame | None:
        """The next frame; None at the end of a file that does not loop. Raises CaptureError."""

    def close(self) -> None: ...


class Camera:
    """A V4L2 camera by device path (/dev/videoN) or index."""

    def __init__(self, device: str, *, width: int, height: int, fps: float, fourcc: str) -> None:
        self.device = device
        target: int | str = int(device) if device.isdigit() else device
        if isinstance(target, str) and not os.path.exists(target):
            raise CaptureError(
                f"camera {device} does not exist: plug the camera in, or set capture.device "
                "(`v4l2-ctl --list-devices` lists cameras; a video file path works too)"
            )
        self._capture = cv2.VideoCapture(target, cv2.CAP_V4L2)
        if not self._capture.isOpened():
            raise CaptureError(f"camera {device} cannot be opened: is it busy in another program, or not a camera?")
        if fourcc:
            self._capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*fourcc[:4].ljust(4)))
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture.set(cv2.CAP_PROP_FPS, fps)
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        got = int(self._capture.get(cv2.CAP_PROP_FOURCC))
        got_fourcc = "".join(chr((got >> 8 * i) & 0xFF) for i in range(4))
        self.size = (int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or fps
        log.info(
            "camera %s: asked %dx%d@%g %s, got %dx%d@%g %s",
            device, width, height, fps, fourcc, self.size[0], self.size[1], self.fps, got_fourcc,
        )
        self._clock = StrictClock()

    def read(self) -> Frame:
        ok, image = self._capture.read()
        if not ok or image is None:
            raise CaptureError(f"camera {self.device}: no frame (unplugged or stopped)")
        return Frame(image, self._clock.stamp(monotonic_ms()))

    def close(self) -> None:
        self._capture.release()


def is_camera(device: str) -> bool:
    return device.isdigit() or device.startswith("/dev/video")


def open_source(device: str, *, width: int, height: int, fps: float, fourcc: str) -> Source:
    """A camera for /dev/videoN or an index; otherwise a video file, paced and looped like a camera."""
    if is_camera(device):
        return Camera(device, width=width, height=height, fps=fps, fourcc=fourcc)
    return VideoFile(Path(device).expanduser(), paced=True, loop=True)
