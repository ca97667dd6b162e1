"""Files that `bgfx process` and `bgfx segment` read and write, handled so that no run loses a file.

- An output that is an input, or another output (the same path once resolved, or the same inode through a
  link), is refused before anything opens.
- Outputs are written under a temporary name beside the target, with the same extension (OpenCV picks
  the container by it), checked, and renamed over the target only when complete: an interrupted or
  failing run leaves the target as it was and no partial file behind.
- Pictures are sized from their header before they are decoded: a huge or sliver-thin image is refused
  with its size and the limits, never decoded into gigabytes or passed to a resize that aborts.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from bgfx.atomic_file import AtomicFile
from bgfx.errors import BgfxError, InputError
from bgfx.vision.imaging import check_size

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class Interrupted(BgfxError):
    """SIGINT or SIGTERM during a run: what was being written is removed."""

    exit_code = 130


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def refuse_overlaps(inputs: list[Path], outputs: list[Path]) -> None:
    """InputError naming the pair when an output is an input or another output; checked before any file opens."""
    taken = {key: ("an input", path) for path in inputs for key in _identities(path)}
    for path in outputs:
        keys = _identities(path)
        for key in keys:
            if key in taken:
                role, first = taken[key]
                raise InputError(f"{path}: this output is {role} too ({first}); choose another output name")
        taken.update({key: ("another output", path) for key in keys})


def _identities(path: Path) -> list[object]:
    """The resolved path, and the (device, inode) pair when the file exists."""
    keys: list[object] = [os.path.realpath(path)]
    try:
        status = os.stat(path)
        keys.append((status.st_dev, status.st_ino))
    except OSError:
        pass
    return keys


def read_photo(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 BGR; the type is told by content and the size by the header, before decoding."""
    try:
        with Image.open(path) as header:
            width, height = header.size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"{path}: not a readable image (PNG, JPEG, WebP, BMP, TIFF): {e.__class__.__name__}") from None
    check_size(width, height, path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: the image could not be decoded (corrupt or unsupported)")
    return image


class OutputFile(AtomicFile):
    """An `AtomicFile` for `bgfx process`'s outputs (a new file's usual mode, like any program's output): a missing
    or unwritable folder, or a failed flush or rename, is an InputError naming the output and the fix."""

    def __enter__(self) -> Path:
        folder = self.target.parent
        if not folder.is_dir():
            raise InputError(f"{self.target}: the folder {folder} does not exist; create it or choose another output")
        try:
            return super().__enter__()
        except OSError as e:
            raise InputError(f"{self.target}: cannot write in {folder} ({e.strerror}); choose another output") from None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        try:
            super().__exit__(kind, error, trace)
        except OSError as e:
            raise InputError(f"{self.target}: cannot be written ({e.strerror}); choose another output") from None


def write_image(target: Path, image: np.ndarray) -> None:
    """Write an image of the type `target`'s extension names, atomically; InputError with the path on failure."""
    if not is_image(target):
        raise InputError(f"{target}: a picture is written as {', '.join(IMAGE_SUFFIXES)}; change the extension")
    with OutputFile(target) as temporary:
        if not cv2.imwrite(str(temporary), image):
            raise InputError(f"{target}: the image could not be written (disk full?); nothing was changed")


def check_video(path: Path, frames: int, target: Path) -> None:
    """After writing: the file must open and hold every frame (a full disk leaves it short or unreadable)."""
    capture = cv2.VideoCapture(str(path))
    try:
        readable = capture.isOpened() and capture.read()[0]
        counted = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if readable else 0
    finally:
        capture.release()
    if counted != frames:
        raise InputError(f"{target}: the video could not be written completely ({counted} of {frames} frames readable; "
                         "disk full?); nothing was changed")
