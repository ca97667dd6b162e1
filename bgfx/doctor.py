"""`bgfx doctor`: what stands between this machine and a working virtual camera, each with its fix.

Checks: the config; the virtual camera (v4l2loopback loaded with
exclusive_caps, a device, no other writer; or the configured pyvirtualcam
backend opening); the camera (devices and their formats, or the video file);
the models the configured chain needs; hotkeys (X11) or the `bgfx ctl`
alternative (Wayland); the control socket. A FAIL blocks `bgfx run`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bgfx import config as config_module
from bgfx.errors import BgfxError

SYS_V4L = Path("/sys/class/video4linux")
MODULE = Path("/sys/module/v4l2loopback")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    level: str  # "ok", "warn" or "FAIL"
    detail: str
    fix: str = ""


def _loopback_nodes() -> list[Path]:
    nodes = []
    for entry in sorted(SYS_V4L.glob("video*")) if SYS_V4L.exists() else []:
        driver = entry / "device" / "driver"
        virtual = "virtual" in str(entry.resolve())
        if virtual or (driver.exists() and "v4l2loopback" in str(driver.resolve())):
            nodes.append(Path("/dev") / entry.name)
    return nodes


def _writers(node: Path) -> list[str]:
    """Other processes that hold the device open (pid and name)."""
    holders = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        if fd_dir.parent.name == str(os.getpid()):
            continue
        try:
            if any(os.readlink(fd) == str(node) for fd in fd_dir.iterdir()):
                holders.append(f"{fd_dir.parent.name} ({(fd_dir.parent / 'comm').read_text().strip()})")
        except OSError:
            continue
    return holders


def check_virtual_camera(cfg: config_module.Config) -> list[Check]:
    out = cfg.output
    if out.sink != "virtualcam":
        return [Check("virtual camera", "ok", f"not used (output.sink is {out.sink})")]
    if out.backend and out.backend != "v4l2loopback":
        from bgfx.live.sinks import VirtualCamera

        try:
            VirtualCamera((cfg.capture.width, cfg.capture.height), cfg.capture.fps, device=out.device, backend=out.backend).close()
        except BgfxError as e:
            return [Check("virtual camera", "FAIL", str(e), "check output.backend and output.device")]
        return [Check("virtual camera", "ok", f"pyvirtualcam backend {out.backend!r} opens")]
    load = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgfx"
    if not MODULE.exists():
        return [Check("v4l2loopback", "FAIL", "the kernel module is not loaded",
                      f"{load}; to load it at boot: echo v4l2loopback | sudo tee /etc/modules-load.d/v4l2loopback.conf")]
    checks = []
    caps = (MODULE / "parameters" / "exclusive_caps").read_text().strip() if (MODULE / "parameters" / "exclusive_caps").exists() else "?"
    if "Y" in caps or "1" in caps:
        checks.append(Check("v4l2loopback", "ok", f"loaded, exclusive_caps={caps}"))
    else:
        checks.append(Check("v4l2loopback", "warn", f"loaded without exclusive_caps ({caps}): Chrome and Zoom may not list the camera",
                            f"sudo modprobe -r v4l2loopback && {load}"))
    nodes = [Path(out.device)] if out.device else _loopback_nodes()
    if not nodes or not all(n.exists() for n in nodes):
        checks.append(Check("loopback device", "FAIL", f"none found ({', '.join(map(str, nodes)) or '/dev/video*'})", load))
        return checks
    for node in nodes:
        holders = _writers(node)
        if holders:
            checks.append(Check("loopback device", "FAIL", f"{node} is held by {', '.join(holders)}",
                                "close that program, or set output.device to another loopback device"))
        else:
            checks.append(Check("loopback device", "ok", f"{node} is free"))
    return checks


def check_camera(cfg: config_module.Config) -> list[Check]:
    from bgfx.live.capture import VideoFile, is_camera
    from bgfx.errors import CaptureError

    device = cfg.capture.device
    if not is_camera(device):
        try:
            video = VideoFile(Path(device).expanduser())
        except CaptureError as e:
            return [Check("camera", "FAIL", str(e), "set capture.device to a camera or a playable video file")]
        video.close()
        return [Check("camera", "ok", f"video file {device}: {video.size[0]}x{video.size[1]} at {video.fps:g} fps, looped")]
    loopbacks = set(_loopback_nodes())
    cameras = [Path("/dev") / e.name for e in sorted(SYS_V4L.glob("video*"))] if SYS_V4L.exists() else []
    cameras = [c for c in cameras if c not in loopbacks]
    if not cameras:
        return [Check("camera", "FAIL", "no camera found (no /dev/video* besides loopback devices)",
                      "plug a webcam in, or set capture.device to a video file")]
    checks = []
    for camera in cameras:
        formats = ""
        if shutil.which("v4l2-ctl"):
            result = subprocess.run(["v4l2-ctl", "-d", str(camera), "--list-formats-ext"], capture_output=True, text=True, timeout=10)
            formats = " ".join(line.strip() for line in result.stdout.splitlines() if "'" in line or "Size" in line)[:300]
        checks.append(Check("camera", "ok", f"{camera} {formats or '(install v4l-utils to list its formats)'}"))
    if device.startswith("/dev/") and Path(device) not in cameras:
        checks.append(Check("camera", "FAIL", f"capture.device {device} is not among {', '.join(map(str, cameras))}",
                            "set capture.device to one of them"))
    return checks


def check_models(cfg: config_module.Config) -> list[Check]:
    from bgfx.vision.effects import Chain
    from bgfx.vision.models import find, is_path, load_catalog, missing_error

    catalog = load_catalog()
    needs = Chain(cfg.effects).needs.union(*(Chain(chain).needs for chain in cfg.presets.values()))
    wanted = {cfg.segmentation.model} if "person" in needs else set()
    if "hair" in needs:
        wanted.add(cfg.segmentation.hair_model)
    checks = []
    for name in sorted(wanted):
        if is_path(name):
            found = Path(name).expanduser() if Path(name).expanduser().is_file() else None
            fix = "check segmentation.model"
        else:
            entry = catalog.get(name)
            found = find(entry)
            fix = str(missing_error(entry, None)).split("Fix: ")[-1]
        checks.append(Check(f"model {name}", "ok", str(found)) if found else Check(f"model {name}", "FAIL", "missing", fix))
    return checks or [Check("models", "ok", "the chain needs none")]


def check_hotkeys(cfg: config_module.Config) -> Check:
    if os.environ.get("DISPLAY"):
        try:
            from pynput import keyboard  # noqa: F401
        except Exception as e:
            return Check("hotkeys", "warn", f"pynput cannot use the X display: {e}", "use `bgfx ctl` shortcuts")
        return Check("hotkeys", "ok", f"X11 display {os.environ['DISPLAY']}: {len(cfg.hotkeys)} bindings")
    if os.environ.get("WAYLAND_DISPLAY"):
        return Check("hotkeys", "warn", "Wayland gives no global hotkeys",
                     "bind desktop shortcuts to `bgfx ctl toggle blur` etc. (see the README)")
    return Check("hotkeys", "warn", "no display: hotkeys off", "`bgfx ctl` works without a display")


def check_control() -> Check:
    from bgfx.live.control.socket_server import ControlError, request, socket_path

    try:
        status = request(socket_path(), "status", timeout_s=3.0)["status"]
    except ControlError:
        return Check("control socket", "ok", f"no daemon running yet ({socket_path()} is free)")
    return Check("control socket", "ok", f"daemon answers: {status.get('state')}, {status.get('fps_out')} fps out")


def run_checks(config_path: Path | None, overrides: dict) -> list[Check]:
    try:
        cfg = config_module.load(config_path, overrides)
    except BgfxError as e:
        return [Check("config", "FAIL", str(e), "fix the keys named above (`bgfx config init` writes a valid one)")]
    checks = [Check("config", "ok", cfg.source)]
    for group in (check_virtual_camera, check_camera, check_models):
        checks.extend(group(cfg))
    checks.append(check_hotkeys(cfg))
    checks.append(check_control())
    return checks


def report(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"[{check.level:>4}] {check.name}: {check.detail}")
        if check.fix and check.level != "ok":
            lines.append(f"       fix: {check.fix}")
    return "\n".join(lines)
