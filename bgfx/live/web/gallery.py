"""The backgrounds folder (`~/.local/share/bgfx/backgrounds/`): list, thumbnails, uploads, deletion.

Uploads are untrusted bytes from a browser: a size limit; the type told by
content (Pillow's header parse for images; the container's magic and a first
decoded frame for videos), never by the name or the declared type; pixel
limits before decoding; stored under a generated name (a hash of the content
and the type's extension) inside the folder, never a name the client chose.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

import cv2
import numpy as np
import platformdirs
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40 MP photo; a decompression bomb claims far more
MAX_VIDEO_SIDE = 4096
IMAGE_TYPES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}
VIDEO_MAGIC = ((4, b"ftyp", "mp4"), (0, b"\x1a\x45\xdf\xa3", "mkv"))
NAME = re.compile(r"[0-9a-f]{16}\.(jpg|png|webp|bmp|mp4|mkv)")
THUMB_WIDTH = 192


class UploadError(ValueError):
    """An upload refused, with the reason a person can act on."""


def folder() -> Path:
    return platformdirs.user_data_path("bgfx") / "backgrounds"


def entries(directory: Path) -> list[dict[str, str]]:
    """The backgrounds there: name, kind (image/video) and absolute path, newest first."""
    if not directory.is_dir():
        return []
    found = [path for path in directory.iterdir() if NAME.fullmatch(path.name) and path.is_file()]
    found.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    return [{"name": p.name, "kind": "video" if p.suffix in (".mp4", ".mkv") else "image", "path": str(p)} for p in found]


def resolve(directory: Path, name: str) -> Path:
    """The file of a background name; UploadError for any name bgfx did not make (no traversal)."""
    if not NAME.fullmatch(name):
        raise UploadError(f"{name[:80]!r} is not a background name")
    path = directory / name
    if not path.is_file():
        raise UploadError(f"no background {name}")
    return path


def store(directory: Path, data: bytes) -> str:
    """Check an upload and keep it; its generated name."""
    if len(data) > MAX_BYTES:
        raise UploadError(f"over {MAX_BYTES // (1024 * 1024)} MiB")
    extension = _image_type(data) or _video_type(data)
    if extension is None:
        raise UploadError("not an image (JPEG, PNG, WebP, BMP) or a video (MP4, MKV/WebM) by its content")
    name = f"{hashlib.sha256(data).hexdigest()[:16]}.{extension}"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        if extension in ("mp4", "mkv"):
            _check_video(Path(temporary))
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return name


def thumbnail(path: Path) -> bytes:
    """A JPEG about THUMB_WIDTH px wide of an image or a video's first frame."""
    if path.suffix in (".mp4", ".mkv"):
        capture = cv2.VideoCapture(str(path))
        ok, picture = capture.read()
        capture.release()
        if not ok:
            raise UploadError(f"{path.name}: cannot decode its first frame")
    else:
        picture = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_4)
        if picture is None:
            raise UploadError(f"{path.name}: cannot decode it")
    height = max(1, round(picture.shape[0] * THUMB_WIDTH / picture.shape[1]))
    small = cv2.resize(picture, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()


def _image_type(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as header:
            kind, (width, height) = header.format, header.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    if kind not in IMAGE_TYPES:
        return None
    if width * height > MAX_PIXELS or min(width, height) < 16:
        raise UploadError(f"a {width}x{height} image: backgrounds must have 16 px to {MAX_PIXELS // 1_000_000} MP")
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_8) is None:
        raise UploadError(f"a {kind} image that does not decode (truncated or corrupt)")
    return IMAGE_TYPES[kind]


def _video_type(data: bytes) -> str | None:
    for offset, magic, extension in VIDEO_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return extension
    return None


def _check_video(path: Path) -> None:
    capture = cv2.VideoCapture(str(path))
    ok, first = capture.read()
    capture.release()
    if not ok or first is None:
        raise UploadError("a video container whose first frame does not decode")
    if max(first.shape[:2]) > MAX_VIDEO_SIDE:
        raise UploadError(f"a {first.shape[1]}x{first.shape[0]} video: at most {MAX_VIDEO_SIDE} px a side")
