"""Where frames go: the virtual camera (pyvirtualcam), a video file, a preview window, or nowhere.

Every sink takes (H, W, 3) uint8 BGR images of the size it was opened with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import pyvirtualcam

from bgfx.errors import SinkError

log = logging.getLogger(__name__)

LOOPBACK_HELP = (
    "no v4l2loopback device is available. Load the module with\n"
    "  sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgfx\n"
    "and to load it at every boot:\n"
    "  echo v4l2loopback | sudo tee /etc/modules-load.d/v4l2loopback.conf\n"
    "  echo 'options v4l2loopback devices=1 exclusive_caps=1 card_label=bgfx' | "
    "sudo tee /etc/modprobe.d/v4l2loopback.conf\n"
    "(package v4l2loopback-dkms on Debian/Ubuntu, v4l2loopback-dkms or akmod-v4l2loopback elsewhere)"
)


class Sink(Protocol):
    def send(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class VirtualCamera:
    """A pyvirtualcam camera; `backend` names a registered pyvirtualcam backend (None = default)."""

    def __init__(self, size: tuple[int, int], fps: float, *, device: str | None, backend: str | None) -> None:
        if backend is not None and backend not in pyvirtualcam.camera.BACKENDS:
            known = ", ".join(pyvirtualcam.camera.BACKENDS) or "none"
            raise SinkError(f"output.backend: no pyvirtualcam backend {backend!r}; registered: {known}")
        try:
            self._camera = pyvirtualcam.Camera(
                size[0], size[1], fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device, backend=backend
            )
        except RuntimeError as e:
            if "loopback" in str(e) or backend in (None, "v4l2loopback"):
                target = f"device {device}: " if device else ""
                raise SinkError(f"virtual camera: {target}{LOOPBACK_HELP}\n(pyvirtualcam said: {e})") from None
            raise SinkError(f"virtual camera ({backend}): {e}") from None
        self.device = self._camera.device
        log.info("virtual camera %s open at %dx%d@%g", self.device, size[0], size[1], fps)

    def send(self, image: np.ndarray) -> None:
        self._camera.send(image)

    def close(self) -> None:
        self._camera.close()


class FileSink:
    """An mp4 file (mp4v); grey=True writes a single-channel image (an alpha video) as grey."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, *, grey: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size, isColor=not grey)
        if not self._writer.isOpened():
            raise SinkError(f"{path}: cannot write a video here; check the folder and the .mp4 extension")
        self.path = path

    def send(self, image: np.ndarray) -> None:
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()


class PreviewSink:
    """A window on the desktop (needs a display)."""

    def __init__(self, title: str = "bgfx") -> None:
        self.title = title

    def send(self, image: np.ndarray) -> None:
        cv2.imshow(self.title, image)
        cv2.waitKey(1)

    def close(self) -> None:
        cv2.destroyWindow(self.title)


class NullSink:
    """Drops frames: for benchmarks and headless tests."""

    def send(self, image: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass


def open_sink(
    kind: str, size: tuple[int, int], fps: float, *, device: str | None = None,
    backend: str | None = None, path: Path | None = None,
) -> Sink:
    if kind == "virtualcam":
        return VirtualCamera(size, fps, device=device, backend=backend)
    if kind == "file":
        if path is None:
            raise SinkError("output.path: the file sink needs a path to write to")
        return FileSink(path, size, fps)
    if kind == "preview":
        return PreviewSink()
    if kind == "null":
        return NullSink()
    raise SinkError(f"output.sink: unknown sink {kind!r}; valid: virtualcam, file, preview, null")
