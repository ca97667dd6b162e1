"""`bgfx process` and `bgfx segment` never lose a file: outputs that are inputs are refused, outputs appear only
when complete, and an interrupted, failing or short run leaves no partial file. Photos in, photos out."""

from __future__ import annotations

import os
import resource
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, TESTDATA, VIDEO

pytestmark = pytest.mark.e2e

STREET = TESTDATA / "stills" / "woman-5883428_1280.jpg"


def bgfx(*args: object, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bgfx", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, **kw)


def one_line_error(result: subprocess.CompletedProcess, status: int, text: str) -> None:
    assert result.returncode == status, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("bgfx: error:")]
    assert len(lines) == 1 and text in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    """A 60-frame copy of the desk video (quick to process)."""
    path = tmp_path / "clip.mp4"
    capture, writer = cv2.VideoCapture(str(VIDEO)), cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (960, 540))
    for _ in range(60):
        writer.write(capture.read()[1])
    writer.release()
    capture.release()
    return path


def test_an_output_that_is_an_input_or_another_output_is_refused_before_anything_opens(clip: Path, tmp_path: Path) -> None:
    before = clip.read_bytes()
    one_line_error(bgfx("process", clip, clip), 66, "this output is an input too")
    os.link(clip, tmp_path / "same.mp4")  # another name for the same file
    one_line_error(bgfx("process", clip, tmp_path / "same.mp4"), 66, "this output is an input too")
    one_line_error(bgfx("process", clip, tmp_path / "o.mp4", "--alpha-out", clip), 66, "is an input too")
    one_line_error(bgfx("process", clip, tmp_path / "o.mp4", "--alpha-out", tmp_path / "sub" / ".." / "o.mp4"), 66,
                   "is another output too")
    assert clip.read_bytes() == before and not (tmp_path / "o.mp4").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_run_leaves_the_old_output_and_no_partial_file(clip: Path, tmp_path: Path, sig, status) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"yesterday's render")
    process = subprocess.Popen([sys.executable, "-m", "bgfx", "process", str(clip), str(target)], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not leftovers(tmp_path) and time.monotonic() < deadline:  # writing has begun
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert "interrupted after" in stderr and "nothing was written to" in stderr and "Traceback" not in stderr
    assert target.read_bytes() == b"yesterday's render" and leftovers(tmp_path) == []


def test_a_full_disk_is_an_error_and_leaves_nothing(clip: Path, tmp_path: Path) -> None:
    def small_disk() -> None:  # writes past 200 KiB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    result = bgfx("process", "-q", clip, tmp_path / "out.mp4", preexec_fn=small_disk)
    one_line_error(result, 66, "could not be written completely")
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_an_input_that_ends_early_is_reported_and_nothing_written(tmp_path: Path) -> None:
    avi = tmp_path / "cut.avi"  # MJPG in AVI: the header says 100 frames; cut the file to a third
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(100):
        writer.write(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    writer.release()
    data = avi.read_bytes()
    avi.write_bytes(data[: len(data) // 3])
    result = bgfx("process", "-q", avi, tmp_path / "out.mp4")
    one_line_error(result, 66, "the video ends early (truncated or corrupt); nothing was written")
    assert "decoded " in result.stderr and " of 100 frames" in result.stderr
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (its pixel data is a stub: only the header is read)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("size", "command"), [((16000, 16000), "process"), ((16000, 1), "process"), ((16000, 1), "segment")])
def test_pictures_are_sized_from_their_header_before_decoding(tmp_path: Path, size, command: str) -> None:
    photo = tmp_path / "huge.png"
    photo.write_bytes(png_header(*size))
    args = ("process", photo, tmp_path / "o.png") if command == "process" else ("segment", photo, "--out", tmp_path / "m")
    result = bgfx(*args)
    one_line_error(result, 66, f"{size[0]}x{size[1]} pixels cannot be processed; bgfx takes pictures of at most 40 megapixels")


def test_segment_output_folder_errors_are_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    one_line_error(bgfx("segment", STREET, "--out", not_a_folder), 66, f"{not_a_folder}: cannot be the output folder")
    one_line_error(bgfx("segment", STREET, "--out", "/proc/bgfx-test"), 66, "/proc/bgfx-test: cannot be the output folder")
    assert not_a_folder.read_text() == "x"


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".jpg", b"\xff\xd8\xff"), (".webp", b"RIFF")])
def test_a_photo_becomes_a_picture_of_the_type_its_extension_names(tmp_path: Path, suffix: str, magic: bytes) -> None:
    target = tmp_path / f"out{suffix}"
    assert bgfx("process", STREET, target).returncode == 0
    assert target.read_bytes()[: len(magic)] == magic
    out, original = cv2.imread(str(target)), cv2.imread(str(STREET))
    assert out.shape == original.shape
    face = (slice(280, 460), slice(560, 760))  # her face: kept
    corner = (slice(0, 200), slice(0, 300))  # the street: blurred
    assert np.abs(out[face].astype(int) - original[face]).mean() < 8
    sharpness = lambda image: cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    assert sharpness(out[corner]) < 0.5 * sharpness(original[corner])
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # like any new file, not 0600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_many_photos_into_a_folder_and_the_alpha_of_one(tmp_path: Path) -> None:
    stills = sorted((TESTDATA / "stills").glob("*.jpg"))
    result = bgfx("process", *stills, "--out", tmp_path / "done")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == sorted(p.name for p in stills)
    alpha = tmp_path / "alpha.png"
    assert bgfx("process", STREET, tmp_path / "one.png", "--alpha-out", alpha).returncode == 0
    mask = cv2.imread(str(alpha), cv2.IMREAD_GRAYSCALE)
    assert mask[350, 660] == 255 and mask[50, 1200] == 0  # her face in, the street out
    one_line_error(bgfx("process", STREET, tmp_path / "o.mp4"), 66, "a photo's output is a picture")
    one_line_error(bgfx("process", STREET), 78, "process takes INPUT OUTPUT, or INPUT... --out DIR")


def test_a_video_goes_to_the_container_its_extension_names(clip: Path, tmp_path: Path) -> None:
    for suffix in (".mkv", ".avi", ".webm"):
        target = tmp_path / f"out{suffix}"
        assert bgfx("process", "-q", clip, target).returncode == 0
        capture = cv2.VideoCapture(str(target))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 60 and capture.read()[1].shape == (540, 960, 3)
        capture.release()
    one_line_error(bgfx("process", clip, tmp_path / "out.gif"), 66, "a video is written as .mp4, .mov, .mkv, .avi, .webm")
