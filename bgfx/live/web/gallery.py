"""The backgrounds folder (`~/.local/share/bgfx/backgrounds/`): list, thumbnails, uploads, deletion.

Uploads are untrusted bytes from a browser. The server streams them into a
temporary file in this folder (never a whole body in memory) and hands the
file here: the type told by content (Pillow's header parse for images; the
container's magic and a first decoded frame for videos), never by the name or
the declared type; pixel limits before decoding; a quota on the count and the
bytes of the gallery; kept under a generated name (a hash of the content and
the type's extension) by one rename, never a name the client chose.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
import unicodedata
from pathlib import Path

import cv2
import platformdirs
from PIL import Image, UnidentifiedImageError

from bgfx.errors import InputError
from bgfx.vision.imaging import check_size

MAX_BYTES = 64 * 1024 * 1024  # one upload
MAX_PICTURES = 100  # backgrounds kept
MAX_TOTAL_BYTES = 500 * 1024 * 1024  # all of them together
MAX_NAME_CHARS = 255  # an upload's file name (a typical file system's limit)
MAX_VIDEO_SIDE = 4096
IMAGE_TYPES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}
VIDEO_MAGIC = ((4, b"ftyp", "mp4"), (0, b"\x1a\x45\xdf\xa3", "mkv"))
NAME = re.compile(r"[0-9a-f]{16}\.(jpg|png|webp|bmp|mp4|mkv)")
TEMPORARY_PREFIX = ".upload-"
THUMB_WIDTH = 192
HASH_CHUNK = 1024 * 1024

_keeping = threading.Lock()  # the quota check and the rename, one upload at a time


class UploadError(ValueError):
    """An upload refused, with the reason a person can act on; `status` is the HTTP status to answer."""

    status = 400


class TooLarge(UploadError):
    status = 413


class GalleryFull(UploadError):
    status = 507


def folder() -> Path:
    return platformdirs.user_data_path("bgfx") / "backgrounds"


def _kept(directory: Path) -> list[tuple[Path, os.stat_result]]:
    """The backgrounds there as (path, lstat): regular files under a generated name, never a symlink."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if NAME.fullmatch(path.name):
            try:
                status = path.lstat()
            except FileNotFoundError:  # deleted meanwhile
                continue
            if stat.S_ISREG(status.st_mode):
                found.append((path, status))
    return found


def entries(directory: Path) -> list[dict[str, str]]:
    """The backgrounds there: name, kind (image/video) and absolute path, newest first."""
    found = sorted(_kept(directory), key=lambda kept: kept[1].st_mtime, reverse=True)
    return [{"name": p.name, "kind": "video" if p.suffix in (".mp4", ".mkv") else "image", "path": str(p)} for p, _ in found]


def resolve(directory: Path, name: str) -> Path:
    """The file of a background name; UploadError for any name bgfx did not make (no traversal) or
    anything there that is not a regular file (a planted symlink or FIFO is never followed)."""
    if not NAME.fullmatch(name):
        raise UploadError(f"{name[:80]!r} is not a background name")
    path = directory / name
    try:
        regular = stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        regular = False
    if not regular:
        raise UploadError(f"no background {name}")
    return path


def check_filename(filename: str | None) -> None:
    """The name the browser sent (only shown, never used for storing): refused when it could not be a
    file's name, so a client learns its upload was malformed rather than seeing it renamed silently."""
    if not filename:
        raise UploadError('the file name is missing: send the file as multipart field "file" with a filename')
    if len(filename) > MAX_NAME_CHARS:
        raise UploadError(f"the file name has {len(filename)} characters: at most {MAX_NAME_CHARS}")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in filename) or "/" in filename or "\\" in filename:
        raise UploadError("the file name holds a control character or a path separator: rename the file")


def check_room(directory: Path, adding: int = 0, replacing: str = "") -> None:
    """GalleryFull when one more background of `adding` bytes would pass MAX_PICTURES or MAX_TOTAL_BYTES
    (the background named `replacing`, the same content again, is not counted: it would replace itself)."""
    kept = [(path, status) for path, status in _kept(directory) if path.name != replacing]
    total = sum(status.st_size for _, status in kept)
    if len(kept) >= MAX_PICTURES or total + adding > MAX_TOTAL_BYTES:
        raise GalleryFull(
            f"the gallery is full ({len(kept)} backgrounds, {total // 2**20} MiB of at most {MAX_PICTURES} and "
            f"{MAX_TOTAL_BYTES // 2**20} MiB): delete some to make room"
        )


def new_temporary(directory: Path) -> tuple[int, Path]:
    """(descriptor, path) of a fresh 0600 file in the folder for an upload to stream into."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{TEMPORARY_PREFIX}{os.urandom(8).hex()}"
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), path


def keep(directory: Path, temporary: Path) -> str:
    """Check a fully received upload on disk and rename it to its generated name; that name.
    The caller removes `temporary` whatever happens (after a rename it is gone already)."""
    extension = _image_type(temporary) or _video_type(temporary)
    if extension is None:
        raise UploadError("not an image (JPEG, PNG, WebP, BMP) or a video (MP4, MKV/WebM) by its content")
    if extension in ("mp4", "mkv"):
        _check_video(temporary)
    name = f"{_digest(temporary)[:16]}.{extension}"
    with _keeping:
        check_room(directory, temporary.stat().st_size, replacing=name)
        os.replace(temporary, directory / name)
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


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _image_type(path: Path) -> str | None:
    """The extension of an image file told by its header, checked for pixel count before any decode."""
    try:
        with Image.open(path) as header:
            kind, (width, height) = header.format, header.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    if kind not in IMAGE_TYPES:
        return None
    try:
        check_size(width, height, "the upload")
    except InputError as e:
        raise UploadError(str(e)) from None
    if cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_8) is None:
        raise UploadError(f"a {kind} image that does not decode (truncated or corrupt)")
    return IMAGE_TYPES[kind]


def _video_type(path: Path) -> str | None:
    with path.open("rb") as file:
        head = file.read(16)
    for offset, magic, extension in VIDEO_MAGIC:
        if head[offset : offset + len(magic)] == magic:
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
