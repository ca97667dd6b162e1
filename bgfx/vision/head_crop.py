"""Where the hair model looks: a square around the head, found from the hair itself, moved with the head.

The hair model sees 512x512 whatever it is given. Given a whole 16:9 frame, a
head a fifth of the frame wide gets about a hundred model pixels, and the
model sees all the room's texture (bushes, hoods, railings) as candidate hair.
Given a square around the head, the head gets several times the pixels and
the background it sees shrinks. A crop that would cover more than half the
frame (a face close to the camera) gains nothing, so the model then sees the
whole frame.

The head is found from the hair: the first run (and every run after the hair
was lost) looks at the whole frame; each later run looks at the square around
where the last run found hair inside the person, grown by `MARGIN` on each
side, so it follows a head that moves, turns or comes closer. (A locator
reading the top of the person mask took a raised selfie hand for the head on
the street still; the hair cannot be mistaken for a hand.)

Between hair runs the last hair mask moves with the head: the head's box in
the current frame is phase-correlated with the same box at the run (64x64
grey, ~0.1 ms), and a crop's box is shifted by the motion found, or a
whole-frame mask moved within the frame. (The person mask's centroid inside
the box, tried first, barely moves when the person fills the box.)
With nobody in the picture the hair model is not called at all.

When the person mask no longer matches the one at the last hair run (IoU under
`PERSON_KEPT`: someone sat down, a second person leaned in) the head may be
elsewhere or there may be two: the crop is `stale`, and the pipeline forgets it
and runs the hair model on the whole frame at once.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from bgfx.vision.frame import Box, Segmentation

MARGIN = 0.25  # of the hair box's longer side, added on every side of the crop
MIN_PERSON_SHARE = 0.002  # of the person mask above 0.5: less, and nobody is there (no hair run)
CROP_MAX_SHARE = 0.5  # of the frame's area: a larger crop gains no detail and changes the model's scale (worse on the street still)
QUANTUM = 32  # px: crop sides are multiples of this, so a crop keeps its size (and the refiner its state) between runs
PATCH = 64  # px: the head's box is compared between frames at this size (phase correlation, ~0.1 ms)
MIN_RESPONSE = 0.1  # phase correlation peak below which the measured shift is not trusted
PERSON_CUT = 0.3  # person confidence above which hair counts as the person's (outer strands are unsure)
PERSON_KEPT = 0.75  # person mask IoU with the one at the last hair run under which the crop is stale
# (the desk clip's lowest is 0.88 over 12 frames, 0.82 over 24)


def person_present(person: np.ndarray) -> bool:
    """person: (h, w) float32 confidence. True when enough of it is above 0.5 to be someone."""
    return np.count_nonzero(person > 0.5) >= MIN_PERSON_SHARE * person.size


def fit_box(centre: tuple[float, float], size: tuple[int, int], frame_wh: tuple[int, int]) -> Box:
    """The (w, h) box centred on `centre` (frame px), its size cut to the frame's, slid inside the frame."""
    width, height = min(size[0], frame_wh[0]), min(size[1], frame_wh[1])
    x0 = int(round(min(max(centre[0] - width / 2, 0), frame_wh[0] - width)))
    y0 = int(round(min(max(centre[1] - height / 2, 0), frame_wh[1] - height)))
    return x0, y0, x0 + width, y0 + height


def square_around(box: Box, frame_wh: tuple[int, int]) -> Box:
    """The crop for a hair box: a square `MARGIN` larger on each side, its side rounded up to `QUANTUM`."""
    x0, y0, x1, y1 = box
    side = QUANTUM * math.ceil(max(x1 - x0, y1 - y0) * (1 + 2 * MARGIN) / QUANTUM)
    return fit_box(((x0 + x1) / 2, (y0 + y1) / 2), (side, side), frame_wh)


def region_of(mask: np.ndarray, box: Box, frame_wh: tuple[int, int]) -> tuple[np.ndarray, float, float]:
    """The part of a whole-frame mask (h, w) under `box` (frame px), and the mask px per frame px in x and y."""
    scale_x, scale_y = mask.shape[1] / frame_wh[0], mask.shape[0] / frame_wh[1]
    x0, x1 = int(box[0] * scale_x), max(int(box[0] * scale_x) + 1, int(round(box[2] * scale_x)))
    y0, y1 = int(box[1] * scale_y), max(int(box[1] * scale_y) + 1, int(round(box[3] * scale_y)))
    return mask[y0:y1, x0:x1], scale_x, scale_y


def hair_box(hair: Segmentation, person: Segmentation, frame_wh: tuple[int, int]) -> Box | None:
    """Frame-px bounding box of the hair (> 0.5) that lies on the person (> PERSON_CUT); None when there is none."""
    box = hair.box or (0, 0, *frame_wh)
    mask = hair.masks["hair"]
    region, _, _ = region_of(person.masks["person"], box, frame_wh)
    on_person = cv2.resize(region, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR) > PERSON_CUT
    x, y, w, h = cv2.boundingRect(((mask > 0.5) & on_person).astype(np.uint8))
    if w == 0 or h == 0:
        return None
    scale_x, scale_y = (box[2] - box[0]) / mask.shape[1], (box[3] - box[1]) / mask.shape[0]
    return (
        box[0] + int(x * scale_x),
        box[1] + int(y * scale_y),
        box[0] + math.ceil((x + w) * scale_x),
        box[1] + math.ceil((y + h) * scale_y),
    )


class HeadCrop:
    """One stream's head crop: where the hair was last found, the crop for the next run, and the head's picture
    at the last run (what later frames are phase-correlated with)."""

    def __init__(self) -> None:
        self._window = cv2.createHanningWindow((PATCH, PATCH), cv2.CV_32F)
        self.reset()

    def reset(self) -> None:
        """Forget the head: the next hair run looks at the whole frame."""
        self._crop: Box | None = None
        self._found: Box | None = None
        self._run_timestamp: int | None = None
        self._reference = np.zeros((PATCH, PATCH), np.float32)
        self._shift = (0, 0)
        self._person_at_run: np.ndarray | None = None  # (h, w) bool person mask at the last hair run

    def stale(self, person: Segmentation) -> bool:
        """Whether the person mask (> 0.5) has changed since the last hair run so much (IoU under PERSON_KEPT, or
        another model's size) that the head crop may be wrong."""
        seen = self._person_at_run
        if seen is None:
            return False
        now = person.masks["person"] > 0.5
        if now.shape != seen.shape:
            return True
        union = np.count_nonzero(now | seen)
        return union > 0 and np.count_nonzero(now & seen) < PERSON_KEPT * union

    def forgot(self, person: Segmentation, cut: bool) -> bool:
        """Forget the crop on a new scene (a cut, or a `stale` person mask); True when it did."""
        if cut or self.stale(person):
            self.reset()
            return True
        return False

    def for_run(self) -> Box | None:
        """The crop for the next hair run (None: the whole frame)."""
        return self._crop

    def learn(self, hair: Segmentation, person: Segmentation, frame_wh: tuple[int, int]) -> None:
        """After a hair run: aim the next one at the hair found on the person (the whole frame when none was)."""
        found = self._found = hair_box(hair, person, frame_wh)
        self._person_at_run = person.masks["person"] > 0.5
        crop = None if found is None else square_around(found, frame_wh)
        small = crop is not None and (crop[2] - crop[0]) * (crop[3] - crop[1]) <= CROP_MAX_SHARE * frame_wh[0] * frame_wh[1]
        self._crop = crop if small else None

    def place(self, hair: Segmentation, image: np.ndarray) -> tuple[Box | None, tuple[int, int]]:
        """Where the last hair result lies in this (H, W, 3) BGR frame, moved with the head since its run: for a
        crop, its box shifted and no further shift; for a whole-frame mask, no box and the shift (px) to move it by."""
        region = hair.box or self._found
        if region is None:
            return hair.box, (0, 0)
        frame_wh = (image.shape[1], image.shape[0])
        patch = grey_patch(image, region)
        if hair.timestamp_ms != self._run_timestamp:
            self._run_timestamp, self._reference, self._shift = hair.timestamp_ms, patch, (0, 0)
        else:
            (dx, dy), response = cv2.phaseCorrelate(self._reference, patch, self._window)
            if response >= MIN_RESPONSE:
                scale_x, scale_y = (region[2] - region[0]) / PATCH, (region[3] - region[1]) / PATCH
                self._shift = (round(dx * scale_x), round(dy * scale_y))
        if hair.box is None:
            return None, self._shift
        size = (hair.box[2] - hair.box[0], hair.box[3] - hair.box[1])
        return fit_box(_centre(hair.box, self._shift), size, frame_wh), (0, 0)


def grey_patch(image: np.ndarray, box: Box) -> np.ndarray:
    """The box of a BGR frame as a PATCH x PATCH float32 grey image (for phase correlation)."""
    crop = image[box[1] : box[3], box[0] : box[2]]
    small = cv2.resize(crop, (PATCH, PATCH), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)


def _centre(box: Box, shift: tuple[float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2 + shift[0], (box[1] + box[3]) / 2 + shift[1]


def moved(mask: np.ndarray, shift: tuple[int, int], frame_wh: tuple[int, int]) -> np.ndarray:
    """A whole-frame mask (h, w) float32 moved by `shift` frame px (what moves in leaves empty)."""
    if shift == (0, 0):
        return mask
    dx, dy = shift[0] * mask.shape[1] / frame_wh[0], shift[1] * mask.shape[0] / frame_wh[1]
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(mask, matrix, (mask.shape[1], mask.shape[0]), borderMode=cv2.BORDER_CONSTANT, borderValue=0)
