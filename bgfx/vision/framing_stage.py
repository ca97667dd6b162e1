"""The framing stage: between refinement and the effects, the frame and its refined masks are cut to the
Framer's window and scaled back to the frame's size, so the effects run on the framed picture.

The size that goes on never changes and nothing is padded: the window always lies inside the frame (the
Framer clips it there) and has the frame's aspect. The picture and the masks are scaled by one map (`_affine`:
bilinear, the window's pixel centres stretched onto the output's, as cv2.resize places them), so a mask still
covers what it covered: the effects hide the room in the framed picture exactly as they did in the whole one.
At the full view (mode off, nobody for a while, zoom 1) the frame and masks go on untouched, at no cost.

Cost (#19, 720p, one thread): cv2.warpAffine's bilinear kernels are quick on 1 and 4 channels and slow on 3, so
the picture's window (a pixel wider each side, for the bilinear neighbours) goes to BGRA, is scaled as BGRA and
comes back to BGR (0.6-0.9 ms where cv2.resize of the BGR crop took 1.0-1.3 ms; the same bilinear values within
rounding). A mask the refiner scaled up from its guide-size alpha (`Refined`) is scaled from that instead of
from the frame-size one (about 0.1 ms where it took 0.4 ms, and one interpolation, not two). A mask that is the
same read-only array as last frame, under the same window, keeps last frame's framed mask.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from bgfx.vision.effects import Chain
from bgfx.vision.frame import Box, Frame
from bgfx.vision.framing import Framer, person_box
from bgfx.vision.framing_settings import FramingSettings
from bgfx.vision.refine import Refined
from bgfx.vision.timing import StageClock, stage

log = logging.getLogger(__name__)

BOX_STEP = 4  # px: without its guide-size alpha, the person's box is read from every 4th row and column of the mask
MIN_AREA = 0.005  # of the frame: less of the mask than this is noise (a false blob), not a person
MAX_DT = 0.5  # s: a longer gap between frames (a stall, a pause) steps the motion as if it were this long
WARP = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP  # the affine maps output pixels to source pixels


class FramingStage:
    """The framing section's runtime: the Framer (made at the first frame's size), the mode in force
    (`toggle` flips it), once's hold, and the output buffers: picture (H, W, 3) uint8, masks (H, W) uint8."""

    def __init__(self, settings: FramingSettings) -> None:
        self.settings = settings
        self.mode = settings.mode
        self._framer: Framer | None = None
        self._last_ms: int | None = None
        self._held = False  # once: framed, now held until `reframe` (or everyone has left)
        self._buffers: dict[str, np.ndarray] = {}
        self._framed: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None  # (masks given, framed)
        self._made: dict[str, tuple[np.ndarray, Box]] = {}  # mask buffer → (source, window) it holds

    @property
    def zoom(self) -> float:
        """The zoom of the picture going out (1.0: the full view)."""
        return 1.0 if self._framer is None else self._framer.zoom

    @property
    def following(self) -> bool:
        """The window moved towards a new target this frame (the benchmarks split the stage's cost by it)."""
        return self._framer is not None and not self._framer.settled

    def configure(self, settings: FramingSettings) -> None:
        """Run a new framing section (a reload or `set framing.KEY=...`); the picture moves on from where it is."""
        if settings.mode != self.settings.mode:
            self.mode, self._held = settings.mode, False
        if self._framer is not None and settings != self.settings:
            self._framer.retune(settings)
        self.settings = settings

    def take_over(self, other: FramingStage) -> None:
        """Continue from `other`'s state (a reload built a new pipeline): no jump back to the full view; the mode
        in force (toggle-framing's) is kept unless the new section changes the mode."""
        if other.settings.mode == self.settings.mode:
            self.mode, self._held = other.mode, other._held
        self._framer, self._last_ms = other._framer, other._last_ms
        if self._framer is not None:
            self._framer.retune(self.settings)

    def toggle(self) -> str:
        """Framing off, or back on (the configured mode, follow when that is off); the mode now in force."""
        self.mode = "off" if self.mode != "off" else (self.settings.mode if self.settings.mode != "off" else "follow")
        self._held = False
        return self.mode

    def reframe(self) -> None:
        """Frame the person again (mode once: then hold there); in follow mode the picture follows anyway."""
        self._held = False

    def run(self, chain: Chain, frame: Frame, masks: dict[str, np.ndarray], clock: StageClock | None = None, *,
            photo: bool = False, sources: dict[str, Refined | None] | None = None) -> np.ndarray:
        """The chain's (H, W, 3) uint8 output on the framed picture and masks. photo: each frame is a picture
        of its own, framed at once (no motion to smooth); sources: `apply`'s."""
        image, framed = self.apply(frame, masks, clock, photo=photo, sources=sources)
        output = chain.apply(image, framed, frame.timestamp_ms, clock)
        # no effect ran: a copy, as the next frame overwrites the buffer and a picture kept to stand in must not change
        return np.array(output) if output is self._buffers.get("image") else output

    def apply(self, frame: Frame, masks: dict[str, np.ndarray], clock: StageClock | None = None, *,
              photo: bool = False, sources: dict[str, Refined | None] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(picture, masks) for the effects: the frame's (H, W, 3) uint8 and the masks' (H, W) uint8, framed.
        sources: mask name → the `Refined` a mask may have come from; used only for a mask that is its `alpha`."""
        self._framed = None
        if self.mode == "off":
            self._framer = None
            return frame.image, masks
        sources = sources or {}
        with stage(clock, "framing"):
            window = self._crop(frame, _box(masks.get("person"), sources.get("person")), photo)
            if window == (0, 0, *frame.size):
                return frame.image, masks
            image = self._picture(frame.image, window)
            framed = {name: self._mask(name, mask, sources.get(name), window) for name, mask in masks.items()}
        self._framed = (masks, framed)
        return image, framed

    def shown(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The masks as the effects saw them on the frame `masks` were last framed for (copies: the buffers are
        the next frame's); `masks` itself when that frame was not framed (full view, off, passed through)."""
        if self._framed is None or self._framed[0] is not masks:
            return masks
        return {name: np.array(mask) for name, mask in self._framed[1].items()}

    def _crop(self, frame: Frame, box: Box | None, photo: bool) -> Box:
        """The window for this frame as whole pixels (x0, y0, x1, y1), inside the frame; box: the person's."""
        width, height = frame.size
        if self._framer is None or self._framer.capture != (width, height):
            self._framer, self._last_ms = Framer(self.settings, (width, height), width / height), None
        dt = 0.0 if self._last_ms is None else min(MAX_DT, max(0.0, (frame.timestamp_ms - self._last_ms) / 1000))
        self._last_ms = frame.timestamp_ms
        framer = self._framer
        if photo:
            window = framer.jump(box)
        else:
            window = framer.update(box, dt, hold=self._held)
            if self.mode == "once":
                self._held = (box is not None and framer.settled) or (self._held and not framer.away)
        x0, y0 = max(0, round(window.x)), max(0, round(window.y))
        return x0, y0, min(width, max(x0 + 1, round(window.x + window.w))), min(height, max(y0 + 1, round(window.y + window.h)))

    def _picture(self, image: np.ndarray, window: Box) -> np.ndarray:
        """The (H, W, 3) uint8 BGR picture's window scaled to its size, through BGRA (see the module's docstring)."""
        height, width = image.shape[:2]
        x0, y0, x1, y1 = max(0, window[0] - 1), max(0, window[1] - 1), min(width, window[2] + 1), min(height, window[3] + 1)
        part = self._buffer("part", (height, width, 4))[: y1 - y0, : x1 - x0]
        cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2BGRA, dst=part)
        wide = self._buffer("wide", (height, width, 4))
        cv2.warpAffine(part, _affine(window, (width, height), (1.0, 1.0), (x0, y0)), (width, height), dst=wide,
                       flags=WARP, borderMode=cv2.BORDER_REPLICATE)
        return cv2.cvtColor(wide, cv2.COLOR_BGRA2BGR, dst=self._buffer("image", (height, width, 3)))

    def _mask(self, name: str, mask: np.ndarray, source: Refined | None, window: Box) -> np.ndarray:
        """The (H, W) uint8 mask's window scaled to its size: from the guide-size alpha when `mask` is `source`'s,
        and not again when the same read-only source under the same window last made the buffer."""
        height, width = mask.shape
        small = source.small if source is not None and source.alpha is mask else mask
        key = f"mask:{name}"
        buffer, made = self._buffer(key, (height, width)), self._made.get(key)
        if made is not None and made[0] is small and made[1] == window and not small.flags.writeable:
            # unchanged since last frame: read-only, as the refiner's reused alpha, so an effect may reuse its work
            buffer.flags.writeable = False
            return buffer
        buffer.flags.writeable = True  # rewritten: no effect may take it for last frame's (same array, read-only)
        scale = (width / small.shape[1], height / small.shape[0])
        cv2.warpAffine(small, _affine(window, (width, height), scale), (width, height), dst=buffer, flags=WARP,
                       borderMode=cv2.BORDER_REPLICATE)
        self._made[key] = (small, window)
        return buffer

    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The reused uint8 buffer `name` of `shape` (made anew when the shape changes; its content forgotten)."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._buffers[name] = np.empty(shape, np.uint8)
            self._made.pop(name, None)
        return buffer


def _affine(window: Box, size: tuple[int, int], scale: tuple[float, float],
            origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The 2x3 float64 map from an output pixel of size (w, h) to a source pixel, the window stretched over the
    output with pixel centres on pixel centres (cv2.resize's placing). The source is the frame scaled down by
    scale (sx, sy: frame px per source px) and cut at origin (x, y: source px), so the picture and a mask of
    any size land on the same place: frame x = x0 + (u + 0.5) * (x1 - x0) / w - 0.5."""
    x0, y0, x1, y1 = window
    kx, ky = (x1 - x0) / size[0], (y1 - y0) / size[1]
    return np.array([[kx / scale[0], 0.0, (x0 + 0.5 * kx) / scale[0] - 0.5 - origin[0]],
                     [0.0, ky / scale[1], (y0 + 0.5 * ky) / scale[1] - 0.5 - origin[1]]])


def _box(person: np.ndarray | None, source: Refined | None) -> Box | None:
    """The person's box (x0, y0, x1, y1) in frame pixels from a (H, W) uint8 alpha (None: no person mask), read
    from the guide-size alpha it was scaled up from when `source` is its (about 5 frame px a pixel at 720p, and
    contiguous: a quarter of the time of the strided read), else at BOX_STEP."""
    if person is None:
        return None
    height, width = person.shape
    if source is not None and source.alpha is person:
        small = source.small
        sx, sy = width / small.shape[1], height / small.shape[0]
    else:
        small, sx, sy = person[::BOX_STEP, ::BOX_STEP], BOX_STEP, BOX_STEP
    box = person_box(small, threshold=127)
    if box is None or np.count_nonzero(small > 127) < MIN_AREA * small.size:
        return None
    x0, y0, x1, y1 = box
    return int(x0 * sx), int(y0 * sy), min(width, math.ceil(x1 * sx)), min(height, math.ceil(y1 * sy))
