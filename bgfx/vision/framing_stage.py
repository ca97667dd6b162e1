"""The framing stage: between refinement and the effects, the frame and its refined masks are cut to the
Framer's window and scaled back to the frame's size, so the effects run on the framed picture.

The size that goes on never changes and nothing is padded: the window always lies inside the frame (the
Framer clips it there) and has the frame's aspect. The picture and the masks are scaled by the same
cv2.resize (INTER_LINEAR, into buffers reused frame after frame), so a mask still covers what it covered:
the effects hide the room in the framed picture exactly as they did in the whole one. At the full view
(mode off, nobody for a while, zoom 1) the frame and masks go on untouched, at no cost.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from bgfx.vision.effects import Chain
from bgfx.vision.frame import Frame
from bgfx.vision.framing import Framer, person_box
from bgfx.vision.framing_settings import FramingSettings
from bgfx.vision.timing import StageClock, stage

log = logging.getLogger(__name__)

BOX_STEP = 4  # px: the person's box is read from every 4th row and column of the refined mask (16x fewer pixels)
MIN_AREA = 0.005  # of the frame: less of the mask than this is noise (a false blob), not a person
MAX_DT = 0.5  # s: a longer gap between frames (a stall, a pause) steps the motion as if it were this long


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
            photo: bool = False) -> np.ndarray:
        """The chain's (H, W, 3) uint8 output on the framed picture and masks. photo: each frame is a picture
        of its own, framed at once (no motion to smooth)."""
        image, framed = self.apply(frame, masks, clock, photo=photo)
        output = chain.apply(image, framed, frame.timestamp_ms, clock)
        # no effect ran: a copy, as the next frame overwrites the buffer and a picture kept to stand in must not change
        return np.array(output) if output is self._buffers.get("image") else output

    def apply(self, frame: Frame, masks: dict[str, np.ndarray], clock: StageClock | None = None, *,
              photo: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(picture, masks) for the effects: the frame's (H, W, 3) uint8 and the masks' (H, W) uint8, framed."""
        self._framed = None
        if self.mode == "off":
            self._framer = None
            return frame.image, masks
        with stage(clock, "framing"):
            x0, y0, x1, y1 = self._crop(frame, masks.get("person"), photo)
            width, height = frame.size
            if (x0, y0, x1, y1) == (0, 0, width, height):
                return frame.image, masks
            image = self._scaled("image", frame.image[y0:y1, x0:x1], (width, height))
            framed = {name: self._scaled(name, mask[y0:y1, x0:x1], (width, height)) for name, mask in masks.items()}
        self._framed = (masks, framed)
        return image, framed

    def shown(self, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The masks as the effects saw them on the frame `masks` were last framed for (copies: the buffers are
        the next frame's); `masks` itself when that frame was not framed (full view, off, passed through)."""
        if self._framed is None or self._framed[0] is not masks:
            return masks
        return {name: np.array(mask) for name, mask in self._framed[1].items()}

    def _crop(self, frame: Frame, person: np.ndarray | None, photo: bool) -> tuple[int, int, int, int]:
        """The window for this frame as whole pixels (x0, y0, x1, y1), inside the frame."""
        width, height = frame.size
        if self._framer is None or self._framer.capture != (width, height):
            self._framer, self._last_ms = Framer(self.settings, (width, height), width / height), None
        dt = 0.0 if self._last_ms is None else min(MAX_DT, max(0.0, (frame.timestamp_ms - self._last_ms) / 1000))
        self._last_ms = frame.timestamp_ms
        box = None if person is None else _box(person)
        framer = self._framer
        if photo:
            window = framer.jump(box)
        else:
            window = framer.update(box, dt, hold=self._held)
            if self.mode == "once":
                self._held = (box is not None and framer.settled) or (self._held and not framer.away)
        x0, y0 = max(0, round(window.x)), max(0, round(window.y))
        return x0, y0, min(width, max(x0 + 1, round(window.x + window.w))), min(height, max(y0 + 1, round(window.y + window.h)))

    def _scaled(self, name: str, part: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """part scaled to size (w, h) into the reused buffer `name` (made anew when the size or depth changes)."""
        shape = (size[1], size[0], *part.shape[2:])
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != part.dtype:
            buffer = self._buffers[name] = np.empty(shape, part.dtype)
        cv2.resize(part, size, dst=buffer, interpolation=cv2.INTER_LINEAR)
        return buffer


def _box(person: np.ndarray) -> tuple[int, int, int, int] | None:
    """The person's box (x0, y0, x1, y1) in frame pixels from a (H, W) uint8 alpha, read at BOX_STEP."""
    small = person[::BOX_STEP, ::BOX_STEP]
    box = person_box(small, threshold=127)
    if box is None or np.count_nonzero(small > 127) < MIN_AREA * small.size:
        return None
    x0, y0, x1, y1 = box
    height, width = person.shape
    return x0 * BOX_STEP, y0 * BOX_STEP, min(width, x1 * BOX_STEP), min(height, y1 * BOX_STEP)
