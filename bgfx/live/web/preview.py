"""The preview slot: the live loop's latest pictures for the control page, handed over only while a page watches.

With no page open the loop pays one attribute read a frame. While one is, the
loop offers at most `RATE` pictures a second, each view shrunk to `WIDTH` px
wide (~0.2 ms a 720p frame); the web thread encodes them. Latest-only: an
offer replaces what the page has not taken yet.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

RATE = 15.0  # pictures a second, at most
WIDTH = 640  # px


def shrink_to(image: np.ndarray, width: int = WIDTH) -> np.ndarray:
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) if image.shape[1] > width else image.copy()


class PreviewSlot:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: dict[str, np.ndarray] = {}
        self._sequence = 0
        self._offered_at = 0.0
        self.watchers = 0  # pages connected (the web thread counts them)

    def wanted(self) -> bool:
        """Whether the loop should offer this frame: a page watches and the last offer is 1/RATE s old."""
        return self.watchers > 0 and time.monotonic() - self._offered_at >= 1.0 / RATE

    def offer(self, output: np.ndarray, camera: np.ndarray | None, mask: np.ndarray | None) -> None:
        """The loop's pictures: output and camera (H, W, 3) BGR, mask (H, W) uint8; shrunk here."""
        views = {"output": shrink_to(output)}
        if camera is not None:
            views["camera"] = shrink_to(camera)
        if mask is not None:
            views["mask"] = cv2.cvtColor(shrink_to(mask), cv2.COLOR_GRAY2BGR)
        with self._lock:
            self._views = views
            self._sequence += 1
            self._offered_at = time.monotonic()

    def take(self, after: int) -> tuple[int, dict[str, np.ndarray]]:
        """The newest views if newer than sequence `after`, else (after, {})."""
        with self._lock:
            if self._sequence == after:
                return after, {}
            return self._sequence, self._views
