"""Issue 22, the live loop stalls: backgrounds and the pause image are regular files within the pixel limit
(checked from the header, never decoded when refused), decoded and fitted off the frame thread, and a big
or fast background video is decoded on its own thread at a bounded cost; in a real daemon, a FIFO set as
the pause image is refused and pause/resume answer."""

from __future__ import annotations

import logging
import os
import resource
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
import pytest

from bgfx.config import parse
from bgfx.errors import ConfigError, InputError
from bgfx.live.cards import Cards
from bgfx.live.settings import PauseSettings
from bgfx.vision import imaging, video as video_module
from bgfx.vision.effects.replace import PREVIEW_SIDE, Replace
from bgfx.vision.imaging import open_regular, picture_size, read_picture
from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon


def big_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says width x height (one empty IDAT): what a bomb looks like to a header reader."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def errors_of(raw: dict, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(raw, "bgfx.yaml", tmp_path)
    return str(caught.value)


def until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.005)
    return result


def test_a_fifo_a_device_or_a_400_mp_picture_is_refused_at_validation_naming_the_key(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    (tmp_path / "link.png").symlink_to(fifo)
    bomb = big_png(tmp_path / "bomb.png", 20000, 20000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    text = errors_of({"pause": {"show": "image", "image": str(tmp_path / "link.png")},
                      "effects": [{"type": "replace", "image": str(bomb)}]}, tmp_path)
    assert "pause.image:" in text and "is a FIFO, not a regular file" in text, text
    assert "effects[0].image:" in text and "20000x20000 pixels" in text and "40 megapixels" in text, text
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: never decoded
    for device, kind in ((fifo, "a FIFO"), (Path("/dev/null"), "a character device"), (tmp_path, "a folder")):
        text = errors_of({"effects": [{"type": "replace", "video": str(device)}]}, tmp_path)
        assert "effects[0].video:" in text and f"is {kind}, not a regular file" in text, text


def test_the_type_is_told_by_content_not_by_the_name(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "photo.jpg"), np.full((40, 60, 3), 90, np.uint8))
    os.rename(tmp_path / "photo.jpg", tmp_path / "photo.png")  # a JPEG under a PNG name is still a picture
    assert picture_size(tmp_path / "photo.png") == (60, 40)
    (tmp_path / "gif.png").write_bytes(b"GIF89a" + struct.pack("<HH", 60, 40) + b"\x00" * 20)
    with pytest.raises(ValueError, match="its content is not a PNG, JPEG, WebP, BMP or TIFF picture"):
        picture_size(tmp_path / "gif.png")
    with pytest.raises(InputError, match="20000x20000 pixels"):
        read_picture(big_png(tmp_path / "bomb.png", 20000, 20000))


def test_a_fifo_swapped_in_after_the_check_is_refused_on_the_open_file_without_blocking(tmp_path: Path, monkeypatch) -> None:
    fifo = tmp_path / "late.png"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    monkeypatch.setattr(imaging.os, "stat", lambda path: regular)  # the check saw a regular file; then the FIFO
    with pytest.raises(ValueError, match="is a FIFO, not a regular file"):
        open_regular(fifo)  # O_NONBLOCK: the open does not wait for a writer; fstat refuses it


def decoder_threads(monkeypatch) -> list[str]:
    """The names of the threads that decode a picture (cv2.imdecode), recorded."""
    names: list[str] = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: names.append(threading.current_thread().name) or real(*a))
    return names


def test_the_pause_image_is_decoded_and_fitted_on_a_loader_thread_and_kept_across_a_reload(tmp_path: Path, monkeypatch) -> None:
    picture = tmp_path / "away.png"
    cv2.imwrite(str(picture), np.full((300, 400, 3), (0, 0, 250), np.uint8))
    decoders = decoder_threads(monkeypatch)
    settings = PauseSettings(show="image", image=picture, colour=(40, 40, 40))
    cards = Cards(settings, (160, 120))
    until(lambda: cards.show("", None)[5, 5].tolist() == [0, 0, 250], "pause picture")
    assert decoders == ["bgfx-pause-image"]  # not the frame (main) thread, and once
    again = Cards(settings, (160, 120), previous=cards)
    assert again.show("paused", None)[5, 5].tolist() == [0, 0, 250]  # ready at once, not decoded again
    assert decoders == ["bgfx-pause-image"]
    assert cards.show("", None)[60].max() < 255  # the caption drawn on `again` left the kept picture alone


def test_a_pause_image_gone_bad_after_the_check_shows_the_colour_with_one_line(tmp_path: Path, caplog) -> None:
    picture = tmp_path / "away.png"
    cv2.imwrite(str(picture), np.full((30, 40, 3), 250, np.uint8))
    settings = PauseSettings(show="image", image=picture, colour=(40, 40, 40))
    picture.write_bytes(picture.read_bytes()[:60])  # truncated after it was checked
    with caplog.at_level(logging.WARNING):
        cards = Cards(settings, (160, 120))
        until(lambda: "pause.image:" in caplog.text, "warning")
    assert cards.show("", None)[5, 5].tolist() == [40, 40, 40]
    assert "Traceback" not in caplog.text and "showing the colour instead" in caplog.text


def test_the_frame_thread_only_fits_the_small_preview_of_a_background_image(tmp_path: Path, monkeypatch) -> None:
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((1200, 1600, 3), 99, np.uint8))
    runtime = Replace(image=tmp_path / "wall.png").prepare()
    from bgfx.vision.effects import replace as replace_module
    fits: list[tuple[str, int]] = []
    real_fit = replace_module.fit_image
    monkeypatch.setattr(replace_module, "fit_image",
                        lambda image, *a: fits.append((threading.current_thread().name, max(image.shape[:2]))) or real_fit(image, *a))
    first = runtime.background((320, 240), 0)  # straight away: the preview stands in
    assert first.shape == (240, 320, 3) and abs(int(first.mean()) - 99) <= 1
    until(lambda: runtime._fitter.take((320, 240)) is not None, "fitted background")
    assert runtime.background((320, 240), 0) is runtime.background((320, 240), 0)
    on_frame_thread = [side for name, side in fits if name == threading.current_thread().name]
    assert on_frame_thread and max(on_frame_thread) <= PREVIEW_SIDE, fits
    assert ("bgfx-background", 1600) in fits  # the full picture was fitted on the loader thread
    runtime.close()


def write_clip(path: Path, size: tuple[int, int], fps: float, frames: int) -> Path:
    """A clip whose frame i has grey level 5 * i (so the frame shown tells where the clip is)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 5 * i, np.uint8))
    writer.release()
    return path


def test_a_999_fps_video_is_decoded_on_its_own_thread_at_most_max_step_frames_a_tick(tmp_path: Path, monkeypatch, caplog) -> None:
    clip = write_clip(tmp_path / "fast.mp4", (64, 48), 999, 40)
    reads: list[str] = []  # the thread of each read_image (one a tick)
    skipped: list[int] = []  # frames passed over, per skip
    real_read, real_skip = video_module.VideoFile.read_image, video_module.VideoFile.skip
    monkeypatch.setattr(video_module.VideoFile, "read_image",
                        lambda self: reads.append(threading.current_thread().name) or real_read(self))
    monkeypatch.setattr(video_module.VideoFile, "skip", lambda self, n: skipped.append(n) or real_skip(self, n))
    shown: set[int] = set()
    with caplog.at_level(logging.WARNING):
        runtime = Replace(video=clip).prepare()
        for _ in range(40):  # the frame thread at about 50 fps
            shown.add(int(runtime.background((64, 48), 0)[0, 0, 0]))
            time.sleep(0.02)
        runtime.close()
    assert reads and all(name.startswith("bgfx-video-") for name in reads), set(reads)  # never the frame thread
    assert len(shown) >= 5, shown  # frames keep flowing
    assert len(reads) <= 60, len(reads)  # a tick per ask (about 40 in 0.8 s), not 999 a second
    assert len(reads) + sum(skipped) <= video_module.MAX_STEP * len(reads), (len(reads), sum(skipped))
    assert "plays at" in caplog.text and "speed to keep the output rate" in caplog.text


def test_a_background_video_rests_while_nobody_asks(tmp_path: Path) -> None:
    runtime = Replace(video=write_clip(tmp_path / "bg.mp4", (64, 48), 30, 30)).prepare()
    until(lambda: runtime._player.frame((64, 48)) is not None, "first video frame")
    time.sleep(1.3)  # nobody asks (paused, or the effect toggled off)
    resting = runtime._player.video._capture.get(cv2.CAP_PROP_POS_FRAMES)
    time.sleep(0.5)
    assert runtime._player.video._capture.get(cv2.CAP_PROP_POS_FRAMES) == resting  # no decoding for nothing
    runtime.close()


@pytest.fixture()
def daemon(tmp_path: Path, model_dir) -> Iterator:
    model_dir("selfie_landscape")
    started: list[RunningDaemon] = []

    def _start(effects: str) -> RunningDaemon:
        config = tmp_path / "bgfx.yaml"
        config.write_text(f"effects:\n{effects}\nsegmentation:\n  models: [selfie_landscape]\n")
        running = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
        started.append(running)
        return running

    yield _start
    for running in started:
        if running.process.poll() is None:
            running.stop()


@pytest.mark.e2e
def test_a_fifo_pause_image_or_a_bomb_set_live_is_refused_and_pause_resume_answer(daemon, tmp_path: Path) -> None:
    fifo = tmp_path / "card.png"
    os.mkfifo(fifo)
    bomb = big_png(tmp_path / "bomb.png", 20000, 20000)
    running = daemon('  - type: replace\n    name: wall\n    colour: "#00FF00"')
    running.wait_frames(10)
    assert running.ctl("set", "pause.show=image").returncode == 0
    refused = running.ctl("set", f"pause.image={fifo}")
    assert refused.returncode == 1 and "pause.image" in refused.stderr and "is a FIFO, not a regular file" in refused.stderr, refused
    refused = running.ctl("set", f"effects.wall.image={bomb}")
    assert refused.returncode == 1 and "20000x20000 pixels" in refused.stderr, refused
    assert running.ctl("pause").stdout.strip() == "paused"
    running.wait_frames(10, timeout=15)  # the loop keeps sending cards
    assert running.ctl("resume").stdout.strip() == "resumed"
    assert running.status()["state"] == "running"


@pytest.mark.e2e
def test_a_4k_60_fps_background_video_keeps_the_frames_flowing(daemon, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "4k.mp4", (3840, 2160), 60, 20)
    running = daemon(f"  - type: replace\n    video: {clip}")
    running.wait_frames(30, timeout=90)
    assert running.status()["state"] == "running"
    assert "Traceback" not in running.log()
