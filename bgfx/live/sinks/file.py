"""Sink `file`: the output written to a video file (mp4v), for recordings and tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgfx.errors import SinkError
from bgfx.live.sinks.base import Check, SinkKind, always_read

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings


class FileSink:
    """An mp4 file; grey=True writes single-channel images (an alpha video) as grey."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, *, grey: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size, isColor=not grey)
        if not self._writer.isOpened():
            raise SinkError(f"{path}: cannot write a video here; check the folder and the .mp4 extension")
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


KIND = SinkKind("file", "a video file (output.path)", _open, _doctor)
