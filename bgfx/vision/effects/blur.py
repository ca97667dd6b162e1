"""`blur`: background blur with no halo.

The background is blurred with the person masked out (normalised convolution:
blur(image*w)/blur(w), w = background weight), so the person's colours never
bleed into it. The blur runs at a reduced size chosen so that the kernel stays
a few pixels wide there; at that strength the loss of resolution is invisible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into, light_wrap
from bgfx.vision.resize import shrink


@dataclass(frozen=True, slots=True)
class Blur:
    """strength 1..100: Gaussian sigma of strength/100 * 6% of the frame width; light_wrap 0..1."""

    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    strength: int = field(default=60, metadata={"range": (1, 100)})
    light_wrap: float = field(default=0.0, metadata={"range": (0.0, 1.0)})

    def prepare(self) -> BlurRuntime:
        return BlurRuntime(self)


class BlurRuntime:
    """Blur's per-stream state: the reused blend buffers."""

    def __init__(self, settings: Blur) -> None:
        self.settings = settings
        self._workspace = Workspace()

    def background(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 blurred background with the person's pixels filled from around them."""
        height, width = image.shape[:2]
        sigma_full = self.settings.strength / 100.0 * 0.06 * width
        scale = min(0.5, 4.0 / sigma_full)
        small = (max(8, round(width * scale)), max(8, round(height * scale)))
        sigma = sigma_full * small[0] / width
        img = shrink(image, small).astype(np.float32)
        # Bilinear reads ~2 mask rows per output row instead of all of them; the weight is eroded
        # and blurred by several small pixels next, so its aliasing cannot show.
        weight = 1.0 - cv2.resize(alpha, small, interpolation=cv2.INTER_LINEAR).astype(np.float32) * (1.0 / 255.0)
        # Grow the person a little so its soft edge does not tint the background either.
        weight = cv2.erode(weight, np.ones((3, 3), np.uint8))
        blurred = cv2.GaussianBlur(img * weight[..., None], (0, 0), sigma)
        norm = cv2.GaussianBlur(weight, (0, 0), sigma)
        plain = cv2.GaussianBlur(img, (0, 0), sigma)
        trust = np.clip(norm * 20.0, 0.0, 1.0)[..., None]
        result = blurred / np.maximum(norm, 1e-4)[..., None] * trust + plain * (1.0 - trust)
        out = np.clip(result, 0, 255).astype(np.uint8)
        return cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        alpha = masks["person"]
        background = self.background(image, alpha)  # a new array: the output is built in it
        foreground = light_wrap(image, background, alpha, self.settings.light_wrap, self._workspace)
        return blend_into(background, foreground, alpha, self._workspace)

    def close(self) -> None:
        """Nothing held but memory."""
