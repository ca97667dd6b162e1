"""`replace`: the background becomes an image, a looping video or a solid colour.

The image is read at construction and fitted to the frame size once (cached
by size). A video is decoded one frame at a time as the output clock reaches
it (frame timestamps, not call count, so pacing follows the output rate) and
loops at its end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into, fit_image, light_wrap, parse_colour

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replace:
    """Exactly one of image, video or colour; fit: cover (crop), contain (letterbox), stretch."""

    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    image: Path | None = None
    video: Path | None = None
    colour: tuple[int, int, int] | None = field(default=None, metadata={"parse": parse_colour})
    fit: Literal["cover", "contain", "stretch"] = "cover"
    light_wrap: float = field(default=0.0, metadata={"range": (0.0, 1.0)})
    _source: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _capture: cv2.VideoCapture | None = field(default=None, init=False, repr=False, compare=False)
    _state: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _workspace: Workspace = field(default_factory=Workspace, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        given = [name for name in ("image", "video", "colour") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"background: give exactly one of image, video or colour, got {', '.join(given) or 'none'}")
        if self.image is not None:
            source = cv2.imread(str(self.image), cv2.IMREAD_COLOR) if self.image.is_file() else None
            if source is None:
                raise ValueError(f"image: cannot read {self.image}: check that it exists and is a PNG or JPEG")
            object.__setattr__(self, "_source", source)
        if self.video is not None:
            capture = cv2.VideoCapture(str(self.video)) if self.video.is_file() else None
            ok, first = capture.read() if capture is not None and capture.isOpened() else (False, None)
            if not ok:
                raise ValueError(f"video: cannot read {self.video}: check that it exists and is a playable video file")
            fps = capture.get(cv2.CAP_PROP_FPS)
            object.__setattr__(self, "_capture", capture)
            self._state.update(fps=fps if fps > 0 else 30.0, index=0, raw=first, start_ms=None, prepared=None)

    def _background(self, size: tuple[int, int], timestamp_ms: int) -> np.ndarray:
        fill = self.colour or (0, 0, 0)
        if self._capture is not None:
            return self._video_frame(size, timestamp_ms, fill)
        key = ("still", size)
        if key not in self._state:
            if self._source is not None:
                self._state[key] = fit_image(self._source, size, self.fit, fill)
            else:
                self._state[key] = np.full((size[1], size[0], 3), fill, np.uint8)
        return self._state[key]

    def _video_frame(self, size: tuple[int, int], timestamp_ms: int, fill: tuple[int, int, int]) -> np.ndarray:
        state = self._state
        if state["start_ms"] is None:
            state["start_ms"] = timestamp_ms
        due = int((timestamp_ms - state["start_ms"]) / 1000.0 * state["fps"])
        while state["index"] < due:
            ok, raw = self._capture.read()
            if not ok:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, raw = self._capture.read()
                if not ok:
                    log.warning("background video %s stopped decoding; keeping its last frame", self.video)
                    break
            state["index"] += 1
            state["raw"], state["prepared"] = raw, None
            if due - state["index"] > state["fps"]:
                state["index"] = due
        if state["prepared"] is None or state["prepared"].shape[1::-1] != size:
            state["prepared"] = fit_image(state["raw"], size, self.fit, fill)
        return state["prepared"]

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        alpha = masks["person"]
        background = self._background((image.shape[1], image.shape[0]), timestamp_ms)
        foreground = light_wrap(image, background, alpha, self.light_wrap, self._workspace)
        return blend_into(background.copy(), foreground, alpha, self._workspace)
