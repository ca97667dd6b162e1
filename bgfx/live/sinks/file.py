"""Sink `file`: the output written to a video file, for recordings and tests; `bgfx process` writes with it too.

The container follows the extension: .mp4, .mov and .mkv with MPEG-4 Part 2, .avi with Motion JPEG,
.webm with VP8 (what OpenCV's own FFmpeg build writes everywhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgfx.errors import SinkError
from bgfx.live.sinks.base import Check, SinkKind, always_read

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings


VIDEO_FOURCC = {".mp4": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG", ".webm": "VP80"}


class FileSink:
    """A video file of the type its extension names; grey=True writes single-channel images (an alpha video)."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, *, grey: bool = False) -> None:
        fourcc = VIDEO_FOURCC.get(path.suffix.lower())
        if fourcc is None:
            raise SinkError(f"{path}: a video is written as {', '.join(VIDEO_FOURCC)}; change the extension")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SinkError(f"{path}: cannot create its folder ({e.strerror}); choose another path") from None
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size, isColor=not grey)
        if not self._writer.isOpened():
            raise SinkError(f"{path}: cannot write a video here; check the folder and its permissions")
        self.path = path

    def send(self, image: np.ndarray) -> None:
        self._writer.write(image)

    readers = staticmethod(always_read)

    def close(self) -> None:
        self._writer.release()


def _open(settings: OutputSettings, size: tuple[int, int], fps: float) -> FileSink:
    if settings.path is None:
        raise SinkError("output.path: the file sink needs a path to write to")
    return FileSink(settings.path, size, fps)


def _doctor(settings: OutputSettings, size: tuple[int, int], fps: float) -> list[Check]:
    if settings.path is None:
        return [Check("output (file)", "FAIL", "output.path is not set", "set output.path to the video to write")]
    return [Check("output (file)", "ok", f"writes {settings.path}")]


KIND = SinkKind("file", _open, _doctor)
