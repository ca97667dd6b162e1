"""Live figures for `bgfx ctl status` and systemd's STATUS=: rolling fps and latency.

The live loop owns a `Stats` and publishes an immutable snapshot; the control
thread only reads the newest snapshot (replaced as a whole, never mutated).
"""

from __future__ import annotations

import collections
import time
from typing import Iterable

import numpy as np


class Rate:
    """Events per second over the last `window_s` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque(maxlen=1000)

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.monotonic() if now is None else now)

    def per_second(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        span = now - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


def percentiles(values: Iterable[float]) -> tuple[float, float]:
    """(median, p95) in the values' unit; (0, 0) when empty."""
    array = np.fromiter(values, float)
    if array.size == 0:
        return 0.0, 0.0
    return float(np.median(array)), float(np.percentile(array, 95))
