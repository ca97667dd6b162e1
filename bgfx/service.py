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

from bgfx.atomic_file import write_text
from bgfx.errors import BgfxError
from bgfx.shipped import shipped_file

UNIT = "bgfx.service"


class ServiceError(BgfxError):
    """systemctl failed: the message holds what was done and what failed."""


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
    raise BgfxError("cannot find the bgfx executable: install bgfx (pipx install .) so that `bgfx` is on PATH")


def render_unit(command: str) -> str:
    text = shipped_file(UNIT).read_text(encoding="utf-8")
    return text.replace("ExecStart=/usr/bin/bgfx run", f"ExecStart={quote_exec(command)} run")


def quote_exec(word: str) -> str:
    """One word of an ExecStart= line by systemd's rules: double quotes when it holds a space or quote,
    backslash and double quote escaped, and % (a specifier) written %%."""
    escaped = word.replace("%", "%%")
    if any(c in escaped for c in " \t\"'\\"):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def write_private(target: Path, text: str, mode: int, folder_mode: int) -> None:
    """Create target (mode, e.g. 0o644) in its folder (made folder_mode), whatever the umask; atomically."""
    target.parent.mkdir(mode=folder_mode, parents=True, exist_ok=True)
    write_text(target, text, mode)


def _systemctl(*args: str) -> tuple[bool, str]:
    if not shutil.which("systemctl"):
        return False, "systemctl is not available"
    result = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=30)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def install() -> list[str]:
    """Write the unit (0644 in a 0755 folder), reload, enable; returns what was done, one line each.

    ServiceError (exit 1) when systemctl fails: the unit is written, but nothing would start it.
    """
    target = unit_dir() / UNIT
    write_private(target, render_unit(executable()), 0o644, 0o755)
    done = [f"wrote {target} (ExecStart={quote_exec(executable())} run)"]
    ok, output = _systemctl("daemon-reload")
    if not ok:
        raise ServiceError("\n".join([*done, f"systemctl --user daemon-reload failed: {output or 'no user systemd'}; "
                                      "run `systemctl --user daemon-reload && systemctl --user enable --now bgfx` "
                                      "in your desktop session"]))
    done.append("systemctl --user daemon-reload: done")
    ok, output = _systemctl("enable", UNIT)
    if not ok:
        raise ServiceError("\n".join([*done, f"systemctl --user enable bgfx failed: {output}"]))
    done.append("enabled: starts with your graphical session (`systemctl --user start bgfx` to start now)")
    return done


def uninstall() -> list[str]:
    """Disable and stop, remove the unit, reload; ServiceError (after removing the file) when systemctl failed."""
    target = unit_dir() / UNIT
    ok, output = _systemctl("disable", "--now", UNIT)
    failures = [] if ok else [f"systemctl --user disable --now bgfx failed: {output}"]
    done = ["disabled and stopped"] if ok else []
    if target.exists():
        target.unlink()
        done.append(f"removed {target}")
    else:
        done.append(f"no unit at {target}")
    if ok:
        reloaded, output = _systemctl("daemon-reload")
        if not reloaded:
            failures.append(f"systemctl --user daemon-reload failed: {output}")
    if failures:
        raise ServiceError("\n".join([*done, *failures]))
    return done


def status() -> tuple[bool, str]:
    """(whether the unit runs, what `systemctl --user status` and the unit file say)."""
    ok, output = _systemctl("status", "--no-pager", UNIT)
    installed = (unit_dir() / UNIT).exists()
    head = f"unit file: {unit_dir() / UNIT} ({'installed' if installed else 'not installed: bgfx service install'})"
    return ok, f"{head}\n{output}"
