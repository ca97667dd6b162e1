"""Sink `virtualcam`: a v4l2loopback device through pyvirtualcam, which call apps list as a camera.

Readers are counted with inotify on the node pyvirtualcam actually opened: the
kernel reports every open and close (bgfx's own writer opened it before the
watch began, so it is not counted). While there are none, an on-demand daemon
keeps the camera closed and blocks in `readers`, using no CPU.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyvirtualcam
from inotify_simple import INotify, flags

from bgfx.errors import SinkError
from bgfx.live.sinks.base import Check, SinkKind

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings

log = logging.getLogger(__name__)

SYS_V4L = Path("/sys/class/video4linux")
MODULE = Path("/sys/module/v4l2loopback")
MODPROBE = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgfx"
AT_BOOT = (
    "  echo v4l2loopback | sudo tee /etc/modules-load.d/v4l2loopback.conf\n"
    "  echo 'options v4l2loopback devices=1 exclusive_caps=1 card_label=bgfx' | "
    "sudo tee /etc/modprobe.d/v4l2loopback.conf"
)
LOOPBACK_HELP = (
    f"no v4l2loopback device is available. Load the module with\n  {MODPROBE}\n"
    f"and to load it at every boot:\n{AT_BOOT}\n"
    "(package v4l2loopback-dkms on Debian/Ubuntu, v4l2loopback-dkms or akmod-v4l2loopback elsewhere).\n"
    "No kernel module possible (Secure Boot, an immutable system)? Use the PipeWire camera instead: "
    "output.sink: pipewire (or --sink pipewire; `bgfx doctor --sink pipewire` checks it)"
)


class ReaderWatch:
    """Open/close events of a device node; readers = opens - closes since the watch began."""

    def __init__(self, node: Path) -> None:
        if not node.exists():
            raise SinkError(f"on demand: {node} does not exist; set output.device to the v4l2loopback node")
        self.node = node
        self._inotify = INotify()
        self._inotify.add_watch(str(node), flags.OPEN | flags.CLOSE_WRITE | flags.CLOSE_NOWRITE)
        self.count = 0

    def poll(self, timeout_s: float) -> int:
        """Wait up to timeout_s for opens/closes; returns the reader count after them."""
        for event in self._inotify.read(timeout=int(timeout_s * 1000)):
            if event.mask & flags.OPEN:
                self.count += 1
            if event.mask & (flags.CLOSE_WRITE | flags.CLOSE_NOWRITE):
                self.count = max(0, self.count - 1)
        return self.count

    def close(self) -> None:
        self._inotify.close()


class VirtualCamera:
    """A pyvirtualcam camera; `backend` names a registered pyvirtualcam backend (None = v4l2loopback)."""

    def __init__(self, settings: OutputSettings, size: tuple[int, int], fps: float) -> None:
        device, backend = settings.device, settings.backend
        if backend is not None and backend not in pyvirtualcam.camera.BACKENDS:
            known = ", ".join(pyvirtualcam.camera.BACKENDS) or "none"
            raise SinkError(f"output.backend: no pyvirtualcam backend {backend!r}; registered: {known}")
        try:
            self._camera = pyvirtualcam.Camera(
                size[0], size[1], fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device, backend=backend
            )
        except RuntimeError as e:
            if "loopback" in str(e) or backend in (None, "v4l2loopback"):
                target = f"device {device}: " if device else ""
                raise SinkError(f"virtual camera: {target}{LOOPBACK_HELP}\n(pyvirtualcam said: {e})") from None
            raise SinkError(f"virtual camera ({backend}): {e}") from None
        self.device = Path(self._camera.device)
        self._watch: ReaderWatch | None = None
        log.info("virtual camera %s open at %dx%d@%g", self.device, size[0], size[1], fps)

    def send(self, image: np.ndarray) -> None:
        self._camera.send(image)

    def readers(self, timeout_s: float) -> int:
        if self._watch is None:
            self._watch = ReaderWatch(self.device)
            log.info("on demand: watching %s for readers", self.device)
        return self._watch.poll(timeout_s)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self._camera.close()


def loopback_nodes() -> list[Path]:
    """The /dev/videoN nodes that v4l2loopback provides."""
    nodes = []
    for entry in sorted(SYS_V4L.glob("video*")) if SYS_V4L.exists() else []:
        driver = entry / "device" / "driver"
        virtual = "virtual" in str(entry.resolve())
        if virtual or (driver.exists() and "v4l2loopback" in str(driver.resolve())):
            nodes.append(Path("/dev") / entry.name)
    return nodes


def _holders(node: Path) -> list[str]:
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


def doctor(settings: OutputSettings, size: tuple[int, int], fps: float) -> list[Check]:
    """The module (with exclusive_caps), a device, and no other writer; or the configured backend opening."""
    if settings.backend and settings.backend != "v4l2loopback":
        try:
            VirtualCamera(settings, size, fps).close()
        except SinkError as e:
            return [Check("virtual camera", "FAIL", str(e), "check output.backend and output.device")]
        return [Check("virtual camera", "ok", f"pyvirtualcam backend {settings.backend!r} opens")]
    if not MODULE.exists():
        return [Check("v4l2loopback", "FAIL", "the kernel module is not loaded",
                      f"{MODPROBE}; to load it at boot:\n{AT_BOOT}\nor, with no kernel module, output.sink: pipewire")]
    caps_file = MODULE / "parameters" / "exclusive_caps"
    caps = caps_file.read_text().strip() if caps_file.exists() else "?"
    checks = [Check("v4l2loopback", "ok", f"loaded, exclusive_caps={caps}")]
    if "Y" not in caps and "1" not in caps:
        checks = [Check("v4l2loopback", "warn", f"loaded without exclusive_caps ({caps}): Chrome and Zoom may not list "
                        "the camera", f"sudo modprobe -r v4l2loopback && {MODPROBE}")]
    nodes = [Path(settings.device)] if settings.device else loopback_nodes()
    if not nodes or not all(n.exists() for n in nodes):
        checks.append(Check("loopback device", "FAIL", f"none found ({', '.join(map(str, nodes)) or '/dev/video*'})", MODPROBE))
        return checks
    for node in nodes:
        holders = _holders(node)
        if holders:
            checks.append(Check("loopback device", "FAIL", f"{node} is held by {', '.join(holders)}",
                                "close that program, or set output.device to another loopback device"))
        else:
            checks.append(Check("loopback device", "ok", f"{node} is free"))
    return checks


KIND = SinkKind("virtualcam", VirtualCamera, doctor)
