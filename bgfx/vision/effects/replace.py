"""`replace`: the background becomes an image, a looping video or a solid colour.

Validating the schema checks the file without decoding it (loading a config, `set`, a reload and `bgfx
doctor` stay cheap): a regular file (a FIFO or device would hang the reader), a picture by content within
the pixel limit from its header, a video's first frame within MAX_VIDEO_PIXELS. The runtime is built on
the worker (chain preparation): the image is decoded there, and fitted to each frame size by a loader
thread; a video plays on its own thread (`VideoPlayer`). The frame thread only takes ready pictures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, Mapping

import numpy as np

from bgfx.errors import CaptureError, InputError
from bgfx.vision.effects.composite import Workspace, blend_into, light_wrap
from bgfx.vision.imaging import fit_image, parse_colour, picture_size, read_picture
from bgfx.vision.loader import Loader
from bgfx.vision.resize import shrink
from bgfx.vision.video import VideoFile, VideoPlayer

MAX_VIDEO_PIXELS = 4096 * 2304  # 4K UHD (3840x2160) fits; larger is refused before it costs a frame of decoding
KEPT_PIXELS = 3840 * 2160  # a decoded background larger than 4K is shrunk to it on the worker (memory, fit cost)
PREVIEW_SIDE = 160  # px, the longer side of the small copy shown for the few frames a new size takes to fit


def _check_video(path: Path) -> None:
    """ValueError naming the file and the fix unless it opens, decodes and is within MAX_VIDEO_PIXELS."""
    try:
        video = VideoFile(path)  # a regular file only; opens and decodes the first frame only
    except CaptureError as e:
        raise ValueError(str(e)) from None
    video.close()
    width, height = video.size
    if width * height > MAX_VIDEO_PIXELS:
        raise ValueError(f"{path}: a {width}x{height} video is over the {MAX_VIDEO_PIXELS / 1e6:.1f} MP limit of a "
                         "background; scale it down first (4K UHD fits)")


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
        try:
            if self.image is not None:
                picture_size(self.image)  # regular file, a picture by content, within the pixel limit: header only
            if self.video is not None:
                _check_video(self.video)
        except ValueError as e:
            raise ValueError(f"{given[0]}: {e}") from None

    def prepare(self) -> ReplaceRuntime:
        return ReplaceRuntime(self)


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    """(h, w, 3) uint8 shrunk by scale (area-averaged); the image itself when scale >= 1."""
    if scale >= 1:
        return image
    height, width = image.shape[:2]
    return shrink(image, (max(1, round(width * scale)), max(1, round(height * scale))))


class ReplaceRuntime:
    """The decoded image (fitted per size by a loader thread) or the video's player, and the blend buffers.

    Built on the worker: a bad file raises InputError there, and the running chain stays.
    """

    def __init__(self, settings: Replace) -> None:
        self.settings = settings
        self._fill = settings.colour or (0, 0, 0)
        self._still: np.ndarray | None = None
        self._preview: np.ndarray | None = None
        self._player: VideoPlayer | None = None
        self._fitter: Loader[np.ndarray] = Loader("background")
        if settings.image is not None:
            decoded = read_picture(settings.image)
            height, width = decoded.shape[:2]
            self._still = _scaled(decoded, (KEPT_PIXELS / (width * height)) ** 0.5)
            self._preview = _scaled(decoded, PREVIEW_SIDE / max(width, height))
        if settings.video is not None:
            try:
                video = VideoFile(settings.video, loop=True)
            except CaptureError as e:
                raise InputError(str(e)) from None
            self._player = VideoPlayer(video, lambda image, size: fit_image(image, size, settings.fit, self._fill))
        self._fitted: np.ndarray | None = None
        self._workspace = Workspace()

    def background(self, size: tuple[int, int], timestamp_ms: int) -> np.ndarray:
        """(h, w, 3) uint8 background for a frame of size (w, h); shared, do not modify.

        Never decodes or scales a full picture here: an image's fit for a new size is asked of the loader
        and, until ready, the small preview stands in; a video shows its player's newest frame (its last
        one, or the fill colour, until one of this size is ready).
        """
        if self._player is not None:
            latest = self._player.frame(size)
            self._fitted = latest if latest is not None else self._fitted
        elif self._still is not None and not self._fits(size):
            still, fit, fill = self._still, self.settings.fit, self._fill
            self._fitter.ask(size, lambda: fit_image(still, size, fit, fill))
            self._fitted = self._fitter.take(size)
        elif self._still is None and not self._fits(size):
            self._fitted = np.full((size[1], size[0], 3), self._fill, np.uint8)
        return self._fitted if self._fits(size) else self._stand_in(size)

    def _fits(self, size: tuple[int, int]) -> bool:
        return self._fitted is not None and self._fitted.shape[1::-1] == size

    def _stand_in(self, size: tuple[int, int]) -> np.ndarray:
        """The preview fitted (cheap: at most PREVIEW_SIDE px a side), or the fill colour, at size (w, h)."""
        if self._preview is not None:
            return fit_image(self._preview, size, self.settings.fit, self._fill)
        return np.full((size[1], size[0], 3), self._fill, np.uint8)

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        alpha = masks["person"]
        background = self.background((image.shape[1], image.shape[0]), timestamp_ms)
        foreground = light_wrap(image, background, alpha, self.settings.light_wrap, self._workspace)
        return blend_into(background.copy(), foreground, alpha, self._workspace)

    def close(self) -> None:
        """Stop the background video's thread and release its decoder."""
        if self._player is not None:
            self._player.close()
            self._player = None
