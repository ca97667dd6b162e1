"""Motion-gated cadence: the models run every frame only while the picture moves.

A person on a call is still most of the time, and every model call costs the
same whether anything moved or not (the person model ~4.5 CPU ms a 720p frame,
the hair model ~25). The gate compares a tiny grey copy of the frame (64x36,
block averages of the 256-px copy refinement makes anyway, so sensor noise
averages out: sigma 8 noise measures 0.3, the desk clip's typing 0.65 median)
with the one at the model's last run: while the mean change stays under
`threshold` grey levels, the model runs only every `still_every`th frame, and
the frames between reuse
its mask, refined on the current frame (the guided filter snaps the mask's
edges to this frame's picture). Any motion above the threshold runs it at once.
The mask's age stays bounded by `still_every` frames.

A panning camera changes the whole picture, yet the person in it has only moved
with it. When the change is over the threshold, the gate estimates one global
shift by phase correlation (`cv2.phaseCorrelate`, on a 128x72 grey copy: ~1 px
error at 720p, against ~4 px on the 64x36 one) between the frame and the one at
the model's last run; if the reference moved by that shift explains the frame
(mean residual under `PAN_RESIDUAL` grey levels) the frame counts as still,
`shift_since` gives the shift, and the pipeline moves the last mask by it
instead of running the model: a pan runs it every `PAN_EVERY`th frame (or
`still_every`th if that is less: a shifted mask drifts from the truth faster
than a still one, by parallax and zoom), so the mask's age stays bounded.

A frame that differs from the one before by more than `SCENE_CHANGE` is a new
scene (a cut, the lights, someone sitting down in front of the camera): the
gate says so (`cut`), runs the models at once whatever a governor asked, and
the pipeline runs every other model and forgets where the head was.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from bgfx.vision.frame import Segmentation
from bgfx.vision.resize import shrink

GUIDE_WIDTH = 256  # px: the shared downscale refinement uses too (resize.shrink memoises it per frame)
TINY = (64, 36)
FINE = (128, 72)  # the copy phase correlation runs on (TINY is its 2x2 block averages)
PAN_MIN = 0.25  # FINE px (2.5 px at 720p): a smaller global shift is no pan (an arm moving in a still room)
PAN_RESIDUAL = 3.0  # mean grey error (FINE) of the shifted reference: a pure pan of the desk clip leaves 1.6-2.5
PAN_SPREAD = (2, 0.25)  # a pan changes most of the picture: over 2 grey levels on ≥ 25 % of the 64x36 blocks
# (the desk clip's typing and gestures: 7-22 %; pans of 4-16 px a frame: 31-83 %). Less is local motion, and the
# phase correlation (~0.4 ms) is not tried: the model runs, as it would if the pan check had said no.
PAN_EVERY = 3  # during a pan the model runs at least every 3rd frame (8 px a frame: lag 0.0047 at 3, 0.0080 at 6)
RUNS_KEPT = 4  # references of the latest model runs kept (LIVE_STREAM: the newest mask may be a run or two old)
_WINDOW = cv2.createHanningWindow(FINE, cv2.CV_32F)
SCENE_CHANGE = 34.0  # mean grey change from the frame before (0..255) over which the picture is a new scene:
# typing peaks at 2.3, a whole-frame jump of 48 px gives 31 (no global-motion estimate yet), a portrait cut 36+


def fine_grey(image: np.ndarray) -> np.ndarray:
    """(72, 128) uint8 grey block averages of a (H, W, 3) BGR frame (from the shared 256-px copy)."""
    width = min(GUIDE_WIDTH, image.shape[1])
    small = shrink(image, (width, max(1, round(image.shape[0] * width / image.shape[1]))))
    return cv2.resize(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), FINE, interpolation=cv2.INTER_AREA)


def tiny_grey(image: np.ndarray) -> np.ndarray:
    """(36, 64) uint8 grey block averages of a (H, W, 3) BGR frame."""
    return cv2.resize(fine_grey(image), TINY, interpolation=cv2.INTER_AREA)


def global_shift(reference: np.ndarray, grey: np.ndarray) -> tuple[float, float] | None:
    """The shift (dx, dy) in FINE px that moves `reference` onto `grey` (both (72, 128) float32), when one shift
    explains the change (a pan: residual under PAN_RESIDUAL, shift at least PAN_MIN); else None."""
    (dx, dy), _ = cv2.phaseCorrelate(reference, grey, _WINDOW)
    if abs(dx) < PAN_MIN and abs(dy) < PAN_MIN:
        return None
    mx, my = int(abs(dx)) + 2, int(abs(dy)) + 2
    if 2 * mx >= FINE[0] or 2 * my >= FINE[1]:
        return None
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(reference, matrix, FINE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    residual = float(cv2.norm(grey[my:-my, mx:-mx], moved[my:-my, mx:-mx], cv2.NORM_L1)) / ((FINE[0] - 2 * mx) * (FINE[1] - 2 * my))
    return (dx, dy) if residual <= PAN_RESIDUAL else None


def widespread(grey: np.ndarray, reference: np.ndarray) -> bool:
    """Whether the change between two (36, 64) uint8 tiny greys covers enough of the picture to be a pan."""
    level, share = PAN_SPREAD
    return np.count_nonzero(cv2.absdiff(grey, reference) > level) >= share * grey.size


class MotionGate:
    """still_every: run every Nth frame while still (1: every frame, no gating); threshold: mean grey change.
    The governor's knobs: moving_every (every Nth frame while moving too) and hair_factor."""

    def __init__(self, still_every: int, threshold: float) -> None:
        self.still_every = still_every
        self.threshold = threshold
        self.moving_every = 1  # while moving too, run only every Nth frame (a CPU governor's step; 1: every frame)
        self.hair_factor = 1  # the hair model's cadence is stretched by this (a CPU governor's step)
        self.moving = True  # the last verdict: motion (or no reference yet), not the still cadence
        self.change = 0.0  # the last measured mean grey change, 0..255
        self.cut = False  # the last frame differs from the one before by more than SCENE_CHANGE
        self.pan: tuple[float, float] | None = None  # the last frame's global shift from the reference (FINE px), if a pan
        self.follow_pans = True  # False: a pan is motion (the model runs), as before global motion was estimated
        self._fine: np.ndarray | None = None  # (72, 128) float32 of the last frame
        self._runs: deque[tuple[int, np.ndarray]] = deque(maxlen=RUNS_KEPT)  # (timestamp_ms, fine grey) of model runs
        self._reference: np.ndarray | None = None
        self._previous: np.ndarray | None = None
        self._skipped = 0

    def reset(self) -> None:
        self._reference = None
        self._previous = None
        self.cut = False
        self.pan = None
        self._runs.clear()
        self._skipped = 0
        self.moving = True

    def due(self, image: np.ndarray, timestamp_ms: int = 0) -> bool:
        """Whether the model should run on this frame (at `timestamp_ms`); True also makes it the new reference."""
        fine = fine_grey(image)
        grey = cv2.resize(fine, TINY, interpolation=cv2.INTER_AREA)
        self._fine = fine.astype(np.float32)
        reference, previous, self._previous = self._reference, self._previous, grey
        self.cut = previous is not None and float(cv2.norm(grey, previous, cv2.NORM_L1)) / grey.size > SCENE_CHANGE
        self.pan = None
        if reference is None:
            self.moving, self.change = True, 255.0
        else:
            self.change = float(cv2.norm(grey, reference, cv2.NORM_L1)) / grey.size
            self.moving = self.change > self.threshold
            if self.moving and self.follow_pans and not self.cut and self._runs and widespread(grey, reference):
                self.pan = global_shift(self._runs[-1][1], self._fine)
                self.moving = self.pan is None
        still_every = min(self.still_every, PAN_EVERY) if self.pan is not None else self.still_every
        every = self.moving_every if self.moving else still_every
        if self.cut or every <= 1 or self._skipped + 1 >= every:
            self._reference, self._skipped, self.pan = grey, 0, None
            self._runs.append((timestamp_ms, self._fine))
            return True
        self._skipped += 1
        return False

    def place(self, segmentation: Segmentation, frame_wh: tuple[int, int]) -> tuple[None, tuple[int, int]]:
        """Where a whole-frame mask goes on the last frame, as `HeadCrop.place` says it of a crop's: no box, and
        moved by the shift of the picture since its model run (frame px) if it was a pan, else (0, 0)."""
        return None, self.shift_since(segmentation.timestamp_ms, frame_wh)

    def shift_since(self, timestamp_ms: int, frame_wh: tuple[int, int]) -> tuple[int, int]:
        """(dx, dy) frame px the picture moved since the model run at `timestamp_ms` if that was a pan, else (0, 0).

        The newest run's shift is the verdict's; an older run's (LIVE_STREAM, its answer not in yet) is estimated here.
        """
        match = next((fine for stamp, fine in reversed(self._runs) if stamp == timestamp_ms), None)
        if match is None or self._fine is None or not self.follow_pans:
            return (0, 0)
        pan = self.pan if match is self._runs[-1][1] else global_shift(match, self._fine)
        if pan is None:
            return (0, 0)
        return round(pan[0] * frame_wh[0] / FINE[0]), round(pan[1] * frame_wh[1] / FINE[1])
