"""Mask refinement: model-size confidence → frame-size uint8 alpha whose edges follow the frame.

One `Refiner` per mask stream (person, hair), because it keeps temporal state.
All the float work happens at guide size (default 320 px wide, ~0.6 ms for the
guided filter); only the final uint8 alpha is brought to frame size.

1. Temporal smoothing, where the picture is still and the mask unsure: an EMA
   whose rate rises to 1 with the mask's certainty (|2m-1|) and with motion in
   the frame (grey-level change), so flicker at a still edge is damped while a
   moving arm is followed with no lag.
2. Guided filter (cv2.ximgproc) with the frame's grey image as guide: the
   mask's edges snap to the hair and shoulder edges of this very frame.
3. Threshold/softness: a smoothstep around `threshold`, `softness` wide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from bgfx.resize import shrink


@dataclass(frozen=True, slots=True)
class RefineSettings:
    """guide_width: px of the guide image; radius: guided-filter radius in guide px;
    eps: guided-filter regularisation (0..1, relative to the grey range; larger = smoother);
    temporal: 0 (off) .. 1 (strongest smoothing of unsure, still pixels);
    threshold / softness: the confidence mapped to half opacity, and the width of the ramp.
    """

    enabled: bool = True
    guide_width: int = field(default=320, metadata={"range": (64, 1920)})
    radius: int = field(default=4, metadata={"range": (1, 32)})
    eps: float = field(default=0.005, metadata={"range": (1e-6, 1.0)})
    temporal: float = field(default=0.7, metadata={"range": (0.0, 0.95)})
    threshold: float = field(default=0.45, metadata={"range": (0.05, 0.95)})
    softness: float = field(default=0.4, metadata={"range": (0.0, 1.0)})


class Refiner:
    """Turns one stream of (h, w) float32 confidences into (H, W) uint8 alphas."""

    def __init__(self, settings: RefineSettings) -> None:
        self.settings = settings
        self._state: np.ndarray | None = None
        self._previous_guide: np.ndarray | None = None

    def reset(self) -> None:
        self._state = None
        self._previous_guide = None

    def __call__(self, mask: np.ndarray, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        s = self.settings
        if not s.enabled:
            resized = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
            return cv2.convertScaleAbs(resized, alpha=255.0)
        guide_w = min(s.guide_width, width)
        guide_h = max(1, round(height * guide_w / width))
        size = (guide_w, guide_h)
        guide = cv2.cvtColor(shrink(frame, size), cv2.COLOR_BGR2GRAY)
        current = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
        smoothed = self._smooth(current, guide)
        filtered = cv2.ximgproc.guidedFilter(guide, smoothed, s.radius, s.eps * 255.0 * 255.0)
        alpha = self._ramp(filtered)
        return cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)

    def _smooth(self, current: np.ndarray, guide: np.ndarray) -> np.ndarray:
        s = self.settings
        state, previous = self._state, self._previous_guide
        self._previous_guide = guide
        if s.temporal <= 0.0 or state is None or state.shape != current.shape or previous is None:
            self._state = current
            return current
        motion = cv2.blur(cv2.absdiff(guide, previous), (5, 5)).astype(np.float32) * (1.0 / 24.0)
        certainty = np.abs(current * 2.0 - 1.0)
        rate = np.clip((1.0 - s.temporal) + certainty * certainty + motion, 0.0, 1.0)
        state = state + rate * (current - state)
        self._state = state
        return state

    def _ramp(self, confidence: np.ndarray) -> np.ndarray:
        s = self.settings
        if s.softness <= 0.0:
            return np.where(confidence >= s.threshold, np.uint8(255), np.uint8(0))
        x = np.clip((confidence - (s.threshold - s.softness / 2.0)) / s.softness, 0.0, 1.0)
        return cv2.convertScaleAbs(x * x * (3.0 - 2.0 * x), alpha=255.0)
