"""The camera feed: opens the source when frames are wanted, notices its loss, reconnects with backoff.

Also `Demand`: on demand, whether anyone reads the output, with the delay
before the camera (and its light) is released after the last reader leaves.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from bgfx.errors import CaptureError, ConfigError
from bgfx.live.capture import Source, decode_errors, open_source
from bgfx.live.settings import CaptureSettings
from bgfx.live.status import Clock, Rate
from bgfx.vision.frame import Frame

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
FIRST_BACKOFF_S = 0.5


def _open_configured(settings: CaptureSettings) -> Source:
    return open_source(settings.device, width=settings.width, height=settings.height, fps=settings.fps,
                       fourcc=settings.fourcc, controls=settings.controls)


class Feed:
    """settings: the camera; interval_s: how long a turn without a frame waits (one output frame);
    rate: ticked per frame read; opener: builds the source (a test passes its own); clock (seconds) and sleep:
    the backoff's time and the waits of a turn without a frame (a test passes a fake pair, so it never sleeps)."""

    def __init__(
        self, settings: CaptureSettings, interval_s: float, rate: Rate,
        opener: Callable[[CaptureSettings], Source] = _open_configured, *,
        clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self.settings = settings
        self.interval_s = interval_s
        self.rate = rate
        self._opener = opener
        self._source: Source | None = None
        self.lost = False
        self.last_image: np.ndarray | None = None  # (H, W, 3) uint8 BGR, for the blurred pause card
        self._retry_at = 0.0
        self._backoff = FIRST_BACKOFF_S
        self._decode_errors_closed = 0  # corrupt MJPEG frames skipped by sources since closed
        self._controls_left: dict = {}  # capture.controls a closed camera set (the device keeps them)

    @property
    def decode_errors(self) -> int:
        """Corrupt MJPEG frames skipped since the daemon started (status shows it)."""
        return self._decode_errors_closed + decode_errors(self._source)

    @property
    def is_open(self) -> bool:
        return self._source is not None

    def read(self) -> Frame | None:
        """The next camera frame; None (after one interval) while the camera is lost and not yet back."""
        if self._source is None and not self._reopen():
            self._sleep(self.interval_s)
            return None
        assert self._source is not None
        try:
            frame = self._source.read()
        except CaptureError as e:
            self.release()
            self._lose(str(e))
            self._sleep(self.interval_s)
            return None
        if frame is not None:
            self.rate.tick()
            self.last_image = frame.image
        return frame

    def idle(self) -> None:
        """A turn with the camera released on purpose (pause): one interval, no frame."""
        self.release()
        self._sleep(self.interval_s)

    def _reopen(self) -> bool:
        if self._clock() < self._retry_at:
            return False
        try:
            self._source = self._opener(self.settings)
        except CaptureError as e:
            self._lose(str(e))
            return False
        if set(self._controls_left) - set(self.settings.controls):  # edited while closed: back to the defaults
            try:
                self._source.set_controls(self.settings.controls, reset=self._controls_left)
            except ConfigError as e:
                log.error("%s; the camera keeps its last controls", e)
        self._controls_left = {}
        if self.lost:
            log.info("camera back: %s", self.settings.device)
        self.lost, self._backoff = False, FIRST_BACKOFF_S
        return True

    def _lose(self, reason: str) -> None:
        if not self.lost:
            log.warning("camera lost (%s); sending a card and retrying", reason)
        self.lost = True
        self._retry_at = self._clock() + self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)

    def reconfigure(self, settings: CaptureSettings) -> None:
        """Other controls only: set on the running camera (a refusal is logged, the last good ones kept).
        Another camera or format: the next read opens it."""
        if settings == self.settings:
            return
        if replace(settings, controls=self.settings.controls) == self.settings:
            try:
                if hasattr(self._source, "set_controls"):  # a closed camera, or a file: set at the next open, if any
                    self._source.set_controls(settings.controls)
                self.settings = settings
            except ConfigError as e:
                log.error("%s; the camera keeps its last controls", e)
        else:
            self.release()
            if settings.device != self.settings.device:
                self._controls_left = {}  # another camera: the old one's controls are not its own
            self.settings = settings
            self._retry_at = 0.0

    def release(self) -> None:
        if self._source is not None:
            self._decode_errors_closed += decode_errors(self._source)
            self._controls_left = dict(getattr(self._source, "controls", {}))
            self._source.close()
            self._source = None


class Demand:
    """On demand: the camera runs while the output has readers, and `release_after_s` longer."""

    def __init__(self) -> None:
        self.active = False
        self._idle_since: float | None = None

    def wanted(self, readers: int, now: float, release_after_s: float) -> bool:
        """Whether frames are wanted now, given the reader count at time `now` (monotonic seconds)."""
        if readers > 0:
            if not self.active:
                log.info("on demand: a reader opened the output; starting the camera")
            self.active, self._idle_since = True, None
            return True
        if not self.active:
            return False
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < release_after_s:
            return True
        log.info("on demand: no reader for %.1f s; camera released", now - self._idle_since)
        self.active, self._idle_since = False, None
        return False
