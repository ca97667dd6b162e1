"""`replace`: the background becomes an image, a looping video or a solid colour.

Validating the schema only checks that the file is there and readable (an
image's header, a video's first frame): loading a config, a reload and
`bgfx doctor` stay cheap. The runtime decodes the image once and fits it to
the frame size once (cached by size); a video is decoded one frame at a time as
the frame clock reaches it (timestamps, not call count, so it plays at its own
speed whatever the output rate) and loops at its end.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, Mapping

import cv2
import numpy as np

from bgfx.errors import CaptureError, InputError
from bgfx.vision.effects.composite import Workspace, blend_into, light_wrap
from bgfx.vision.imaging import fit_image, parse_colour
from bgfx.vision.video import VideoFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Replace:
    """Exactly one of image, video or colour; fit: cover (crop), contain (letterbox), stretch."""

    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    image: Path | None = None
    video: Path | None = None
    colour: tuple[int, int, int] | None = field(default=None, metadata={"parse": parse_colour})
    fit: Literal["cover", "contain", "stretch"] = "cover"
    light_wrap: float = field(default=0.0, metadata={"range": (0.0, 1.0)})

    def __post_init__(self) -> None:
        given = [name for name in ("image", "video", "colour") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"background: give exactly one of image, video or colour, got {', '.join(given) or 'none'}")
        if self.image is not None:
            readable = self.image.is_file() and os.access(self.image, os.R_OK)
            if not readable or not cv2.haveImageReader(str(self.image)):
                raise ValueError(f"image: cannot read {self.image}: check that it exists and is a PNG or JPEG")
        if self.video is not None:
            try:
                VideoFile(self.video).close()  # opens and decodes the first frame only
            except CaptureError:
                raise ValueError(f"video: cannot read {self.video}: check that it exists and is a playable video file") from None

    def prepare(self) -> ReplaceRuntime:
        return ReplaceRuntime(self)


class ReplaceRuntime:
    """The decoded image or the open background video, the fitted background, and the blend buffers."""

    def __init__(self, settings: Replace) -> None:
        self.settings = settings
        self._fill = settings.colour or (0, 0, 0)
        self._still: np.ndarray | None = None
        self._video: VideoFile | None = None
        if settings.image is not None:
            self._still = cv2.imread(str(settings.image), cv2.IMREAD_COLOR)
            if self._still is None:
                raise InputError(f"{settings.image}: cannot decode this background image; check that it is a PNG or JPEG")
        if settings.video is not None:
            try:
                self._video = VideoFile(settings.video, loop=True)
            except CaptureError as e:
                raise InputError(str(e)) from None
        self._raw = self._video.read_image() if self._video is not None else None
        self._fitted: np.ndarray | None = None
        self._index = 0
        self._start_ms: int | None = None
        self._workspace = Workspace()

    def background(self, size: tuple[int, int], timestamp_ms: int) -> np.ndarray:
        """(h, w, 3) uint8 background for a frame of size (w, h) at this time; shared, do not modify."""
        if self._video is not None:
            self._advance(timestamp_ms)
        if self._fitted is None or self._fitted.shape[1::-1] != size:
            source = self._raw if self._video is not None else self._still
            if source is None:
                self._fitted = np.full((size[1], size[0], 3), self._fill, np.uint8)
            else:
                self._fitted = fit_image(source, size, self.settings.fit, self._fill)
        return self._fitted

    def _advance(self, timestamp_ms: int) -> None:
        """Decode up to the video frame due at this time; a stall of over a second skips ahead."""
        if self._start_ms is None:
            self._start_ms = timestamp_ms
        due = int((timestamp_ms - self._start_ms) / 1000.0 * self._video.fps)
        while self._index < due:
            try:
                raw = self._video.read_image()
            except CaptureError:
                log.warning("background video %s stopped decoding; keeping its last frame", self.settings.video)
                self._index = due
                break
            self._index += 1
            self._raw, self._fitted = raw, None
            if due - self._index > self._video.fps:
                self._index = due

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        alpha = masks["person"]
        background = self.background((image.shape[1], image.shape[0]), timestamp_ms)
        foreground = light_wrap(image, background, alpha, self.settings.light_wrap, self._workspace)
        return blend_into(background.copy(), foreground, alpha, self._workspace)

    def close(self) -> None:
        """Release the background video's decoder."""
        if self._video is not None:
            self._video.close()
            self._video = None
