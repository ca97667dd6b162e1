"""`blur`: background blur with no halo, optionally a portrait blur that grows with distance from the person.

The background is blurred with the person masked out (normalised convolution:
blur(image*w)/blur(w), w = background weight), so the person's colours never
bleed into it. The blur runs at a pyramid level (the frame shrunk 2, 4 or 8
times, `pyramid.level`) where its kernel stays a few pixels wide; at that
strength the loss of resolution is invisible. `pyramid.Canvas` brings it back to
frame size only where the background shows and only where it changed.

`depth` > 0 is a portrait blur, as Windows' and Meet's: the background right
next to the person is blurred by (1 - depth/100) of the full strength, and the
blur grows with the distance from the person (the distance transform of the
mask at the pyramid level) to the full strength `REACH` of the frame width
away; three normalised blurs are blended per pixel by that distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into, light_wrap
from bgfx.vision.effects.pyramid import Canvas, level, opaque_tiles, padded, shrunk

REACH = 0.3  # share of the frame width from the person's edge at which a portrait blur is at full strength
MIN_SIGMA = 1.0  # small px: the least blur a portrait level applies (finer is below the level's resolution)


@dataclass(frozen=True, slots=True)
class Blur:
    """strength 1..100: Gaussian sigma of strength/100 * 6% of the frame width; light_wrap 0..1;
    depth 0..100: portrait blur, next to the person blurred by (100 - depth)% of that, growing with distance
    (0: the same blur everywhere)."""

    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    strength: int = field(default=60, metadata={"range": (1, 100)})
    light_wrap: float = field(default=0.0, metadata={"range": (0.0, 1.0)})
    depth: int = field(default=0, metadata={"range": (0, 100)})

    def prepare(self) -> BlurRuntime:
        return BlurRuntime(self)


def normalised_blur(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """(h, w, 3) float32 blur of image (h, w, 3) float32 by background weight (h, w) float32 0..1, sigma in px.

    Where almost no background is near (norm under 5 %: deep inside the person, never shown) the plain blur.
    """
    blurred = cv2.GaussianBlur(image * weight[..., None], (0, 0), sigma)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    plain = cv2.GaussianBlur(image, (0, 0), sigma)
    trust = np.clip(norm * 20.0, 0.0, 1.0)[..., None]
    return blurred / np.maximum(norm, 1e-4)[..., None] * trust + plain * (1.0 - trust)


class BlurRuntime:
    """Blur's per-stream state: the kept full-size background (`Canvas`) and the reused blend buffers."""

    def __init__(self, settings: Blur) -> None:
        self.settings = settings
        self._workspace = Workspace()
        self.canvas = Canvas()

    def sigma(self, width: int) -> float:
        """The full blur's Gaussian sigma in frame px for a frame `width` px wide."""
        return self.settings.strength / 100.0 * 0.06 * width

    def small_background(self, image: np.ndarray, alpha: np.ndarray, factor: int) -> np.ndarray:
        """(H/f, W/f, 3) uint8 blurred background of image (H, W, 3) uint8 by alpha (H, W) uint8, sides multiples of f."""
        small = shrunk(image, factor).astype(np.float32)
        size = (small.shape[1], small.shape[0])
        # Bilinear reads ~2 mask rows per output row instead of all of them; the weight is eroded
        # and blurred by several small pixels next, so its aliasing cannot show.
        person = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
        # Grow the person a little so its soft edge does not tint the background either.
        weight = cv2.erode(1.0 - person.astype(np.float32) * (1.0 / 255.0), np.ones((3, 3), np.uint8))
        sigma = self.sigma(image.shape[1]) / factor
        if self.settings.depth == 0:
            return np.clip(normalised_blur(small, weight, sigma), 0, 255).astype(np.uint8)
        return np.clip(self._portrait(small, weight, person, sigma), 0, 255).astype(np.uint8)

    def _portrait(self, small: np.ndarray, weight: np.ndarray, person: np.ndarray, sigma: float) -> np.ndarray:
        """(h, w, 3) float32: three normalised blurs (near, between, far sigma) blended by distance from the person."""
        near = max(MIN_SIGMA, sigma * (1.0 - self.settings.depth / 100.0))
        far = max(near, sigma)
        levels = [normalised_blur(small, weight, s) for s in (near, (near * far) ** 0.5, far)]
        distance = cv2.distanceTransform((person <= 127).view(np.uint8), cv2.DIST_L2, 3)
        reach = REACH * small.shape[1]
        # position 0 (near) .. 2 (far) along the geometric ladder of sigmas, from the sigma wanted at this distance
        wanted = near + (far - near) * np.minimum(distance / reach, 1.0)
        position = np.log(wanted / near) / max(1e-6, np.log(far / near)) * 2.0 if far > near else np.zeros_like(wanted)
        upper = np.clip(position - 1.0, 0.0, 1.0)[..., None]
        lower = np.clip(position, 0.0, 1.0)[..., None]
        mixed = levels[0] + (levels[1] - levels[0]) * lower
        return mixed + (levels[2] - mixed) * upper

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        alpha = masks["person"]
        height, width = alpha.shape
        factor = level(self.sigma(width), (width, height))
        source, cover = padded(image, factor), padded(alpha, factor)
        small = self.small_background(source, cover, factor)
        # light wrap reads the background inside the person's edge too: then all of it is kept
        visible = np.ones(small.shape[:2], bool) if self.settings.light_wrap > 0 else ~opaque_tiles(cover, factor)
        background = self.canvas.update(small, visible, factor)[:height, :width].copy()  # the output is built in it
        foreground = light_wrap(image, background, alpha, self.settings.light_wrap, self._workspace)
        return blend_into(background, foreground, alpha, self._workspace)

    def close(self) -> None:
        """Nothing held but memory."""
