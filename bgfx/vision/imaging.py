"""Pictures for backgrounds, the pause card and photos: the one policy for reading them, fitting, colours.

`read_picture` and `picture_size` take regular files only (a FIFO or device would block the reader), tell
the type by content and the size from the header, and refuse past `check_size`'s limits before decoding: the
same limits for `bgfx process`, uploads, backgrounds and the pause image. `fit_image` brings a picture to
the output size once, never per frame; `parse_colour` turns what a user writes in YAML into OpenCV's BGR.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from bgfx.errors import InputError


def fit_image(image: np.ndarray, size: tuple[int, int], mode: str, fill: tuple[int, int, int]) -> np.ndarray:
    """(h, w, 3) uint8 BGR → size (w, h): `cover` crops, `contain` letterboxes with fill (BGR), `stretch` distorts."""
    width, height = size
    if mode == "stretch":
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    src_h, src_w = image.shape[:2]
    scale = (max if mode == "cover" else min)(width / src_w, height / src_h)
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if mode == "cover":
        x, y = (new_w - width) // 2, (new_h - height) // 2
        return np.ascontiguousarray(resized[y : y + height, x : x + width])
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = fill
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = resized
    return canvas


def parse_colour(value: object) -> tuple[int, int, int]:
    """'#RRGGBB' or [R, G, B] (0..255) → (B, G, R) for OpenCV; ValueError saying what is accepted."""
    if isinstance(value, str) and len(value) == 7 and value.startswith("#"):
        try:
            r, g, b = (int(value[i : i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            raise ValueError(f"must be '#RRGGBB' or [R, G, B], got {value!r}") from None
        return b, g, r
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
    ):
        return value[2], value[1], value[0]
    raise ValueError(f"must be '#RRGGBB' or [R, G, B] with values 0..255, got {value!r}")


PICTURE_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "BMP", "TIFF"})  # as Pillow names them; OpenCV decodes each
MAX_PICTURE_BYTES = 256 * 1024 * 1024  # an uncompressed 40 MP TIFF is 120 MB; a longer file is not a picture we take
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"))


def _not_regular(path: Path, mode: int) -> ValueError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return ValueError(f"{path} is {kind}, not a regular file (reading it could block for ever); point the key at a regular picture or video file")


def open_regular(path: Path) -> BinaryIO:
    """The file opened for reading; ValueError naming it and the fix unless it is a regular file.

    Checked before opening (a device is never opened) and again on the open descriptor: a FIFO swapped in
    between, or reached through a symlink, is refused too, and O_NONBLOCK keeps even that open from waiting.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ValueError(f"cannot read {path}: no such file; check the path") from None
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}; check the path and its permissions") from None
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}; check the path and its permissions") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _not_regular(path, mode)
    return os.fdopen(fd, "rb")


def check_regular_file(path: Path) -> None:
    """ValueError unless path is a readable regular file (for a video, which OpenCV opens by name)."""
    open_regular(path).close()


# Pillow only reads headers here; `check_size` is the (stricter) bomb check, with the size in its message.
Image.MAX_IMAGE_PIXELS = None
MAX_PIXELS = 40_000_000  # 8K (33 MP) fits; a larger picture is refused (a decompression bomb claims far more)
MIN_SIDE = 16
MAX_ASPECT = 8.0  # wider than 8:1 cannot be scaled to a model's input without an absurd other side


def check_size(width: int, height: int, where: Path | str) -> None:
    """InputError unless a picture of this size can be processed: the one pixel policy of photos, backgrounds,
    the pause image and uploads (the limits are in the message)."""
    if width * height > MAX_PIXELS or min(width, height) < MIN_SIDE or max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError(
            f"{where}: {width}x{height} pixels cannot be processed; bgfx takes pictures of at most "
            f"{MAX_PIXELS // 1_000_000} megapixels, at least {MIN_SIDE} px a side, at most {MAX_ASPECT:g}:1; "
            "scale or crop it first"
        )


def _header_size(file: BinaryIO, path: Path) -> tuple[int, int]:
    """(w, h) from the picture's header, its type told by content; ValueError naming the file and the fix."""
    try:
        with Image.open(file) as header:
            size, kind = header.size, header.format
    except (UnidentifiedImageError, OSError):
        kind = None
    if kind not in PICTURE_FORMATS:
        raise ValueError(f"cannot read {path}: its content is not a PNG, JPEG, WebP, BMP or TIFF picture; give one of those")
    try:
        check_size(*size, path)
    except InputError as e:
        raise ValueError(str(e)) from None
    return size


def picture_size(path: Path) -> tuple[int, int]:
    """(w, h) of a picture from its header only, after the regular-file, type-by-content and pixel limits.

    ValueError naming the file and the fix; nothing is decoded, so a 400 MP bomb costs no memory.
    """
    with open_regular(path) as file:
        return _header_size(file, path)


def read_picture(path: Path) -> np.ndarray:
    """(h, w, 3) uint8 BGR of a picture within the limits of `picture_size`, from one open of the file.

    InputError naming the file and the fix when it is refused or will not decode; slow (up to a second for
    40 MP), so it runs on a worker or loader thread, never on the frame thread.
    """
    try:
        with open_regular(path) as file:
            _header_size(file, path)
            if os.fstat(file.fileno()).st_size > MAX_PICTURE_BYTES:
                raise ValueError(f"{path}: over {MAX_PICTURE_BYTES >> 20} MiB, too long for a picture; save it smaller")
            file.seek(0)
            data = np.frombuffer(file.read(), np.uint8)
    except ValueError as e:
        raise InputError(str(e)) from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: this picture cannot be decoded (corrupt or unsupported); try another file")
    return image
