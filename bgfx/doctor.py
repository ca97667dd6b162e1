"""`bgfx doctor`: what stands between this machine and a working virtual camera, each with its fix.

Checks: the config; the output, by its sink kind's own checks (the
virtual camera: v4l2loopback loaded with exclusive_caps, a device, no other
writer; or the configured pyvirtualcam backend opening; with no v4l2loopback, whether the PipeWire camera
would work instead); the camera (devices and their formats, or the video file);
the models the configured chain needs; which shortcut back end is active and
why (pynput on X11, the GlobalShortcuts portal otherwise); the control socket. A FAIL blocks `bgfx run`.
"""

from __future__ import annotations

import os
from pathlib import Path

from bgfx import config as config_module
from bgfx.errors import BgfxError
from bgfx.live.control.portal_shortcuts import describe_backend
from bgfx.live.settings import Config
from bgfx.live.sinks import SINKS, Check
from bgfx.vision.effects import needs_of


def check_output(cfg: Config) -> list[Check]:
    """The configured sink kind's own checks, at the capture's size and rate; when the v4l2loopback camera
    cannot work, how the PipeWire camera would fare here (as advice: it blocks nothing)."""
    size, fps = (cfg.capture.width, cfg.capture.height), cfg.output.fps or cfg.capture.fps
    checks = SINKS[cfg.output.sink].kind.doctor(cfg.output, size, fps)
    if cfg.output.sink == "virtualcam" and any(check.level == "FAIL" for check in checks):
        for check in SINKS["pipewire"].kind.doctor(cfg.output, size, fps):
            if check.level == "ok":
                checks.append(Check(f"instead: {check.name}", "ok", f"{check.detail}: output.sink: pipewire works here"))
            else:
                checks.append(Check(f"instead: {check.name}", "warn", check.detail, check.fix))
    return checks


def check_camera(cfg: Config) -> list[Check]:
    """The configured input: a video file opened, or the camera listing (`bgfx cameras`'s) with the configured
    device among it and its capture.controls checked against the camera's own."""
    from bgfx.errors import CaptureError
    from bgfx.live.capture import is_camera, is_pipewire
    from bgfx.live.cameras.listing import list_all, summary
    from bgfx.vision.video import VideoFile

    device = cfg.capture.device
    if not is_camera(device):
        try:
            video = VideoFile(Path(device).expanduser())
        except CaptureError as e:
            return [Check("camera", "FAIL", str(e), "set capture.device to a camera or a playable video file")]
        video.close()
        return [Check("camera", "ok", f"video file {device}: {video.size[0]}x{video.size[1]} at {video.fps:g} fps, looped")]
    listing = list_all()
    checks = [Check("camera", "ok", summary(camera)) for camera in listing.cameras]
    checks += [Check("camera", "ok", f"{node.device} {node.description} (PipeWire)") for node in listing.pipewire]
    checks += [Check("camera", "ok", note) for note in listing.notes]
    selectable = [c.device for c in listing.cameras] + [n.device for n in listing.pipewire]
    wanted = f"/dev/video{device}" if device.isdigit() else device
    if not selectable:
        checks.append(Check("camera", "FAIL", "no camera found (no V4L2 camera, no PipeWire camera node)",
                            "plug a webcam in, or set capture.device to a video file"))
    elif wanted not in selectable and not (device == "pipewire" and listing.pipewire):
        checks.append(Check("camera", "FAIL", f"capture.device {device} is not among the cameras ({', '.join(selectable)})",
                            "set capture.device to one of them (`bgfx cameras` lists them)"))
    elif cfg.capture.controls and not is_pipewire(device):
        checks.append(_check_controls(wanted, cfg.capture.controls))
    return checks


def _check_controls(device: str, controls: dict) -> Check:
    from bgfx.live.cameras import controls as camera_controls

    try:
        camera_controls.check(device, controls)
    except BgfxError as e:
        return Check("capture.controls", "FAIL", str(e), "use the camera's own names and values (`bgfx cameras`)")
    return Check("capture.controls", "ok", f"{device} has {', '.join(controls)}")


def check_models(cfg: Config) -> list[Check]:
    from bgfx.vision.models import find, is_path, load_catalog, missing_error

    catalog = load_catalog()
    needs = needs_of(cfg.effects).union(*(needs_of(chain) for chain in cfg.presets.values()))
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
        checks.append(_opens(name, found) if found else Check(f"model {name}", "FAIL", "missing", fix))
    return checks or [Check("models", "ok", "the chain needs none")]


def _opens(name: str, path: Path) -> Check:
    """Open the model as `bgfx run` will: a file that is there may still not load (a broken copy), nor may
    MediaPipe itself (a minimal system lacks the EGL and GLES libraries its C library links)."""
    from bgfx.vision.models import LocatedModel
    from bgfx.vision.segmentation import Segmenter

    try:
        with Segmenter(LocatedModel(name, path, None)):
            pass
    except BgfxError as e:
        return Check(f"model {name}", "FAIL", str(e))  # the line names the file, or the libraries and their fix
    return Check(f"model {name}", "ok", str(path))


def check_hotkeys(cfg: Config) -> Check:
    level, detail, fix = describe_backend(os.environ, len(cfg.hotkeys))
    return Check("shortcuts", level, detail, fix)


def check_control() -> Check:
    from bgfx.live.control.socket_server import ControlError, request, socket_path

    try:
        status = request(socket_path(), "status", timeout_s=3.0)["data"]
    except ControlError:
        return Check("control socket", "ok", f"no daemon running yet ({socket_path()} is free)")
    return Check("control socket", "ok", f"daemon answers: {status.get('state')}, {status.get('fps_out')} fps out")


def run_checks(config_path: Path | None, overrides: dict) -> list[Check]:
    try:
        cfg = config_module.load(config_path, overrides)
    except BgfxError as e:
        return [Check("config", "FAIL", str(e), "fix the keys named above (`bgfx config init` writes a valid one)")]
    checks = [Check("config", "ok", cfg.source)]
    for group in (check_output, check_camera, check_models):
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
