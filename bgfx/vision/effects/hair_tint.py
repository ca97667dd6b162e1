"""`hair_tint`: recolour the hair, keeping its own lightness and texture.

Works in CIE Lab: the hair keeps its L (lightness, which carries the texture)
and takes the target colour's chroma (a, b); the result is blended by the hair
mask's confidence times strength. Only the hair's bounding box is converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into
from bgfx.vision.imaging import parse_colour


@dataclass(frozen=True, slots=True)
class HairTint:
    """colour: '#RRGGBB' or [R, G, B]; strength 1..100 (% of the way to the target chroma)."""

    needs: ClassVar[frozenset[str]] = frozenset({"hair"})
    colour: tuple[int, int, int] = field(default=(160, 60, 200), metadata={"parse": parse_colour})
    strength: int = field(default=70, metadata={"range": (1, 100)})

    def prepare(self) -> HairTintRuntime:
        return HairTintRuntime(self)


class HairTintRuntime:
    """The target chroma (Lab a, b of the colour), worked out once, and the blend buffers."""

    def __init__(self, settings: HairTint) -> None:
        self.settings = settings
        lab = cv2.cvtColor(np.array([[settings.colour]], np.uint8), cv2.COLOR_BGR2LAB)[0, 0]
        self.target_ab = (int(lab[1]), int(lab[2]))
        self._workspace = Workspace()

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        hair = masks["hair"]
        x, y, w, h = cv2.boundingRect(hair)
        out = image.copy()
        if w == 0 or h == 0:
            return out
        region = (slice(y, y + h), slice(x, x + w))
        lab = cv2.cvtColor(image[region], cv2.COLOR_BGR2LAB)
        lab[..., 1] = self.target_ab[0]
        lab[..., 2] = self.target_ab[1]
        tinted = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
        weight = cv2.convertScaleAbs(hair[region], alpha=self.settings.strength / 100.0)
        blend_into(out[region], tinted, weight, self._workspace)
        return out

    def close(self) -> None:
        """Nothing held but memory."""
