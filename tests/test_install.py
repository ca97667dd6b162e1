"""The wheel users install (pipx builds the same one): it carries everything `bgfx` needs outside this tree."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import cv2
import pytest

from tests.conftest import ROOT, TESTDATA

PHOTO = TESTDATA / "stills" / "woman-5883428_1280.jpg"
pytestmark = pytest.mark.e2e


def test_the_built_wheel_alone_runs_bgfx_on_the_shipped_default(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("bgfx-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # Only the dependencies come from the test environment; the editable checkout's path is not among them.
    (Path(purelib) / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    where = subprocess.run([python, "-c", "import bgfx; print(bgfx.__file__)"], cwd=away, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(purelib), where  # the wheel's bgfx, not this tree's
    out = away / "out.png"
    run = subprocess.run([venv / "bin" / "bgfx", "process", str(PHOTO), str(out)], cwd=away, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    tree_out = away / "tree.png"
    tree = subprocess.run([sys.executable, "-m", "bgfx", "process", str(PHOTO), str(tree_out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert tree.returncode == 0, tree.stderr
    original, from_wheel = cv2.imread(str(PHOTO)), cv2.imread(str(out))
    assert cv2.PSNR(from_wheel, cv2.imread(str(tree_out))) > 40  # the wheel does what the tree does
    assert cv2.PSNR(from_wheel, original) < 35  # and that is the shipped default's blur, not a copy
    page = subprocess.run([python, "-c", "from importlib.resources import files; "
                           "print((files('bgfx.live.web') / 'static' / 'index.html').read_text()[:200])"],
                          cwd=away, env=env, capture_output=True, text=True)
    assert page.returncode == 0 and "<" in page.stdout, page.stderr
