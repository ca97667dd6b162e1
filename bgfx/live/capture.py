"""Where frames come from: a V4L2 webcam, or a video file standing in for one (`bgfx.vision.video`).

A camera is asked for width, height, fps and pixel format (MJPG where offered,
since many USB cameras give 720p30 only in MJPG) and what it actually gives is
logged. An MJPG camera's compressed buffers are taken raw and decoded by
libjpeg-turbo (`bgfx.live.cameras.mjpeg`), as are an MJPEG file's packets
(the stand-in for such a camera). A video file is either paced at its own frame rate and looped (a demo
or test camera) or read as fast as possible with media timestamps (`process`).
Every Frame carries a strictly increasing timestamp in ms.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from bgfx.errors import CaptureError, ConfigError
from bgfx.live.cameras import controls as camera_controls
from bgfx.live.cameras import v4l2
from bgfx.live.cameras.mjpeg import JpegDecoder, MjpegFile, decode_next, fourcc_of, is_mjpeg_file
from bgfx.live.cameras.pipewire_source import PipeWireCamera
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


def decode_errors(source: Source | None) -> int:
    """Corrupt MJPEG frames the source skipped (0 for a source that decodes no MJPEG itself)."""
    return int(getattr(source, "decode_errors", 0))


class Camera:
    """A V4L2 camera by device path (/dev/videoN) or index; `controls` (capture.controls) are set once it runs."""

    def __init__(self, device: str, *, width: int, height: int, fps: float, fourcc: str,
                 controls: dict[str, int | bool | str] | None = None) -> None:
        self.device = device
        target: int | str = int(device) if device.isdigit() else device
        if isinstance(target, str) and not v4l2.node_path(device).exists():
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
        got_fourcc = fourcc_of(self._capture)
        # MJPG: take the compressed buffer (1, N) uint8 and decode it here, at libjpeg-turbo speed
        self._decoder = JpegDecoder() if got_fourcc == "MJPG" and self._capture.set(cv2.CAP_PROP_CONVERT_RGB, 0) else None
        self.size = (int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or fps
        log.info(
            "camera %s: asked %dx%d@%g %s, got %dx%d@%g %s",
            device, width, height, fps, fourcc, self.size[0], self.size[1], self.fps, got_fourcc,
        )
        self._clock = StrictClock()
        self.controls: dict[str, int | bool | str] = {}
        try:
            self.set_controls(controls or {})
        except ConfigError as e:  # checked when the config was loaded; another camera on this node since
            log.error("%s; the camera keeps its own settings", e)

    def set_controls(self, wanted: dict[str, int | bool | str], reset: dict[str, int | bool | str] | None = None) -> None:
        """Set capture.controls; those set before (`reset`, else the ones this camera set) and no longer wanted go
        back to the camera's defaults. ConfigError when the camera lacks one, nothing changed then."""
        reset = self.controls if reset is None else reset
        if wanted or reset:
            camera_controls.apply(self.device, wanted, reset=reset)
        self.controls = dict(wanted)

    def _grab(self) -> np.ndarray:
        ok, image = self._capture.read()
        if not ok or image is None:
            raise CaptureError(f"camera {self.device}: no frame (unplugged or stopped)")
        return image

    def read(self) -> Frame:
        if self._decoder is None:
            image = self._grab()
            return Frame(image, self._clock.stamp(monotonic_ms()))
        stamp = self._clock.stamp(monotonic_ms())  # the buffer's arrival: the decode counts as latency
        decoded = decode_next(self._grab, self._decoder, f"camera {self.device}")
        assert decoded is not None  # _grab raises instead of ending
        return Frame(decoded, stamp)

    @property
    def decode_errors(self) -> int:
        return self._decoder.errors if self._decoder else 0

    def close(self) -> None:
        self._capture.release()


def is_pipewire(device: str) -> bool:
    """`pipewire` (the default PipeWire camera) or `pipewire:NODE`."""
    return device == "pipewire" or device.startswith("pipewire:")


def is_camera(device: str) -> bool:
    return device.isdigit() or device.startswith("/dev/video") or is_pipewire(device)


def takes_controls(device: str) -> bool:
    """Only V4L2 cameras: a PipeWire camera's controls belong to libcamera/PipeWire, a file has none."""
    return is_camera(device) and not is_pipewire(device)


def check_controls(device: str, controls: dict[str, int | bool | str]) -> None:
    """ConfigError when the V4L2 camera lacks a control or value of capture.controls; for other inputs a warning:
    the controls are ignored (the same config runs a webcam, and `--input clip.mp4` for a try)."""
    if controls and not takes_controls(device):
        log.warning("capture.controls: ignored for %s: only V4L2 cameras (/dev/videoN) take controls", device)
    elif controls:
        camera_controls.check(device, controls)


def open_source(device: str, *, width: int, height: int, fps: float, fourcc: str,
                controls: dict[str, int | bool | str] | None = None) -> Source:
    """A camera for /dev/videoN or an index (its controls set); otherwise a video file, paced and looped like a
    camera (an MJPEG file through the MJPEG camera's decode path)."""
    if is_pipewire(device):
        return PipeWireCamera(device, width=width, height=height, fps=fps, fourcc=fourcc)
    if is_camera(device):
        return Camera(device, width=width, height=height, fps=fps, fourcc=fourcc, controls=controls)
    path = Path(device).expanduser()
    if path.is_file() and is_mjpeg_file(path):
        return MjpegFile(path)
    return VideoFile(path, paced=True, loop=True)
