"""output.size apart from the capture's: capture at 1080p (an MJPEG stand-in), send 720p, scaled once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from bgfx.config import parse
from bgfx.errors import ConfigError
from tests.conftest import ROOT
from tests.test_camera_mjpeg import desk_frames, write_mjpeg


@pytest.mark.parametrize("raw, expected", [("1280x720", (1280, 720)), ([640, 360], (640, 360)), (None, None)])
def test_output_size_reads_both_spellings(raw: object, expected: tuple[int, int] | None, tmp_path: Path) -> None:
    assert parse({"output": {"size": raw}}, "test.yaml", tmp_path).output.size == expected


@pytest.mark.parametrize("raw, says", [("1280", "WIDTHxHEIGHT"), ("axb", "whole numbers"), ([8, 8], "16..7680")])
def test_a_bad_output_size_names_the_key_and_the_fix(raw: object, says: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"output\.size: .*{says}"):
        parse({"output": {"size": raw}}, "test.yaml", tmp_path)


@pytest.mark.e2e
def test_capture_1080p_send_720p(tmp_path: Path) -> None:
    clip = write_mjpeg(tmp_path / "cam1080.avi", desk_frames(30, (1920, 1080)))
    out = tmp_path / "live.mp4"
    config = tmp_path / "bgfx.yaml"
    config.write_text(f'effects:\n  - {{type: replace, name: wall, colour: "#00FF00"}}\n'
                      f"output: {{sink: file, path: {out}, size: 1280x720}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(clip), "--max-frames", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    capture = cv2.VideoCapture(str(out))
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (1280, 720)
    frames = [capture.read()[1] for _ in range(20)]
    green = [((f[..., 1] > 200) & (f[..., 0] < 60) & (f[..., 2] < 60)).mean() for f in frames[8:]]
    assert min(green) > 0.3  # the chain ran on the 1080p capture, then the composite was scaled
