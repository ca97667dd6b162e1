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

A frame that differs from the one before by more than `SCENE_CHANGE` is a new
scene (a cut, the lights, someone sitting down in front of the camera): the
gate says so (`cut`), runs the models at once whatever a governor asked, and
the pipeline runs every other model and forgets where the head was.
"""

from __future__ import annotations

import cv2
import numpy as np

from bgfx.vision.resize import shrink

GUIDE_WIDTH = 256  # px: the shared downscale refinement uses too (resize.shrink memoises it per frame)
TINY = (64, 36)
SCENE_CHANGE = 34.0  # mean grey change from the frame before (0..255) over which the picture is a new scene:
# typing peaks at 2.3, a whole-frame jump of 48 px gives 31 (no global-motion estimate yet), a portrait cut 36+


def tiny_grey(image: np.ndarray) -> np.ndarray:
    """(36, 64) uint8 grey block averages of a (H, W, 3) BGR frame."""
    width = min(GUIDE_WIDTH, image.shape[1])
    small = shrink(image, (width, max(1, round(image.shape[0] * width / image.shape[1]))))
    return cv2.resize(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), TINY, interpolation=cv2.INTER_AREA)


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
        self._reference: np.ndarray | None = None
        self._previous: np.ndarray | None = None
        self._skipped = 0

    def reset(self) -> None:
        self._reference = None
        self._previous = None
        self.cut = False
        self._skipped = 0
        self.moving = True

    def due(self, image: np.ndarray) -> bool:
        """Whether the model should run on this frame; True also makes it the new reference."""
        grey = tiny_grey(image)
        reference, previous, self._previous = self._reference, self._previous, grey
        self.cut = previous is not None and float(cv2.norm(grey, previous, cv2.NORM_L1)) / grey.size > SCENE_CHANGE
        if reference is None:
            self.moving, self.change = True, 255.0
        else:
            self.change = float(cv2.norm(grey, reference, cv2.NORM_L1)) / grey.size
            self.moving = self.change > self.threshold
        every = self.moving_every if self.moving else self.still_every
        if self.cut or every <= 1 or self._skipped + 1 >= every:
            self._reference, self._skipped = grey, 0
            return True
        self._skipped += 1
        return False
