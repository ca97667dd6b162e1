"""A video file read frame by frame: the one place that decodes, loops back to the start, and paces.

Used as a camera stand-in by the daemon (paced at the file's own rate, looped),
by `bgfx process` (as fast as decoded, stamped with media time), by `replace`
for a background video and by the benchmarks.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from bgfx.errors import CaptureError
from bgfx.vision.frame import Frame
from bgfx.vision.timing import StrictClock, monotonic_ms


class VideoFile:
    """A video file as a frame source.

    paced: deliver frames at the file's own rate with monotonic timestamps (as a
    camera would); otherwise as fast as decoded, stamped with media time.
    loop: start again at the end instead of returning None.
    Raises CaptureError (naming the file) when it cannot be opened or decoded.
    """

    def __init__(self, path: Path, *, paced: bool = False, loop: bool = False) -> None:
        self.path = path
        self.paced = paced
        self.loop = loop
        if not path.is_file():
            raise CaptureError(f"{path}: no such video file; check the path")
        self._capture = cv2.VideoCapture(str(path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok or first is None:
            self._capture.release()
            raise CaptureError(f"{path}: cannot decode this video (corrupt or unsupported); try another file")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else 30.0
        self.size = (first.shape[1], first.shape[0])
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._pending: np.ndarray | None = first
        self._index = 0
        self._clock = StrictClock()
        self._start = time.monotonic()

    def read_image(self) -> np.ndarray | None:
        """The next decoded (h, w, 3) uint8 BGR image, looping if asked; None at the end otherwise."""
        image, self._pending = self._pending, None
        if image is not None:
            return image
        ok, image = self._capture.read()
        if ok:
            return image
        if not self.loop:
            return None
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, image = self._capture.read()
        if not ok:
            raise CaptureError(f"{self.path}: decoding failed when looping back to the start")
        return image

    def read(self) -> Frame | None:
        """The next Frame, paced and stamped as set up; None at the end of a file that does not loop."""
        image = self.read_image()
        if image is None:
            return None
        if self.paced:
            due = self._start + self._index / self.fps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                self._start -= delay  # fell far behind (a stall): restart the schedule instead of bursting
            stamp = monotonic_ms()
        else:
            stamp = int(self._index * 1000 / self.fps)
        self._index += 1
        return Frame(image, self._clock.stamp(stamp))

    def close(self) -> None:
        self._capture.release()
