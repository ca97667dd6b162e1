"""Live figures for `bgfx ctl status` and systemd's STATUS=: rolling fps and latency.

The live loop owns a `Stats` and publishes an immutable snapshot; the control
thread only reads the newest snapshot (replaced as a whole, never mutated).
"""

from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Callable

from bgfx.live.notify import Notifier
from bgfx.vision.timing import percentiles

if TYPE_CHECKING:
    from bgfx.vision.pipeline import Pipeline

Clock = Callable[[], float]  # seconds: time.monotonic for wall time, time.process_time for the process's CPU


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


class CpuMeter:
    """The process's CPU (every thread: MediaPipe's, the sink's, the page's), in cores, over windows of at least
    `window_s` seconds."""

    def __init__(self, window_s: float = 1.0, *, clock: Clock = time.monotonic, cpu_clock: Clock = time.process_time) -> None:
        self.window_s = window_s
        self.cores = 0.0
        self._cpu_clock = cpu_clock
        self._mark = (clock(), cpu_clock())

    def measure(self, now: float) -> float | None:
        """When a window has closed at `now` (s on the meter's clock): its length, with `cores` updated; else None."""
        then, cpu_then = self._mark
        if now - then < self.window_s:
            return None
        cpu = self._cpu_clock()
        self._mark = (now, cpu)
        self.cores = (cpu - cpu_then) / (now - then)
        return now - then


class Stats:
    """Counters the live loop updates per frame; `snapshot` turns them into what `bgfx ctl status` shows."""

    def __init__(self) -> None:
        self.fps_in, self.fps_out = Rate(), Rate()
        self.e2e_ms: collections.deque[float] = collections.deque(maxlen=300)
        self.mask_ages_ms: collections.deque[float] = collections.deque(maxlen=300)
        self.frames_out = 0
        self._cpu = CpuMeter()

    def sent(self, captured_ms: int | None) -> None:
        """A frame reached the sink; captured_ms: its capture timestamp (None for a card)."""
        self.frames_out += 1
        self.fps_out.tick()
        if captured_ms is not None:
            self.e2e_ms.append(time.monotonic() * 1000.0 - captured_ms)

    def aged(self, mask_age_ms: float) -> None:
        """The age of the oldest mask a composite used, relative to its frame (ms; inf: none yet, not kept)."""
        if mask_age_ms != float("inf"):
            self.mask_ages_ms.append(mask_age_ms)

    def snapshot(self, pipeline: Pipeline, **fields: object) -> dict:
        """fps, segmentation latency (submit → result) and capture → sink latency, in ms, plus `fields`."""
        now = time.monotonic()
        self._cpu.measure(now)
        person = pipeline.segmenters.get(pipeline.person_model)
        latency = percentiles(person.latencies_ms) if person else (0.0, 0.0)
        e2e = percentiles(self.e2e_ms)
        return {
            "state": fields.pop("state"),
            "fps_in": round(self.fps_in.per_second(now), 2),
            "fps_out": round(self.fps_out.per_second(now), 2),
            "latency_ms_median": round(latency[0], 2),
            "latency_ms_p95": round(latency[1], 2),
            "e2e_ms_median": round(e2e[0], 2),
            "e2e_ms_p95": round(e2e[1], 2),
            "mask_age_ms_max": round(max(self.mask_ages_ms, default=0.0), 1),  # over the last 300 frames
            # results MediaPipe dropped while busy (one may still be in flight)
            "dropped": sum(max(0, s.submitted - s.delivered - 1) for s in pipeline.segmenters.values()),
            "frames_out": self.frames_out,
            "cpu_cores": round(self._cpu.cores, 3),  # the whole process, over the last second or more
            "model": pipeline.person_model,
            "effects": dict(pipeline.chain.enabled),
            "framing": {"mode": pipeline.framing.mode, "zoom": round(pipeline.framing.zoom, 2)},
            **fields,
        }


HEADLINE = ("state", "camera", "readers")  # what a change of publishes at once


class StatusPublisher:
    """The newest snapshot, replaced whole (front-end threads read it), and systemd's STATUS= line.

    A snapshot is made at most every `interval_s` unless forced (after a command, when idle) or unless
    its headline (state, camera, readers) changed: `bgfx status` right after an application opens the
    camera says "running", not the idle snapshot of up to `interval_s` ago.
    """

    def __init__(self, notifier: Notifier, interval_s: float = 0.5) -> None:
        self.latest: dict = {"state": "starting"}
        self._notifier = notifier
        self._interval_s = interval_s
        self._published = -interval_s

    def due(self, force: bool = False, headline: tuple = ()) -> bool:
        """Whether to publish now; `headline` holds the values of HEADLINE for the snapshot to come."""
        changed = headline != tuple(self.latest.get(key) for key in HEADLINE[: len(headline)])
        return force or changed or time.monotonic() - self._published >= self._interval_s

    def publish(self, snapshot: dict, *, notify: bool = True) -> None:
        self._published = time.monotonic()
        self.latest = snapshot
        if notify:
            self._notifier.send(f"STATUS={snapshot['state']}: in {snapshot['fps_in']} fps, out {snapshot['fps_out']} fps")
