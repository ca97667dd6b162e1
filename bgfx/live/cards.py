"""Pictures shown instead of the camera: paused (privacy), or the camera lost.

Call apps drop a virtual camera that stops sending, so bgfx keeps sending one
of these at the output rate.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from bgfx.errors import InputError
from bgfx.live.settings import PauseSettings
from bgfx.vision.imaging import fit_image, read_picture
from bgfx.vision.loader import Loader
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
        picture = image if image.shape[1::-1] == size else fit_image(image, size, "cover", colour)
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
    """The cards of one pause setting at one output size.

    The pause image is decoded and fitted by a `Loader` thread, asked for as soon as the config is adopted
    (not when first shown): the frame thread only takes the fitted picture once ready, and shows the colour
    until then or when it will not decode. The settings already checked it from its header (a regular file,
    a picture by content, within the pixel limit). A reload makes a new `Cards`; given the old one, it keeps
    its picture when the file (path, mtime, size), the output size and the colour are the same.
    """

    def __init__(self, settings: PauseSettings, size: tuple[int, int], previous: Cards | None = None) -> None:
        self.settings = settings
        self.size = size
        self._key = self._image_key()
        kept = previous is not None and previous._key == self._key and self._key is not None
        self._loader: Loader[np.ndarray] = previous._loader if kept else Loader("pause-image")
        if self._key is not None:
            path, colour = settings.image, settings.colour
            self._loader.ask(self._key, lambda: _fitted_picture(path, size, colour))

    def _image_key(self) -> tuple | None:
        s = self.settings
        if s.show != "image" or s.image is None:
            return None
        try:
            status = os.stat(s.image)
        except OSError:
            return None  # gone since it was checked: the colour
        return (s.image, status.st_mtime_ns, status.st_size, self.size, s.colour)

    def show(self, caption: str, last_frame: np.ndarray | None) -> np.ndarray:
        s = self.settings
        fitted = self._loader.take(self._key) if self._key is not None else None
        image = None if fitted is None else fitted.copy()  # the caption is drawn on it
        return card(self.size, s.show, last_frame=last_frame, image=image, colour=s.colour, caption=caption)


def _fitted_picture(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> np.ndarray | None:
    """The pause picture decoded and fitted to size (w, h), on the loader thread; None (a log line) if refused."""
    try:
        return fit_image(read_picture(path), size, "cover", colour)
    except InputError as e:
        log.warning("pause.image: %s; showing the colour instead", e)
        return None
