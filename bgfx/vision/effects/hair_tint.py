"""`hair_tint`: recolour the hair, keeping its own lightness and texture; never anything outside the person.

Works in CIE Lab: the hair keeps its L (lightness, which carries the texture)
and takes the target colour's chroma (a, b); the result is blended by the hair
mask's confidence times strength, confined to the person grown by 0.5 % of the
frame's width (the outer strands stay in; bushes, hoods of passers-by and
shadows do not). Only the hair's bounding box is converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into
from bgfx.vision.imaging import parse_colour

GROW_SHARE = 0.005  # the person mask is grown by this share of the frame width (6 px at 1280) before it confines the hair


def confine(hair: np.ndarray, person: np.ndarray, grow_px: int) -> tuple[tuple[slice, slice], np.ndarray]:
    """The hair's bounding box and hair ∩ (person grown by grow_px) inside it (both inputs (H, W) uint8 alphas):
    the outer strands stay in, nothing outside the person does. An empty box when there is no hair."""
    x, y, w, h = cv2.boundingRect(hair)
    region = (slice(y, y + h), slice(x, x + w))
    if w == 0 or h == 0:
        return region, hair[region]
    height, width = hair.shape
    x0, y0, x1, y1 = max(0, x - grow_px), max(0, y - grow_px), min(width, x + w + grow_px), min(height, y + h + grow_px)
    size = 2 * grow_px + 1
    grown = cv2.dilate(person[y0:y1, x0:x1], cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    return region, cv2.min(hair[region], grown[y - y0 : y - y0 + h, x - x0 : x - x0 + w])


@dataclass(frozen=True, slots=True)
class HairTint:
    """colour: '#RRGGBB' or [R, G, B]; strength 1..100 (% of the way to the target chroma)."""

    needs: ClassVar[frozenset[str]] = frozenset({"hair", "person"})
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

    def weights(self, masks: Mapping[str, np.ndarray]) -> tuple[tuple[slice, slice], np.ndarray]:
        """The hair's box and the tint's weight in it, (h, w) uint8: hair ∩ grown person, times strength."""
        grow = round(GROW_SHARE * masks["hair"].shape[1])
        region, confined = confine(masks["hair"], masks["person"], grow)
        return region, cv2.convertScaleAbs(confined, alpha=self.settings.strength / 100.0)

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        out = image.copy()
        region, weight = self.weights(masks)
        if weight.size == 0:
            return out
        lab = cv2.cvtColor(image[region], cv2.COLOR_BGR2LAB)
        lab[..., 1] = self.target_ab[0]
        lab[..., 2] = self.target_ab[1]
        tinted = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
        blend_into(out[region], tinted, weight, self._workspace)
        return out

    def close(self) -> None:
        """Nothing held but memory."""
