"""Shared test fixtures: real models from BGFX_MODEL_PATH (../shared/models), real photos and video."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BGFX_SHARED", ROOT.parent / "shared"))
MODELS = Path(os.environ.setdefault("BGFX_MODEL_PATH", str(SHARED / "models")).split(":")[0])
TESTDATA = SHARED / "testdata"
EVALDATA = SHARED / "evaldata"
VIDEO = TESTDATA / "webcam_desk_960x540.mp4"
SERGEY = TESTDATA / "portrait_sergey.png"


TIERS = ("unit", "models", "e2e")  # docs/testing.md: what each may use; the guard below holds them to it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test without a tier mark is a unit test."""
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)


def tier_of(item: pytest.Item) -> str:
    return max((tier for tier in TIERS if item.get_closest_marker(tier)), key=TIERS.index)


@pytest.fixture(autouse=True)
def _tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit or models test that starts a process, or a unit test that builds a MediaPipe model, fails naming the
    mark it needs, so `-m "not e2e"` and `-m unit` never depend on what they leave out."""
    tier = tier_of(request.node)
    if tier == "e2e":
        return

    from mediapipe.tasks.python import vision  # imported before processes are refused: its import runs ldconfig

    if tier == "unit":
        def no_model(*args: object, **kwargs: object) -> None:
            raise AssertionError("a unit test built a MediaPipe segmenter: mark it models")

        monkeypatch.setattr(vision.ImageSegmenter, "create_from_options", no_model)

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a {tier} test started a process ({args[1] if len(args) > 1 else kwargs}): mark it e2e")

    monkeypatch.setattr(subprocess.Popen, "__init__", no_process)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets empty XDG data/config/runtime dirs, so a user's own models or config never leak in."""
    base = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"):
        path = base / name.lower()
        path.mkdir(mode=0o700)
        monkeypatch.setenv(name, str(path))


@pytest.fixture(scope="session")
def sergey() -> np.ndarray:
    """600x600 BGR head-and-shoulders portrait on a plain wall."""
    return cv2.imread(str(SERGEY), cv2.IMREAD_COLOR)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """skimage's 512x512 astronaut photo, BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def video_frames() -> list[np.ndarray]:
    """The first 90 frames of the desk video (960x540 BGR)."""
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < 90:
        ok, image = capture.read()
        assert ok, f"cannot decode {VIDEO}"
        frames.append(image)
    capture.release()
    return frames


def model(name: str):
    """A LocatedModel for a catalog name, from the shared model folder."""
    from bgfx.vision.models import LocatedModel, load_catalog

    entry = load_catalog().get(name)
    return LocatedModel(name=name, path=MODELS / entry.file, entry=entry)


@pytest.fixture()
def bare_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine as sysfs shows it with no v4l2loopback module and no camera, whatever this one has;
    tests add `module/` (the loaded module) and `v4l/videoN` (devices) under the returned folder; `dev/` stands in
    for /dev (empty: no V4L2 node to ask; `tests.support.fake_v4l2` puts nodes there)."""
    from bgfx.live.cameras import v4l2
    from bgfx.live.sinks import virtualcam

    root = tmp_path / "sys"
    (root / "v4l").mkdir(parents=True)
    (root / "dev").mkdir()
    monkeypatch.setattr(v4l2, "DEV", root / "dev")
    monkeypatch.setattr(virtualcam, "SYS_V4L", root / "v4l")
    monkeypatch.setattr(virtualcam, "MODULE", root / "module")
    return root


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The fake V4L2 ioctl layer (`tests.support.fake_v4l2.standard`: a C920 at video0, its metadata node, a
    v4l2loopback output) installed in this process, its nodes under tmp_path/dev."""
    from bgfx.live.cameras import v4l2
    from tests.support.fake_v4l2 import standard

    device = standard(tmp_path / "dev")
    monkeypatch.setattr(v4l2, "DEV", device.folder)
    monkeypatch.setattr(v4l2, "ioctl", device.ioctl)
    return device


@pytest.fixture()
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """BGFX_MODEL_PATH as a folder holding only the named catalog models (links to the shared files)."""

    def make(*names: str) -> Path:
        from bgfx.vision.models import load_catalog

        folder = tmp_path / "models"
        folder.mkdir(exist_ok=True)
        for name in names:
            entry = load_catalog().get(name)
            (folder / entry.file).symlink_to(MODELS / entry.file)
        monkeypatch.setenv("BGFX_MODEL_PATH", str(folder))
        return folder

    return make
