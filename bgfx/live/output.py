"""The output pacer: holds the output rate, fits frames to the output size, hands them to the sink.

The output size and rate are fixed when the sink opens (call apps do not
follow a virtual camera that changes format); a frame of another size (a
camera that changed, a card) is resized, and with `output.fps` below the
camera's rate, frames in between are dropped.
"""

from __future__ import annotations

import logging
import time

import cv2
import numpy as np

from bgfx.live.notify import Notifier
from bgfx.live.sinks import Sink
from bgfx.live.status import Clock, Stats
from bgfx.vision.frame import Frame

log = logging.getLogger(__name__)


class Output:
    """size: (w, h) of the sink; fps: its rate; paced: drop frames that come faster than fps; clock: monotonic
    seconds (injected by tests)."""

    def __init__(self, sink: Sink, size: tuple[int, int], fps: float, *, paced: bool, stats: Stats, notifier: Notifier,
                 clock: Clock = time.monotonic) -> None:
        self.sink = sink
        self.size = size
        self.fps = fps
        self.paced = paced
        self.readers_seen: int | None = None
        self._stats = stats
        self._notifier = notifier
        self._next_send: float | None = None
        self._clock = clock
        self._fitted = np.empty((size[1], size[0], 3), np.uint8)  # reused: a sink is done with a frame when send returns

    def send(self, image: np.ndarray, frame: Frame | None) -> bool:
        """Send (H, W, 3) uint8 BGR `image`, made from `frame` (None for a card); False when dropped or failed."""
        now = self._clock()
        if self.paced and self._next_send is not None and now < self._next_send:
            return False
        # The next slot one period on; after a stall, from now (no burst to catch up).
        period = 1.0 / self.fps
        self._next_send = now + period if self._next_send is None else max(self._next_send + period, now)
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, dst=self._fitted, interpolation=cv2.INTER_AREA)
        try:
            self.sink.send(image)
        except Exception as e:  # a sink that fails once (a reader's hiccup) must not stop the stream
            log.error("sink: %s", e)
            return False
        self._stats.sent(frame.timestamp_ms if frame is not None else None)
        self._notifier.ready(f"sending {self.size[0]}x{self.size[1]} at {self.fps:g} fps")
        return True

    def readers(self, timeout_s: float) -> int:
        """The sink's reader count, waiting up to timeout_s for a change (on demand)."""
        self.readers_seen = self.sink.readers(timeout_s)
        return self.readers_seen

    def close(self) -> None:
        self.sink.close()
