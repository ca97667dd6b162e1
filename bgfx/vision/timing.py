"""Clocks and figures shared by the per-frame path, the daemon's status and the benchmarks.

`monotonic_ms` stamps frames (MediaPipe's stream modes need strictly increasing
milliseconds, which `StrictClock` guarantees); `StageClock` times stages only
when figures are asked for; `percentiles` gives the (median, p95) every report uses.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Iterable, Iterator

import numpy as np


def monotonic_ms() -> int:
    """The monotonic clock in whole milliseconds."""
    return int(time.monotonic() * 1000)


class StrictClock:
    """Timestamps forced strictly increasing (a repeat becomes the previous + 1 ms)."""

    def __init__(self) -> None:
        self.last = -1

    def stamp(self, ms: int) -> int:
        self.last = max(self.last + 1, ms)
        return self.last


class StageClock:
    """Wall and process-CPU milliseconds per stage name, summed over the frame being processed."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + (time.perf_counter() - wall) * 1000.0
            self.cpu[name] = self.cpu.get(name, 0.0) + (time.process_time() - cpu) * 1000.0


def stage(clock: StageClock | None, name: str) -> AbstractContextManager[None]:
    """Time a stage only when someone asked for the figures (the live loop does not)."""
    return clock.stage(name) if clock is not None else nullcontext()


def percentiles(values: Iterable[float]) -> tuple[float, float]:
    """(median, p95) in the values' unit; (0, 0) when there are none."""
    array = np.fromiter(values, float)
    if array.size == 0:
        return 0.0, 0.0
    return float(np.median(array)), float(np.percentile(array, 95))
