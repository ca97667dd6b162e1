"""`studio_light`: the person brightened and the background dimmed by the mask, as Apple's Studio Light.

Both are 256-entry curves applied to B, G and R alike with cv2.LUT (an exposure-like change that keeps hue):
the background is scaled by 1 - amount/200 (100: half as bright); the person, inside the person's box only,
takes a lift with slope 1 + amount/100 at black that rolls off to keep white white (x·g / (1 + (g-1)·x)).
The two are blended by the person alpha in uint8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into

_LEVELS = np.arange(256, dtype=np.float64) / 255.0


def studio_curves(amount: float) -> tuple[np.ndarray, np.ndarray]:
    """(person lift, background dim), each (256,) uint8, for amount 0..1."""
    gain = 1.0 + amount
    lift = 255.0 * _LEVELS * gain / (1.0 + (gain - 1.0) * _LEVELS)
    dim = 255.0 * _LEVELS * (1.0 - amount / 2.0)
    return (np.clip(lift + 0.5, 0, 255).astype(np.uint8), np.clip(dim + 0.5, 0, 255).astype(np.uint8))


@dataclass(frozen=True, slots=True)
class StudioLight:
    """amount 0..100: the person up to twice as steep in the shadows, the background down to half."""

    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    amount: int = field(default=40, metadata={"range": (0, 100)})

    def prepare(self) -> StudioLightRuntime:
        return StudioLightRuntime(self)


class StudioLightRuntime:
    """The two curves, worked out once, and the blend buffers."""

    def __init__(self, settings: StudioLight) -> None:
        self.settings = settings
        self.lift, self.dim = studio_curves(settings.amount / 100.0)
        self._workspace = Workspace()

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        frame = np.ascontiguousarray(image)
        out = cv2.LUT(frame.reshape(frame.shape[0], -1), self.dim).reshape(frame.shape)
        alpha = masks["person"]
        x, y, w, h = cv2.boundingRect(alpha)
        if w == 0 or h == 0:
            return out
        box = (slice(y, y + h), slice(x, x + w))
        lit = cv2.LUT(frame[box], self.lift)
        blend_into(out[box], lit, alpha[box], self._workspace)
        return out

    def close(self) -> None:
        """Nothing held but memory."""
