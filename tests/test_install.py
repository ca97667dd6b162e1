"""The install users do: the wheel carries everything `bgfx` needs outside this tree, and `pipx install` (the
way on PEP 668 systems such as Debian 12+ and Ubuntu 23.04+, where `pip install` is refused) gives a working
`bgfx` whose service unit starts that very executable."""

from __future__ import annotations

import os
import shutil
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
    assert_processes_like_the_tree(venv / "bin" / "bgfx", away, env)
    page = subprocess.run([python, "-c", "from importlib.resources import files; "
                           "print((files('bgfx.live.web') / 'static' / 'index.html').read_text()[:200])"],
                          cwd=away, env=env, capture_output=True, text=True)
    assert page.returncode == 0 and "<" in page.stdout, page.stderr


def test_pipx_install_gives_a_new_user_bgfx_and_a_service_that_runs_it(tmp_path: Path) -> None:
    if not shutil.which("pipx"):
        pytest.fail("pipx is needed (.ci/run installs it: apt-get install pipx)")
    pipx_home, bin_dir, home = tmp_path / "pipx", tmp_path / "bin", tmp_path / "home"
    tools = tmp_path / "tools"  # no user systemd here: a stand-in systemctl records its calls
    tools.mkdir()
    (tools / "systemctl").write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls.log"\n')
    (tools / "systemctl").chmod(0o755)
    env = {**os.environ, "PIPX_HOME": str(pipx_home), "PIPX_BIN_DIR": str(bin_dir), "PYTHONPATH": "",
           "XDG_CONFIG_HOME": str(home / ".config"), "PATH": f"{bin_dir}:{tools}:/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run(["pipx", "install", str(ROOT)], env=env, capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    bgfx = bin_dir / "bgfx"
    assert bgfx.resolve().is_relative_to(pipx_home), bgfx.resolve()  # pipx's own venv, not this tree's .venv
    away = tmp_path / "elsewhere"
    away.mkdir()
    assert_processes_like_the_tree(bgfx, away, env)
    service = subprocess.run(["bgfx", "service", "install"], cwd=away, env=env, capture_output=True, text=True, timeout=120)
    assert service.returncode == 0, service.stderr
    unit = (home / ".config" / "systemd" / "user" / "bgfx.service").read_text()
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    command = exec_start.removeprefix("ExecStart=").removesuffix(" run")
    assert Path(command).resolve() == bgfx.resolve(), exec_start  # the unit starts what pipx installed
    assert (tools / "calls.log").read_text().splitlines() == ["--user daemon-reload", "--user enable bgfx.service"]


def assert_processes_like_the_tree(bgfx: Path, away: Path, env: dict[str, str]) -> None:
    """`bgfx process` of the installed executable, run outside the tree, gives the tree's picture: the shipped
    default's blur (found in the installed package), not a copy of the photo."""
    out = away / "out.png"
    run = subprocess.run([bgfx, "process", str(PHOTO), str(out)], cwd=away, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    tree_out = away / "tree.png"
    tree = subprocess.run([sys.executable, "-m", "bgfx", "process", str(PHOTO), str(tree_out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert tree.returncode == 0, tree.stderr
    original, installed = cv2.imread(str(PHOTO)), cv2.imread(str(out))
    assert cv2.PSNR(installed, cv2.imread(str(tree_out))) > 40  # the installed bgfx does what the tree does
    assert cv2.PSNR(installed, original) < 35  # and that is the shipped default's blur, not a copy
