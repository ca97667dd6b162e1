"""A video file read frame by frame: the one place that decodes, loops back to the start, and paces.

Used as a camera stand-in by the daemon (paced at the file's own rate, looped),
by `bgfx process` (as fast as decoded, stamped with media time), by `replace`
for a background video and by the benchmarks.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from bgfx.errors import CaptureError
from bgfx.vision.frame import Frame
from bgfx.vision.imaging import check_regular_file
from bgfx.vision.timing import StrictClock, monotonic_ms

log = logging.getLogger(__name__)

CPU_SHARE = 0.3  # of one core: what a background video's decoding and fitting may cost at most
MAX_STEP = 4  # source frames decoded per shown frame at most (a 999 fps clip plays slowed, not at any cost)


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
        try:
            check_regular_file(path)  # a FIFO or device would block the decoder's open for ever
        except ValueError as e:
            raise CaptureError(str(e)) from None
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

    def skip(self, count: int) -> None:
        """Pass over `count` frames without converting them (grab without retrieve), looping as read_image does."""
        if count > 0 and self._pending is not None:
            self._pending, count = None, count - 1
        for _ in range(count):
            if not self._capture.grab():
                if not self.loop:
                    return
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)

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


class VideoPlayer:
    """A looping background video decoded, paced and fitted on its own thread; the frame thread never waits.

    Each tick the thread decodes the source frames due since the last one (at most MAX_STEP: `skip` passes
    over all but the last without colour conversion), fits the last once to the size the frame thread
    asked for, and puts it in a latest-only slot. Ticks come at the output rate (learnt from the asks) or
    the clip's, whichever is slower, and no faster than keeps the thread within CPU_SHARE of a core: a 4K
    or 999 fps clip the machine cannot decode in real time plays slower (said once in the log), never at
    the frame loop's cost. `frame(size)` is the newest fitted (h, w, 3) uint8 BGR frame of that size, or
    None while none is ready (at the start, or right after the size changed).
    """

    def __init__(self, video: VideoFile, fit: Callable[[np.ndarray, tuple[int, int]], np.ndarray]) -> None:
        self.video = video
        self._fit = fit
        self._lock = threading.Condition()
        self._size: tuple[int, int] | None = None
        self._interval = 1.0 / 30  # seconds between the frame thread's asks (the output rate), smoothed
        self._asked: float | None = None
        self._latest: np.ndarray | None = None
        self._stopped = False
        self._slowed = False
        self._thread = threading.Thread(target=self._run, name=f"bgfx-video-{video.path.name}", daemon=True)
        self._thread.start()

    def frame(self, size: tuple[int, int]) -> np.ndarray | None:
        now = time.monotonic()
        with self._lock:
            if self._asked is not None:
                self._interval += 0.1 * (min(now - self._asked, 1.0) - self._interval)
            self._asked, self._size = now, size
            self._lock.notify()  # wakes the thread when it rests (at the start, or nobody asked for a second)
            latest = self._latest
        return latest if latest is not None and latest.shape[1::-1] == size else None

    def _run(self) -> None:
        position, shown = 0.0, -1  # the clip's time in source frames (fractional), the frame last shown
        while not self._stopped:
            with self._lock:  # rests while nobody asks (paused, the effect off): no decoding for nothing
                self._lock.wait_for(lambda: self._stopped or self._asked is not None and time.monotonic() - self._asked < 1.0)
                size, interval = self._size, self._interval
            if self._stopped:
                return
            started, spent = time.monotonic(), time.thread_time()
            try:
                self.video.skip(int(position) - shown - 1)
                shown = int(position)
                image = self.video.read_image()
            except CaptureError as e:
                log.warning("background video: %s; keeping its last frame", e)
                return
            fitted = self._fit(image, size)
            with self._lock:
                self._latest = fitted
            period = max(interval, 1.0 / self.video.fps, (time.thread_time() - spent) / CPU_SHARE)
            position += self._step(period)
            with self._lock:
                self._lock.wait_for(lambda: self._stopped, timeout=max(0.0, started + period - time.monotonic()))

    def _step(self, period: float) -> float:
        """Source frames due in a tick of `period` seconds (at least 1: period >= 1 / fps), at most MAX_STEP
        (the clip slowed, said once)."""
        due = period * self.video.fps
        if due > MAX_STEP and not self._slowed:
            self._slowed = True
            log.warning("background video %s: %dx%d at %g fps costs more than this machine gives it; it plays at "
                        "%.0f%% speed to keep the output rate (scale it to the output size and rate for smooth play)",
                        self.video.path, *self.video.size, self.video.fps, 100 * MAX_STEP / due)
        return min(due, MAX_STEP)

    def close(self) -> None:
        """Stop the thread and release the decoder."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self._thread.join(timeout=5)
        self.video.close()
