"""`blur`: background blur with no halo, optionally a portrait blur that grows with distance from the person.

The background is blurred with the person masked out (normalised convolution:
blur(image*w)/blur(w), w = background weight), so the person's colours never
bleed into it. The blur runs at a pyramid level (the frame shrunk 2, 4, 8 or 16
times, `pyramid.level`) where its kernel stays a few pixels wide; at that
strength the loss of resolution is invisible. `pyramid.Canvas` brings it back to
frame size only where the background shows and only where it changed.

`depth` > 0 is a portrait blur, as Windows' and Meet's: the background right
next to the person is blurred by (1 - depth/100) of the full strength, and the
blur grows with the distance from the person (the distance transform of the
mask) to the full strength `REACH` of the frame width away: three normalised
blurs, each at its own pyramid level and scaled to the nearest one's, are
blended per pixel by that distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import KeptBlend, Workspace, blend_into, light_wrap
from bgfx.vision.effects.pyramid import Canvas, level, opaque_tiles, padded, shrunk

REACH = 0.3  # share of the frame width from the person's edge at which a portrait blur is at full strength
MIN_NEAR_SIGMA = 2.0  # frame px: the least blur a portrait applies next to the person (1 px at level 2)


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

    image x weight and weight are blurred as one 4-channel picture. Where almost no background is near (norm
    under 5 %: deep inside the person, where the background never shows) the small picture itself fills in.
    """
    stacked = cv2.GaussianBlur(np.concatenate((image * weight[..., None], weight[..., None]), axis=2), (0, 0), sigma)
    norm = stacked[..., 3:]
    trust = np.clip(norm * 20.0, 0.0, 1.0)
    return stacked[..., :3] / np.maximum(norm, 1e-4) * trust + image * (1.0 - trust)


class BlurRuntime:
    """Blur's per-stream state: the kept full-size background (`Canvas`) and the reused blend buffers."""

    def __init__(self, settings: Blur) -> None:
        self.settings = settings
        self._workspace = Workspace()
        self.canvas = Canvas()
        self._alpha: np.ndarray | None = None  # the last frame's alpha
        self._kept = KeptBlend()  # the last composite, for still frames

    def sigma(self, width: int) -> float:
        """The full blur's Gaussian sigma in frame px for a frame `width` px wide."""
        return self.settings.strength / 100.0 * 0.06 * width

    def factors(self, size: tuple[int, int]) -> tuple[int, int]:
        """(pyramid level of the output, multiple the frame's sides are padded to): the full blur's level, or a
        portrait's nearest blur's (its farther blurs are worked out at their own levels and scaled to it).
        size: the frame's (w, h)."""
        width = size[0]
        if self.settings.depth == 0:
            factor = level(self.sigma(width), size)
            return factor, factor
        return level(self.near_sigma(width), size), level(self.sigma(width), size)

    def near_sigma(self, width: int) -> float:
        """A portrait blur's sigma next to the person, frame px."""
        return max(MIN_NEAR_SIGMA, self.sigma(width) * (1.0 - self.settings.depth / 100.0))

    def small_background(self, image: np.ndarray, alpha: np.ndarray, factor: int) -> np.ndarray:
        """(H/f, W/f, 3) uint8 blurred background of image (H, W, 3) uint8 by alpha (H, W) uint8, sides multiples of f."""
        sigma = self.sigma(image.shape[1])
        if self.settings.depth == 0:
            return np.clip(self._level_blur(image, alpha, factor, sigma), 0, 255).astype(np.uint8)
        return np.clip(self._portrait(image, alpha, factor), 0, 255).astype(np.uint8)

    @staticmethod
    def _level_blur(image: np.ndarray, alpha: np.ndarray, factor: int, sigma: float) -> np.ndarray:
        """(H/f, W/f, 3) float32 normalised blur of sigma frame px, worked out at level f."""
        small = shrunk(image, factor).astype(np.float32)
        # Bilinear reads ~2 mask rows per output row instead of all of them; the weight is eroded
        # and blurred by several small pixels next, so its aliasing cannot show.
        person = cv2.resize(alpha, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_LINEAR)
        # Grow the person a little so its soft edge does not tint the background either.
        weight = cv2.erode(1.0 - person.astype(np.float32) * (1.0 / 255.0), np.ones((3, 3), np.uint8))
        return normalised_blur(small, weight, sigma / factor)

    def _portrait(self, image: np.ndarray, alpha: np.ndarray, factor: int) -> np.ndarray:
        """(H/f, W/f, 3) float32: three normalised blurs (near, between, far sigma), each at its own level and
        scaled to level f, blended by the distance from the person (sides multiples of the far level)."""
        width = image.shape[1]
        near, far = self.near_sigma(width), max(self.near_sigma(width), self.sigma(width))
        size = (width // factor, image.shape[0] // factor)
        levels = []
        for sigma in (near, (near * far) ** 0.5, far):
            blurred = self._level_blur(image, alpha, level(sigma, (width, image.shape[0])), sigma)
            levels.append(cv2.resize(blurred, size, interpolation=cv2.INTER_LINEAR) if blurred.shape[1] != size[0] else blurred)
        person = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR) > 127
        distance = cv2.distanceTransform((~person).view(np.uint8), cv2.DIST_L2, 3) * (factor / width)  # frame widths
        # position 0 (near) .. 2 (far) along the geometric ladder of sigmas, from the sigma wanted at this distance
        wanted = near + (far - near) * np.minimum(distance / REACH, 1.0)
        position = np.log(wanted / near) * (2.0 / max(1e-6, float(np.log(far / near))))
        lower = np.clip(position, 0.0, 1.0)[..., None]
        upper = np.clip(position - 1.0, 0.0, 1.0)[..., None]
        mixed = levels[0] + (levels[1] - levels[0]) * lower
        return mixed + (levels[2] - mixed) * upper

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        """The blurred frame (read-only when kept). When the alpha is the very read-only array of the last frame
        (the pipeline hands the same one back while the motion gate finds the picture still), the background of
        the last frame is used as it is, and without light wrap the last composite is redone only where the
        picture changed (`KeptBlend`)."""
        alpha = masks["person"]
        height, width = alpha.shape
        still = alpha is self._alpha and not alpha.flags.writeable and self.canvas.picture is not None
        self._alpha = alpha
        wrap = self.settings.light_wrap
        if still and wrap == 0 and self._kept.reusable(image, alpha):
            kept = self._kept.update(image, alpha, self.canvas.picture, self._workspace)
            if kept is not None:
                return kept
        if still:
            background = self.canvas.picture[:height, :width].copy()
        else:
            background = self._background(image, alpha)[:height, :width].copy()  # the output is built in it
        foreground = light_wrap(image, background, alpha, wrap, self._workspace)
        output = blend_into(background, foreground, alpha, self._workspace)
        return self._kept.keep(output, image, alpha) if wrap == 0 else output

    def _background(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The canvas brought up to date with this frame: (H', W', 3) uint8, H', W' the padded sides."""
        factor, multiple = self.factors((alpha.shape[1], alpha.shape[0]))
        source, cover = padded(image, multiple), padded(alpha, multiple)
        small = self.small_background(source, cover, factor)
        # light wrap reads the background inside the person's edge too: then all of it is kept
        visible = np.ones(small.shape[:2], bool) if self.settings.light_wrap > 0 else ~opaque_tiles(cover, factor)
        return self.canvas.update(small, visible, factor)

    def close(self) -> None:
        """Nothing held but memory."""
