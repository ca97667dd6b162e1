"""Pictures shown instead of the camera: paused (privacy), or the camera lost.

Call apps drop a virtual camera that stops sending, so bgfx keeps sending one
of these at the output rate.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from bgfx.live.settings import PauseSettings
from bgfx.vision.imaging import fit_image
from bgfx.vision.resize import shrink

log = logging.getLogger(__name__)


def card(
    size: tuple[int, int], show: str, *, last_frame: np.ndarray | None, image: np.ndarray | None,
    colour: tuple[int, int, int], caption: str = "",
) -> np.ndarray:
    """A (h, w, 3) uint8 picture: the last frame heavily blurred, an image, or a colour; with a caption."""
    width, height = size
    if show == "blur" and last_frame is not None:
        small = shrink(last_frame, (max(1, width // 16), max(1, height // 16)))
        picture = cv2.resize(cv2.GaussianBlur(small, (0, 0), 3), size, interpolation=cv2.INTER_LINEAR)
    elif show == "image" and image is not None:
        picture = fit_image(image, size, "cover", colour)
    else:
        picture = np.empty((height, width, 3), np.uint8)
        picture[:] = colour
    if caption:
        scale = max(0.6, width / 900)
        (text_w, text_h), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        origin = ((width - text_w) // 2, (height + text_h) // 2)
        cv2.putText(picture, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 6, cv2.LINE_AA)
        cv2.putText(picture, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
    return picture


class Cards:
    """The cards of one pause setting at one output size; the pause image is read once, when first shown.

    A reload makes a new `Cards`, so an image changed on disk or in the config is read again.
    """

    def __init__(self, settings: PauseSettings, size: tuple[int, int]) -> None:
        self.settings = settings
        self.size = size
        self._image: np.ndarray | None = None
        self._image_read = False

    def show(self, caption: str, last_frame: np.ndarray | None) -> np.ndarray:
        s = self.settings
        if s.show == "image" and not self._image_read and s.image is not None:
            self._image_read = True
            self._image = cv2.imread(str(s.image))
            if self._image is None:
                log.warning("pause.image %s cannot be read; showing the colour", s.image)
        return card(self.size, s.show, last_frame=last_frame, image=self._image, colour=s.colour, caption=caption)
