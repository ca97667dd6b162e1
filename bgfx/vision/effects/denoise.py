"""`denoise`: a dark room's sensor noise averaged away over time where the picture is still, on the whole frame.

A recursive filter: the running estimate moves a share k of the way to each new frame (k = 1 / (1 + 7 ·
strength/100): at 100 about 15 frames are averaged, noise std falls ~3.5x). Where something moves the
estimate is reset to the new frame, so nothing trails: the frame is cut into 8x8-px tiles, each tile's
grey difference between the new frame and the estimate (kept at that size too, float32) is compared with a threshold of `_NOISE_FACTOR` times the median tile
difference (the noise's own level: most tiles are still) and at least `_MIN_THRESHOLD` levels; moving tiles
and their neighbours are taken from the new frame whole, a box per connected patch of them (no full-size
mask: upscaling one cost 0.46 ms at 720p). The tile means are a bilinear quarter then an area halving (a
quarter of each tile's pixels, 0.17 ms against 0.40 for the area shrink); grey, as the largest channel's
difference called 0.5 % of the still tiles of a lifted dark frame moving (and cost 0.4 ms more). The frame
itself is worked in uint8.

Put it after `light`: the lifted frame's noise is several levels, which uint8 averages well; before the lift
the estimate's rounding (±2 levels) would be lifted with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

TILE = 8  # px: the motion test's resolution
_NOISE_FACTOR = 4.0
_MIN_THRESHOLD = 6.0  # levels: a tile's mean changing less than this is never called motion
_GROW = np.ones((3, 3), np.uint8)


def tile_means(image: np.ndarray) -> np.ndarray:
    """(H/8, W/8, 3) uint8 means of each 8x8 tile of a (H, W, 3) uint8 frame (of a quarter of its pixels)."""
    height, width = image.shape[:2]
    quarter = cv2.resize(image, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(quarter, (max(1, width // TILE), max(1, height // TILE)), interpolation=cv2.INTER_AREA)


def median(values: np.ndarray) -> float:
    """np.median of a 1-d float32 array, bit for bit (the middle value, or the float32 mean of the middle two),
    without its checks and wrappers: ~30 µs less a frame at 3,600 values."""
    middle = values.size // 2
    if values.size % 2:
        return float(np.partition(values, middle)[middle])
    low, high = np.partition(values, (middle - 1, middle))[middle - 1 : middle + 1]
    return float((low + high) / np.float32(2.0))


@dataclass(frozen=True, slots=True)
class Denoise:
    """strength 0..100: how many frames are averaged where still (0: off, 100: ~15)."""

    needs: ClassVar[frozenset[str]] = frozenset()
    strength: int = field(default=60, metadata={"range": (0, 100)})

    def prepare(self) -> DenoiseRuntime:
        return DenoiseRuntime(self)


class DenoiseRuntime:
    """The running estimate, (H, W, 3) uint8, its (H/8, W/8) float32 grey tile means, and the last frame's
    timestamp. The estimate is the last frame's output itself, read-only: each frame's blend writes a new array,
    so handing it out needs no copy (0.11 ms at 720p) and nothing written later can reach a returned frame."""

    def __init__(self, settings: Denoise) -> None:
        self.settings = settings
        self.share = 1.0 / (1.0 + 7.0 * settings.strength / 100.0)  # k: of the new frame, where still
        self._estimate: np.ndarray | None = None
        self._small: np.ndarray | None = None
        self._last_ms: int | None = None
        self.moving_tiles = np.zeros((0, 0), bool)  # the last frame's verdict per tile (for tests and benchmarks)

    def _reset(self, image: np.ndarray, small: np.ndarray) -> np.ndarray:
        self._estimate = image.copy()
        self._estimate.flags.writeable = False
        self._small = small.copy()
        self.moving_tiles = np.ones(small.shape[:2], bool)
        return self._estimate

    def moving(self, small: np.ndarray) -> np.ndarray:
        """(h, w) uint8 1 on the tiles (and their neighbours) whose grey differs from the estimate's by more
        than the threshold, from the new frame's (h, w) float32 grey tile means. The noise level is the median
        difference of every 4th tile (a quarter of the sort; the median moves by under 2 %)."""
        difference = cv2.absdiff(small, self._small)
        threshold = max(_MIN_THRESHOLD, _NOISE_FACTOR * median(difference.ravel()[::4]))
        self.moving_tiles = difference > threshold
        return cv2.dilate(self.moving_tiles.view(np.uint8), _GROW)

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        if self.settings.strength == 0:
            return image.copy()
        small = cv2.cvtColor(tile_means(image), cv2.COLOR_BGR2GRAY).astype(np.float32)
        stale = self._last_ms is None or timestamp_ms < self._last_ms
        self._last_ms = timestamp_ms
        if stale or self._estimate is None or self._estimate.shape != image.shape or self._small.shape != small.shape:
            return self._reset(image, small)
        tiles = self.moving(small)
        out = cv2.addWeighted(self._estimate, 1.0 - self.share, image, self.share, 0.0)
        # 16-bit labels: OpenCV then takes a serial algorithm, 47 µs against 83 at 160x90 tiles (a dilated patch
        # is at least 3x3 tiles, so even 8K's 518,400 tiles have far fewer than 65,536 patches)
        count, _, boxes, _ = cv2.connectedComponentsWithStats(tiles, connectivity=8, ltype=cv2.CV_16U)
        rows, columns = tiles.shape
        for x, y, w, h, _ in boxes[1:count].tolist():  # a box on the last tile row or column runs to the frame's edge
            box = (slice(y * TILE, (y + h) * TILE if y + h < rows else None),
                   slice(x * TILE, (x + w) * TILE if x + w < columns else None))  # fmt: skip
            out[box] = image[box]
        step = small - self._small  # in place after this, as `_small += share * (small - _small)` rounds
        step *= self.share
        self._small += step
        np.copyto(self._small, small, where=tiles > 0)
        out.flags.writeable = False
        self._estimate = out
        return out

    def close(self) -> None:
        """Nothing held but memory."""
