"""MJPEG at libjpeg-turbo speed: packets decoded by simplejpeg into reused buffers, corrupt ones skipped.

Nearly every USB webcam gives 720p30 and 1080p30 only as MJPEG. OpenCV's own
decode (`cv2.imdecode`, what `cv2.VideoCapture` does) cost 9.5 CPU ms per 720p
frame here against 3.4 for simplejpeg (libjpeg-turbo, bundled in its wheel;
PyTurboJPEG 1.x measured 3.7 and needs a system library). Packets are decoded
only when the loop reads a frame, so no frame the loop will not use is decoded.
A packet that does not decode whole (a USB glitch truncates or flips bytes) is
skipped and counted, never handed on half-decoded.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np
import simplejpeg

from bgfx.errors import CaptureError
from bgfx.vision.frame import Frame
from bgfx.vision.timing import StrictClock, monotonic_ms

log = logging.getLogger(__name__)

RING = 2  # decoded images alternate between buffers: the frame handed out is never the one being written
MAX_BAD_IN_A_ROW = 30  # about a second of nothing but corrupt packets: the camera counts as lost


def fourcc_of(capture: cv2.VideoCapture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))


class JpegDecoder:
    """JPEG bytes → (H, W, 3) uint8 BGR in one of `RING` reused buffers; `errors` counts the packets skipped."""

    def __init__(self) -> None:
        self.errors = 0
        self._buffers: list[np.ndarray] = []
        self._next = 0

    def decode(self, packet: bytes | np.ndarray) -> np.ndarray | None:
        """The decoded image, or None (counted) when the packet is not a whole, valid JPEG."""
        data = packet.tobytes() if isinstance(packet, np.ndarray) else packet
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(data)
            buffer = self._buffer(height, width)
            return simplejpeg.decode_jpeg(data, colorspace="BGR", buffer=buffer, strict=True)
        except ValueError as e:
            self.errors += 1
            log.debug("corrupt JPEG packet skipped (%d so far): %s", self.errors, e)
            return None

    def _buffer(self, height: int, width: int) -> np.ndarray:
        if not self._buffers or self._buffers[0].shape != (height, width, 3):
            self._buffers = [np.empty((height, width, 3), np.uint8) for _ in range(RING)]
        self._next = (self._next + 1) % RING
        return self._buffers[self._next]


def decode_next(read_packet, decoder: JpegDecoder, name: str) -> np.ndarray | None:
    """Packets from `read_packet()` (None at the end) until one decodes; raises CaptureError after
    `MAX_BAD_IN_A_ROW` corrupt ones in a row."""
    for _ in range(MAX_BAD_IN_A_ROW):
        packet = read_packet()
        if packet is None:
            return None
        image = decoder.decode(packet)
        if image is not None:
            return image
    raise CaptureError(f"{name}: {MAX_BAD_IN_A_ROW} corrupt MJPEG frames in a row (a failing cable or camera?)")


class MjpegFile:
    """An MJPEG video file (.avi, fourcc MJPG) standing in for an MJPEG camera: its packets, read with
    CAP_PROP_FORMAT=-1, go through the same decode path; paced at the file's rate and looped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self._capture.isOpened() or not self._capture.set(cv2.CAP_PROP_FORMAT, -1):
            self._capture.release()
            raise CaptureError(f"{path}: cannot read its MJPEG packets; try another file")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 30.0
        self.decoder = JpegDecoder()
        first = decode_next(self._packet, self.decoder, str(path))
        if first is None:
            self._capture.release()
            raise CaptureError(f"{path}: no MJPEG frame decodes; try another file")
        self.size = (first.shape[1], first.shape[0])
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._clock = StrictClock()
        self._start, self._index = time.monotonic(), 0

    def _packet(self) -> np.ndarray | None:
        ok, packet = self._capture.read()
        if ok:
            return packet
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop back to the start
        ok, packet = self._capture.read()
        return packet if ok else None

    def read(self) -> Frame:
        """The next decoded frame at the file's own pace (packets that do not decode are skipped)."""
        due = self._start + self._index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:
            self._start -= delay  # fell far behind (a stall): restart the schedule instead of bursting
        self._index += 1
        stamp = self._clock.stamp(monotonic_ms())  # the packet's arrival, as a camera's: decoding counts as latency
        image = decode_next(self._packet, self.decoder, str(self.path))
        if image is None:
            raise CaptureError(f"{self.path}: no packet when looping back to the start")
        return Frame(image, stamp)

    @property
    def decode_errors(self) -> int:
        return self.decoder.errors

    def close(self) -> None:
        self._capture.release()


def is_mjpeg_file(path: Path) -> bool:
    """Whether a video file holds MJPEG (fourcc MJPG): then it takes the fast path."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        return capture.isOpened() and fourcc_of(capture) == "MJPG"
    finally:
        capture.release()
