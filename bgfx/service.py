"""`bgfx service install|uninstall|status`: the systemd user unit, with the real path of bgfx.

The shipped unit (systemd/bgfx.service) names /usr/bin/bgfx; install writes a
copy whose ExecStart is the executable actually installed, into
$XDG_CONFIG_HOME/systemd/user, then reloads and enables it where a user
systemd answers, and says what it did.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bgfx.errors import BgfxError
from bgfx.shipped import shipped_file

UNIT = "bgfx.service"


def unit_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def executable() -> str:
    """The bgfx command as installed: on PATH, or beside this Python (a venv's bin/)."""
    beside = Path(sys.executable).parent / "bgfx"
    found = shutil.which("bgfx")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    if found:
        return str(Path(found).resolve())
    raise BgfxError("cannot find the bgfx executable: install bgfx (pip install .) so that `bgfx` is on PATH")


def render_unit(command: str) -> str:
    text = shipped_file(UNIT).read_text(encoding="utf-8")
    return text.replace("ExecStart=/usr/bin/bgfx run", f"ExecStart={command} run")


def _systemctl(*args: str) -> tuple[bool, str]:
    if not shutil.which("systemctl"):
        return False, "systemctl is not available"
    result = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=30)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def install() -> list[str]:
    """Write the unit, reload, enable; returns what was done, one line each."""
    target = unit_dir() / UNIT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_unit(executable()), encoding="utf-8")
    done = [f"wrote {target} (ExecStart={executable()} run)"]
    ok, output = _systemctl("daemon-reload")
    if not ok:
        done.append(f"not reloaded or enabled: {output or 'no user systemd'}; run `systemctl --user daemon-reload && systemctl --user enable --now bgfx` in your desktop session")
        return done
    done.append("systemctl --user daemon-reload: done")
    ok, output = _systemctl("enable", UNIT)
    done.append("enabled: starts with your graphical session (`systemctl --user start bgfx` to start now)" if ok else f"enable failed: {output}")
    return done


def uninstall() -> list[str]:
    target = unit_dir() / UNIT
    done = []
    ok, output = _systemctl("disable", "--now", UNIT)
    done.append("disabled and stopped" if ok else f"not disabled: {output}")
    if target.exists():
        target.unlink()
        done.append(f"removed {target}")
    else:
        done.append(f"no unit at {target}")
    _systemctl("daemon-reload")
    return done


def status() -> str:
    ok, output = _systemctl("status", "--no-pager", UNIT)
    installed = (unit_dir() / UNIT).exists()
    head = f"unit file: {unit_dir() / UNIT} ({'installed' if installed else 'not installed: bgfx service install'})"
    return f"{head}\n{output}"
