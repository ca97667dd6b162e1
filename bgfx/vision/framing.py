"""Auto-framing: a crop window that keeps the person centred, head top at the headroom, never cut at the sides.

The window (x, y, w, h in capture pixels, float) has the output's aspect. The target comes from the person
mask's box; the shown window follows it critically damped (no overshoot), and only once the target leaves a
dead band around the shown window, so mask noise while the person sits still never moves the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bgfx.vision.framing_settings import FramingSettings

DEAD_BAND = 0.04  # of the window's size: target moves smaller than this leave the picture where it is
SETTLE = 0.25  # once moving, keep following until within this fraction of the dead band
EMPTY_SECONDS = 3.0  # no person for this long: ease back to the full view
UPPER_BODY = 0.4  # of the person's height from the head top: the part the picture is centred on and never cuts


@dataclass(frozen=True, slots=True)
class Window:
    """A crop of the capture in pixels: x, y top-left; w, h size (float, so motion is smooth)."""

    x: float
    y: float
    w: float
    h: float

    def as_array(self) -> np.ndarray:
        return np.array([self.x, self.y, self.w, self.h], dtype=np.float64)


def person_box(mask: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """The person's box (x0, y0, x1, y1, exclusive) in a mask (H, W, of confidences or alphas above threshold):
    rows from the head top to the lowest pixel, columns those of the upper body (the top UPPER_BODY of those
    rows: head and shoulders), so arms reaching out to a keyboard neither widen the picture nor pull it off
    the face. None when no pixel is above threshold."""
    above = mask > threshold
    rows = np.flatnonzero(above.any(axis=1))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(above[top : top + max(1, round((bottom - top) * UPPER_BODY))].any(axis=0))
    return int(cols[0]), top, int(cols[-1]) + 1, bottom


def target_window(box: tuple[int, int, int, int] | None, capture: tuple[int, int], aspect: float,
                  settings: FramingSettings) -> Window:
    """The window that frames box (x0, y0, x1, y1) in a capture (width, height) at aspect = out w / out h."""
    cap_w, cap_h = capture
    full_w = min(cap_w, cap_h * aspect)
    if box is None:
        return Window((cap_w - full_w) / 2, (cap_h - full_w / aspect) / 2, full_w, full_w / aspect)
    x0, y0, x1, y1 = box
    min_w = full_w / settings.max_zoom
    # wide enough for the person plus a margin at the sides; tall enough for headroom above the head
    width = max(min_w, (x1 - x0) * 1.2, (y1 - y0) * aspect / (1.0 - settings.headroom) * 0.6)
    width = min(width, full_w)
    height = width / aspect
    x = np.clip((x0 + x1) / 2 - width / 2, 0, cap_w - width)
    y = np.clip(y0 - settings.headroom * height, 0, cap_h - height)
    return Window(float(x), float(y), float(width), float(height))


class Framer:
    """Follows target windows frame by frame: dead band, then a critically damped spring with a speed limit."""

    def __init__(self, settings: FramingSettings, capture: tuple[int, int], aspect: float) -> None:
        self._settings, self._capture, self._aspect = settings, capture, aspect
        self._shown = target_window(None, capture, aspect, settings).as_array()
        self._velocity = np.zeros(4)
        self._moving = False
        self._empty_for = 0.0

    @property
    def window(self) -> Window:
        return Window(*(float(v) for v in self._shown))

    @property
    def capture(self) -> tuple[int, int]:
        """The (width, height) of the frames this framer crops."""
        return self._capture

    @property
    def settled(self) -> bool:
        """Not moving: the shown window is where the target asked (within the dead band)."""
        return not self._moving

    @property
    def away(self) -> bool:
        """Nobody seen for EMPTY_SECONDS: the window eases back to the full view."""
        return self._empty_for >= EMPTY_SECONDS

    @property
    def zoom(self) -> float:
        """How much the shown window enlarges the picture: full view width / window width (1.0 = full view)."""
        return min(self._capture[0], self._capture[1] * self._aspect) / float(self._shown[2])

    def retune(self, settings: FramingSettings) -> None:
        """New zoom, headroom or speed (a live edit): the picture moves on from where it is, without a jump."""
        self._settings, self._moving = settings, True

    def jump(self, box: tuple[int, int, int, int] | None) -> Window:
        """Show the window for box at once (a photo has no motion to smooth)."""
        self._shown = target_window(box, self._capture, self._aspect, self._settings).as_array()
        self._velocity[:] = 0.0
        self._moving = False
        return self.window

    def update(self, box: tuple[int, int, int, int] | None, dt: float, hold: bool = False) -> Window:
        """Step dt seconds towards the window for box (None: nobody seen); returns the window to show.
        hold: while someone is seen keep the window where it is (mode once, once framed)."""
        self._empty_for = self._empty_for + dt if box is None else 0.0
        if box is None and self._empty_for < EMPTY_SECONDS or hold and box is not None:
            return self.window
        target = target_window(box, self._capture, self._aspect, self._settings).as_array()
        error = target - self._shown
        band = DEAD_BAND * self._shown[2]
        worst = float(np.abs(error).max())
        if not self._moving and worst <= band:
            return self.window
        self._moving = worst > band * SETTLE
        if not self._moving:
            self._velocity[:] = 0.0
            if box is None:  # the full view exactly, not a percent short of it
                self._shown = target
            return self.window
        omega = self._settings.speed
        # critically damped spring (exact step): x'' = omega^2 (target - x) - 2 omega x'
        decay = np.exp(-omega * dt)
        offset = -error
        new_offset = (offset + (self._velocity + omega * offset) * dt) * decay
        self._velocity = (self._velocity - omega * (self._velocity + omega * offset) * dt) * decay
        step = new_offset - offset
        limit = self._shown[2] * 1.5 * dt  # never faster than 1.5 window widths a second
        self._shown = self._shown + np.clip(step, -limit, limit)
        return self.window
