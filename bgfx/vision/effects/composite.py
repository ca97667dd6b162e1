"""uint8 compositing shared by the effects that swap the background.

Blending in uint8 with OpenCV costs ~1 ms at 720p against ~10 ms for numpy
float32. Most of a person's alpha is 0 or 255, though, and there nothing needs
blending: a whole frame is cut into 8x8 tiles, the tiles wholly inside are
copied, those wholly outside left, and only the tiles on the edge (a tenth of
the person's box or so) are blended, as one small batch (2.1 → 1.4 ms at 720p
here, bit for bit the same picture). Temporaries of the box path live in a
`Workspace` reused frame after frame (fresh multi-megabyte arrays cost page
faults every frame).
"""

from __future__ import annotations

import cv2
import numpy as np

from bgfx.vision.resize import shrink

_INV255 = 1.0 / 255.0
_TILE = 8  # px: one tile row of uint8 alphas is one uint64, so a tile's all-255 / any-set test is two reductions
_ALL_SET = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


class Workspace:
    """Reusable uint8 temporaries by shape; one per effect, used by the main thread only."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[int, ...], list[np.ndarray]] = {}

    def get(self, shape: tuple[int, ...], count: int) -> list[np.ndarray]:
        buffers = self._buffers.get(shape)
        if buffers is None or len(buffers) < count:
            buffers = [np.empty(shape, np.uint8) for _ in range(count)]
            self._buffers = {shape: buffers}  # a new frame size replaces the old buffers
        return buffers


def blend_into(target: np.ndarray, foreground: np.ndarray, alpha: np.ndarray, workspace: Workspace) -> np.ndarray:
    """Blend (H, W, 3) uint8 foreground over `target` (the background, overwritten) by (H, W) uint8 alpha; returns target.

    Whole frames (C-contiguous, width a multiple of 8) take the tile path, a last part-row of tiles (540 rows) the
    box path; views and other widths the box path throughout.
    """
    height, width = alpha.shape
    if width % _TILE or not all(a.flags.c_contiguous for a in (target, foreground, alpha)):
        return _blend_box(target, foreground, alpha, workspace)
    rows = height - height % _TILE
    _blend_tiles(target[:rows], foreground[:rows], alpha[:rows], workspace)  # a row prefix stays C-contiguous
    if rows < height:
        _blend_box(target[rows:], foreground[rows:], alpha[rows:], workspace)
    return target


def _blend_tiles(target: np.ndarray, foreground: np.ndarray, alpha: np.ndarray, workspace: Workspace) -> None:
    """blend_into on C-contiguous arrays whose sides are multiples of 8: inner tiles copied, edge tiles blended."""
    height, width = alpha.shape
    words = alpha.view(np.uint64).reshape(height // _TILE, _TILE, width // _TILE)
    inside = np.bitwise_and.reduce(words, axis=1) == _ALL_SET
    touched = np.bitwise_or.reduce(words, axis=1) != 0
    rows, cols = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
    if rows.size == 0:
        return
    box = (slice(rows[0] * _TILE, (rows[-1] + 1) * _TILE), slice(cols[0] * _TILE, (cols[-1] + 1) * _TILE))
    edge = np.nonzero(touched & ~inside)
    tiles = (height // _TILE, _TILE, width // _TILE, _TILE)
    target_tiles = target.reshape(*tiles, 3).swapaxes(1, 2)  # views: (ty, tx, 8, 8, 3)
    back = target_tiles[edge]  # copies, (n, 8, 8, 3), taken before the copy below overwrites them
    front = foreground.reshape(*tiles, 3).swapaxes(1, 2)[edge]
    weight = alpha.reshape(tiles).swapaxes(1, 2)[edge]
    cv2.copyTo(foreground[box], alpha[box], target[box])  # every pixel with alpha > 0; the edge is redone next
    if len(back):
        flat = (len(back), _TILE * _TILE)  # each tile as one row of a small image: one OpenCV call for them all
        blended = _blend_box(back.reshape(*flat, 3), front.reshape(*flat, 3), weight.reshape(flat), workspace)
        target_tiles[edge] = blended.reshape(back.shape)


def _blend_box(target: np.ndarray, foreground: np.ndarray, alpha: np.ndarray, workspace: Workspace) -> np.ndarray:
    """blend_into over the bounding box of alpha > 0, in uint8: alpha·fg + (255 − alpha)·bg, each rounded."""
    x, y, w, h = cv2.boundingRect(alpha)
    if w == 0 or h == 0:
        return target
    region = (slice(y, y + h), slice(x, x + w))
    alpha3, front, back = workspace.get((h, w, 3), 3)
    cv2.cvtColor(alpha[region], cv2.COLOR_GRAY2BGR, dst=alpha3)
    cv2.multiply(foreground[region], alpha3, dst=front, scale=_INV255)
    cv2.bitwise_not(alpha3, dst=alpha3)
    cv2.multiply(target[region], alpha3, dst=back, scale=_INV255)
    cv2.add(front, back, dst=target[region])
    return target


def light_wrap(
    foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray, amount: float, workspace: Workspace
) -> np.ndarray:
    """Let the new background's light spill onto the person's edge, as Meet does.

    The band is the inside of the edge (alpha high, blurred alpha lower), worked
    out at quarter size; amount 0..1 scales how much background shows there.
    """
    if amount <= 0.0:
        return foreground
    height, width = alpha.shape
    small = (max(1, width // 4), max(1, height // 4))
    a = shrink(alpha, small).astype(np.float32) * _INV255
    spread = cv2.GaussianBlur(a, (0, 0), sigmaX=max(1.0, small[0] / 160.0))
    band = np.clip((a - spread) * 8.0 * a * amount, 0.0, 1.0)
    glow = cv2.GaussianBlur(shrink(background, small), (0, 0), 2.0)
    band_full = cv2.resize(cv2.convertScaleAbs(band, alpha=255.0), (width, height), interpolation=cv2.INTER_LINEAR)
    glow_full = cv2.resize(glow, (width, height), interpolation=cv2.INTER_LINEAR)
    return blend_into(foreground.copy(), glow_full, band_full, workspace)


KEPT_SCALE = 8  # the change map's px are 8x8 frame px (the frame's shared halvings, memoised for a Frame's image)
KEPT_CHANGE = 3.0  # grey levels: mean change over 3x3 change-map px (24x24 frame px) over which a part is blended anew
# (sensor noise of sigma 8 averages to about 1.1 there; a blink or a word's lips measure 10 and more)
KEPT_MOST = 0.25  # share of the frame: a bigger changed box is blended whole


class KeptBlend:
    """The last composite of a still frame, blended anew only where the picture changed (#21).

    While the motion gate finds the room still, the pipeline hands an effect the very alpha of the frame before,
    and the kept background has not changed either: this frame's composite differs from the last one only where
    the picture did. So the last composite is copied, and the background and the blend are redone in the one
    box that holds every part of the person (alpha > 0, a change-map px around it) whose grey moved by over
    `KEPT_CHANGE` since that part was last blended. A part's reference is the grey it was blended from, so slow
    drift is caught too, and a new mask (every `still_every`-th frame at the latest) renders the frame whole.

    Only read-only pictures (a `Frame`'s image) take this path: their halvings are shared, so the change map
    costs ~0.02 ms a 720p frame; a writeable one would pay ~0.3 ms for it on every frame, moving ones too.
    Composites handed out are read-only: this object keeps the last one.
    """

    def __init__(self) -> None:
        self._output: np.ndarray | None = None  # (H, W, 3) uint8: the last composite (read-only, handed out)
        self._grey: np.ndarray | None = None  # (H/8, W/8) uint8: the grey each part of it was blended from
        self._alpha: np.ndarray | None = None  # the alpha it was blended by
        self._near: np.ndarray | None = None  # (H/8, W/8) bool: change-map px at or next to the person
        self.redone = 1.0  # share of the frame's area blended anew by the last call (for tests and benchmarks)

    def reusable(self, image: np.ndarray, alpha: np.ndarray) -> bool:
        """Whether `image` may be composited from the last composite: same alpha, a kept read-only picture."""
        output = self._output
        return alpha is self._alpha and output is not None and output.shape == image.shape and not image.flags.writeable

    def keep(self, output: np.ndarray, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Keep a whole composite (made read-only and returned) blended from `image` by `alpha`."""
        output.flags.writeable = False
        self.redone = 1.0
        if image.flags.writeable:
            self._output = self._alpha = self._near = None
            return output
        if alpha is not self._alpha:
            self._near = None  # made again from the new alpha on its first still frame
        self._output, self._alpha, self._grey = output, alpha, _change_grey(image)
        return output

    def update(
        self, image: np.ndarray, alpha: np.ndarray, background: np.ndarray, workspace: Workspace
    ) -> np.ndarray | None:
        """This frame's composite (read-only) when `reusable`: the last one, redone where the picture changed; None
        when over `KEPT_MOST` of the frame changed (a whole blend costs less then than a copy and a part blend).
        background: (H', W', 3) uint8 with H' ≥ H, W' ≥ W, the background the last composite was blended over."""
        grey, output = _change_grey(image), self._output
        assert output is not None and self._grey is not None
        if self._near is None:  # once per alpha, on its first still frame
            near = shrink(alpha, (grey.shape[1], grey.shape[0])) > 0
            self._near = cv2.dilate(near.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
        change = cv2.blur(cv2.absdiff(grey, self._grey), (3, 3))
        changed = ((change > KEPT_CHANGE) & self._near).view(np.uint8)
        # grown by the 3x3 mean's reach: a changed part's rim, which that mean dilutes, is redone with it
        x, y, w, h = cv2.boundingRect(cv2.dilate(changed, np.ones((3, 3), np.uint8)))
        self.redone = w * h / grey.size
        if self.redone > KEPT_MOST:
            return None
        if w == 0 or h == 0:
            return output
        height, width = alpha.shape
        sx, sy = width / grey.shape[1], height / grey.shape[0]
        rows = slice(int(y * sy), min(height, int(np.ceil((y + h) * sy))))
        cols = slice(int(x * sx), min(width, int(np.ceil((x + w) * sx))))
        fresh = output.copy()
        # contiguous copies of the box, so that its blend takes the tile path (views would blend every px)
        part = background[rows, cols].copy()
        blend_into(part, np.ascontiguousarray(image[rows, cols]), np.ascontiguousarray(alpha[rows, cols]), workspace)
        fresh[rows, cols] = part
        self._grey[y : y + h, x : x + w] = grey[y : y + h, x : x + w]
        fresh.flags.writeable = False
        self._output = fresh
        return fresh


def _change_grey(image: np.ndarray) -> np.ndarray:
    """(H/8, W/8) uint8 grey of a (H, W, 3) uint8 picture, from its shared halvings."""
    return cv2.cvtColor(shrink(image, (image.shape[1] // KEPT_SCALE, image.shape[0] // KEPT_SCALE)), cv2.COLOR_BGR2GRAY)
