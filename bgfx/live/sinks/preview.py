"""Sink `preview`: a window on the desktop (needs a display), to see what a call would see."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgfx.live.sinks.base import SinkKind, always_read, nothing_to_check

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings


class PreviewSink:
    def __init__(self, title: str = "bgfx") -> None:
        self.title = title

    def send(self, image: np.ndarray) -> None:
        cv2.imshow(self.title, image)
        cv2.waitKey(1)

    readers = staticmethod(always_read)

    def close(self) -> None:
        cv2.destroyWindow(self.title)


def _open(settings: OutputSettings, size: tuple[int, int], fps: float) -> PreviewSink:
    return PreviewSink()


KIND = SinkKind("preview", _open, nothing_to_check("preview"))
