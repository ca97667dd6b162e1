"""Fail closed: what goes out when the chain cannot run on a fresh mask, so the raw room never does.

Before the first mask (start, resume, a reconnected or resized camera), when
masks are older than `live.max_mask_age_ms` (a stalled model, a switch), and
when a stage raises, the frame that goes out is, by `live.stale`:
- blur (the default): the last good composite while it is under HOLD_S old,
  then the live frame blurred whole (people see you move; nothing of the room
  is readable);
- card: the pause card;
- passthrough: the camera frame as is (only by explicit choice; `bgfx run` warns).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from bgfx.live.cards import Cards, card
from bgfx.live.settings import LiveSettings
from bgfx.vision.frame import Frame

log = logging.getLogger(__name__)

HOLD_S = 1.0  # how long the last good composite may stand in for the live picture
_REPEAT_LOG_S = 10.0


class SafeFrames:
    def __init__(self, live: LiveSettings, cards: Cards) -> None:
        self.live = live
        self.cards = cards
        self._last: np.ndarray | None = None
        self._last_at = 0.0
        self._failure_logged_at = -_REPEAT_LOG_S

    def remember(self, image: np.ndarray) -> np.ndarray:
        """A composite made with fresh masks: sent, and kept to stand in for a moment if the next ones fail."""
        self._last, self._last_at = image, time.monotonic()
        return image

    def instead(self, frame: Frame) -> np.ndarray:
        """(H, W, 3) uint8 BGR to send in place of a composite for this frame, by `live.stale`."""
        if self.live.stale == "passthrough":
            return np.array(frame.image)
        if self.live.stale == "card":
            return self.cards.show("", frame.image)
        if self._last is not None and time.monotonic() - self._last_at <= HOLD_S:
            return self._last
        return card(self.cards.size, "blur", last_frame=frame.image, image=None, colour=(0, 0, 0))

    def failed(self, frame: Frame) -> np.ndarray:
        """A stage raised on this frame: logged (with its traceback once every 10 s), and a safe frame instead."""
        now = time.monotonic()
        if now - self._failure_logged_at >= _REPEAT_LOG_S:
            self._failure_logged_at = now
            log.exception("frame %d ms: processing failed; sending a safe frame instead", frame.timestamp_ms)
        return self.instead(frame)
