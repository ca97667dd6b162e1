"""The blurred background at a pyramid level, brought to frame size only where it shows and only where it changed.

A background blur of sigma 20-70 px (at 720p) has nothing finer than a few
pixels in it, so it is worked out on the frame shrunk by a power of two
(`level`: 2, 4, 8 or 16, the memoised halvings of `resize.shrink`, shared with the
motion gate and refinement) and only scaled back up at the end. That last step,
a 1280x720x3 upscale, costs about as much as the small blur itself. `Canvas` keeps the
full-size background from frame to frame and redoes only the bounding box of
the tiles (f x f px) that

- show some background (not wholly inside the person's opaque core: there the
  blend copies the person and never reads the background), and
- changed: a pixel of the small blurred background, or one of its neighbours
  (bilinear reads them), differs by more than `TOLERANCE` grey levels from the
  one its tile was last scaled from, or the tile was never scaled.

A still room therefore costs the small blur alone; a moving one a resize of the
part that moved (bands or blocks scaled apart measured slower: each call pays a
margin and its overhead; a pyrUp cascade costs 2.5x one bilinear resize). The box is scaled from the
small picture with a one-pixel margin, so it is bit for bit what one whole-frame
resize gives (the scale is an exact power of two); a reused tile is off by at
most 2 x `TOLERANCE` grey levels.
"""

from __future__ import annotations

import cv2
import numpy as np

from bgfx.vision.resize import shrink

TOLERANCE = 2  # grey levels a reused tile of the background may differ from a fresh one (by half, see above)
TARGET_SIGMA = 2.0  # small px: the smallest blur kept at a level (finer and the bilinear upscale shows its pixels)


def level(sigma: float, size: tuple[int, int]) -> int:
    """The shrink factor (2, 4, 8 or 16) for a blur of `sigma` frame px on a frame of `size` (w, h): the largest that
    keeps sigma >= TARGET_SIGMA small px and divides both sides (720p: 16, 1080p: 8); if none divides, the largest
    by sigma, and the frame is padded (`padded`)."""
    fitting = [f for f in (16, 8, 4) if sigma / f >= TARGET_SIGMA] + [2]
    return next((f for f in fitting if size[0] % f == 0 and size[1] % f == 0), fitting[0])


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

    A tile row of f <= 8 uint8 is one unsigned integer of f bytes, so the test is one AND reduction of H x W/f
    words; 16 x 16 tiles are 2 x 2 of 8 x 8 ones.
    """
    height, width = alpha.shape
    if factor > 8:
        inner = opaque_tiles(alpha, 8)
        step = factor // 8
        return inner.reshape(height // factor, step, width // factor, step).all(axis=(1, 3))
    word = np.dtype(f"u{factor}")
    words = np.ascontiguousarray(alpha).view(word).reshape(height // factor, factor, width // factor)
    return np.bitwise_and.reduce(words, axis=1) == np.iinfo(word).max


class Canvas:
    """The full-size blurred background kept between frames; `update` rescales only where visible tiles went stale."""

    def __init__(self) -> None:
        self._full: np.ndarray | None = None  # (H, W, 3) uint8
        self._built: np.ndarray | None = None  # (H/f, W/f, 3) uint8: what each tile was last scaled from
        self._valid: np.ndarray | None = None  # (H/f, W/f) bool: the tile was scaled at least once
        self._factor = 0
        self.refreshed = 0.0  # share of the frame's tiles rescaled by the last update (for tests and benchmarks)

    @property
    def picture(self) -> np.ndarray | None:
        """The background as the last update left it (this object's buffer), None before the first."""
        return self._full

    def reset(self) -> None:
        """Forget what was scaled: the next update rescales every visible tile (the buffers are kept)."""
        if self._valid is not None:
            self._valid[:] = False

    def update(self, small: np.ndarray, visible: np.ndarray, factor: int) -> np.ndarray:
        """small: (h, w, 3) uint8 blurred background; visible: (h, w) bool tiles that show it; → (h*f, w*f, 3) uint8.

        The result is this object's buffer: copy it before drawing on it.
        """
        shape = (small.shape[0] * factor, small.shape[1] * factor, 3)
        if self._full is None or self._full.shape != shape or self._factor != factor:
            self._full = np.zeros(shape, np.uint8)  # never scaled: black, never an old frame's memory
            self._built = np.empty_like(small)
            self._valid = np.zeros(small.shape[:2], bool)
            self._factor = factor
        # a channel off by more than TOLERANCE (255 there), any channel (grey > 0), here or next to it (bilinear)
        over = cv2.threshold(cv2.absdiff(small, self._built), TOLERANCE, 255, cv2.THRESH_BINARY)[1]
        changed = cv2.dilate(cv2.cvtColor(over, cv2.COLOR_BGR2GRAY), np.ones((3, 3), np.uint8)).view(bool)
        stale = visible & (changed | ~self._valid)
        self.refreshed = float(np.count_nonzero(stale)) / stale.size
        if self.refreshed:
            self._rescale(small, stale, factor)
        return self._full

    def _rescale(self, small: np.ndarray, stale: np.ndarray, factor: int) -> None:
        """Scale the bounding box of the stale tiles in one call (cheaper than several: each pays a margin), or
        the whole frame when the box is over half of it."""
        x, y, w, h = cv2.boundingRect(stale.view(np.uint8))
        if w * h * 2 > stale.size:  # most of the frame: one resize straight into the canvas, no margin to crop
            cv2.resize(small, (self._full.shape[1], self._full.shape[0]), dst=self._full, interpolation=cv2.INTER_LINEAR)
            self._built[:] = small
            self._valid[:] = True
            return
        self._scale_region(small, (y, y + h), (x, x + w), factor)

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
        self._built[y0:y1, x0:x1] = small[y0:y1, x0:x1]
        self._valid[y0:y1, x0:x1] = True
