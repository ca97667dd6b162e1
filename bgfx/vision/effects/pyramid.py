"""The blurred background at a pyramid level, brought to frame size only where it shows and only where it changed.

A background blur of sigma 20-70 px (at 720p) has nothing finer than a few
pixels in it, so it is worked out on the frame shrunk by a power of two
(`level`: 2, 4 or 8, the memoised halvings of `resize.shrink`, shared with the
motion gate and refinement) and only scaled back up at the end. That last step,
a 1280x720x3 upscale, was the blur's largest cost (~1.8 ms). `Canvas` keeps the
full-size background from frame to frame and redoes it by blocks of
`BLOCK` px, and only the blocks that

- show some background (not wholly inside the person's opaque core: there the
  blend copies the person and never reads the background), and
- changed: a pixel of the small blurred background, or one of its neighbours
  (bilinear reads them), differs by more than `TOLERANCE` grey levels from the
  one its block was last scaled from, or the block was never scaled.

A still room therefore costs the small blur alone. Each block is scaled from the
small picture with a one-pixel margin, so it is bit for bit what one whole-frame
resize gives (the scale is an exact power of two); a reused block is off by at
most 2 x `TOLERANCE` grey levels.
"""

from __future__ import annotations

import cv2
import numpy as np

from bgfx.vision.resize import shrink

TOLERANCE = 2  # grey levels a reused block of the background may differ from a fresh one (by half, see above)
BLOCK = (64, 32)  # px (rows, columns) scaled up in one call: one call per run of blocks in a band of 64 rows
TARGET_SIGMA = 2.0  # small px: the smallest blur kept at a level (finer and the bilinear upscale shows its pixels)


def level(sigma: float) -> int:
    """The shrink factor (2, 4 or 8) for a blur of `sigma` frame px: the largest that keeps sigma >= TARGET_SIGMA
    small px; frames whose sides are not multiples of it are padded (`padded`)."""
    for factor in (8, 4):
        if sigma / factor >= TARGET_SIGMA:
            return factor
    return 2


def padded(image: np.ndarray, factor: int) -> np.ndarray:
    """image (H, W[, C]) grown by replication to sides that are multiples of factor (itself when they are)."""
    bottom, right = -image.shape[0] % factor, -image.shape[1] % factor
    if not bottom and not right:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


def shrunk(image: np.ndarray, factor: int) -> np.ndarray:
    """(H/f, W/f[, C]) area average of a frame whose sides are multiples of f (shared halvings when read-only)."""
    return shrink(image, (image.shape[1] // factor, image.shape[0] // factor))


def opaque_tiles(alpha: np.ndarray, factor: int) -> np.ndarray:
    """(H/f, W/f) bool: the f x f tiles of (H, W) uint8 alpha (sides multiples of f) that are 255 throughout.

    One tile row of f uint8 is one unsigned integer of f bytes, so the test is one AND reduction of H x W/f words.
    """
    height, width = alpha.shape
    words = np.ascontiguousarray(alpha).view(np.dtype(f"u{factor}")).reshape(height // factor, factor, width // factor)
    return np.bitwise_and.reduce(words, axis=1) == np.iinfo(np.dtype(f"u{factor}")).max


class Canvas:
    """The full-size blurred background kept between frames; `update` rescales only stale, visible blocks."""

    def __init__(self) -> None:
        self._full: np.ndarray | None = None  # (H, W, 3) uint8
        self._built: np.ndarray | None = None  # (H/f, W/f, 3) uint8: what each tile was last scaled from
        self._valid: np.ndarray | None = None  # (H/f, W/f) bool: the tile was scaled at least once
        self._factor = 0
        self.refreshed = 0.0  # share of the frame's tiles rescaled by the last update (for tests and benchmarks)

    def reset(self) -> None:
        """Forget what was scaled: the next update rescales every visible block (the buffers are kept)."""
        if self._valid is not None:
            self._valid[:] = False

    def update(self, small: np.ndarray, visible: np.ndarray, factor: int) -> np.ndarray:
        """small: (h, w, 3) uint8 blurred background; visible: (h, w) bool tiles that show it; → (h*f, w*f, 3) uint8.

        The result is this object's buffer: copy it before drawing on it.
        """
        shape = (small.shape[0] * factor, small.shape[1] * factor, 3)
        if self._full is None or self._full.shape != shape or self._factor != factor:
            self._full = np.empty(shape, np.uint8)
            self._built = np.empty_like(small)
            self._valid = np.zeros(small.shape[:2], bool)
            self._factor = factor
        changed = cv2.dilate((cv2.absdiff(small, self._built).max(axis=2) > TOLERANCE).view(np.uint8), np.ones((3, 3), np.uint8))
        stale = visible & ((changed != 0) | ~self._valid)
        self.refreshed = float(stale.mean())
        if stale.any():
            self._rescale(small, stale, factor)
        return self._full

    def _rescale(self, small: np.ndarray, stale: np.ndarray, factor: int) -> None:
        """Scale the runs of blocks holding a stale tile, band by band, each with a one-pixel margin of small."""
        height, width = stale.shape
        rows, cols = BLOCK[0] // factor, BLOCK[1] // factor
        bands = -(-height // rows)
        blocks = np.zeros((bands * rows, -(-width // cols) * cols), bool)
        blocks[:height, :width] = stale
        blocks = blocks.reshape(bands, rows, -1, cols).any(axis=(1, 3))
        for band in np.flatnonzero(blocks.any(axis=1)):
            edges = np.flatnonzero(np.diff(np.concatenate(([0], blocks[band].view(np.int8), [0]))))
            y0, y1 = band * rows, min(height, (band + 1) * rows)
            for start, stop in zip(edges[::2], edges[1::2]):
                self._scale_region(small, (y0, y1), (start * cols, min(width, stop * cols)), factor)
        done = np.repeat(np.repeat(blocks, rows, axis=0), cols, axis=1)[:height, :width]  # whole blocks were scaled
        self._built[done] = small[done]
        self._valid |= done

    def _scale_region(self, small: np.ndarray, ys: tuple[int, int], xs: tuple[int, int], factor: int) -> None:
        """Scale small[ys, xs] into the canvas, reading one more small pixel on each side that has one."""
        (y0, y1), (x0, x1) = ys, xs
        top, left = min(1, y0), min(1, x0)
        bottom, right = min(1, small.shape[0] - y1), min(1, small.shape[1] - x1)
        source = small[y0 - top : y1 + bottom, x0 - left : x1 + right]
        scaled = cv2.resize(source, (source.shape[1] * factor, source.shape[0] * factor), interpolation=cv2.INTER_LINEAR)
        self._full[y0 * factor : y1 * factor, x0 * factor : x1 * factor] = scaled[
            top * factor : (top + y1 - y0) * factor, left * factor : (left + x1 - x0) * factor
        ]
