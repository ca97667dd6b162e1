"""A pyvirtualcam backend that stands in for v4l2loopback (which these machines cannot load).

Registered through pyvirtualcam's own registry, it is the lowest seam: the
daemon opens `pyvirtualcam.Camera(..., backend="fakecam")` exactly as it opens
the real device. Each frame appends a line to `frames.log` in
$BGFX_FAKECAM_DIR: monotonic time, and the share of pure-green pixels (what a
`replace` with colour #00FF00 leaves); every 5th frame is also saved as
`latest.png` (atomically), for tests in another process to read. With no
device asked for, it "opens" $BGFX_FAKECAM_NODE when set, as v4l2loopback picks
the first free device.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pyvirtualcam


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey picture at 1/4 size: high for a camera frame, near 0 for a blur."""
    grey = cv2.cvtColor(cv2.resize(image, (image.shape[1] // 4, image.shape[0] // 4), interpolation=cv2.INTER_AREA),
                        cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


class FakeCam:
    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: object) -> None:
        self.width, self.height = width, height
        self._device = device or os.environ.get("BGFX_FAKECAM_NODE") or "/dev/video-fake"
        self.directory = Path(os.environ["BGFX_FAKECAM_DIR"])
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log = open(self.directory / "frames.log", "a", buffering=1)
        self._count = 0

    def send(self, frame: np.ndarray) -> None:
        image = frame.reshape(self.height, self.width, 3)
        green = float(((image[..., 1] == 255) & (image[..., 0] == 0) & (image[..., 2] == 0)).mean())
        self._log.write(f"{time.monotonic():.4f} {green:.4f} {sharpness(image):.2f}\n")
        self._count += 1
        if self._count % 5 == 1:
            tmp = self.directory / "latest.tmp.png"
            cv2.imwrite(str(tmp), image)
            os.replace(tmp, self.directory / "latest.png")

    def close(self) -> None:
        self._log.close()

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int | None:
        return None


def register() -> None:
    pyvirtualcam.register_backend("fakecam", FakeCam)
