"""A fake of the V4L2 ioctl layer: devices answering QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS,
QUERYCTRL, QUERYMENU, G_CTRL and S_CTRL from tables, as a real UVC webcam (a Logitech C920: its formats, sizes,
rates and controls as the kernel reports them), its metadata node and a v4l2loopback output do.

It replaces `bgfx.live.cameras.v4l2.ioctl`, the one function that calls the kernel; bgfx's own code above it runs
as is. The nodes are regular files in a folder that stands in for /dev (`v4l2.DEV`): a descriptor is mapped to its
device by the file it names. Like uvcvideo, a control an automatic mode governs is flagged inactive and refuses a
value (EACCES) until that mode is off. Each S_CTRL is recorded (in `sets`, and as a JSON line in `controls.log`).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import types
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from bgfx.live.cameras import v4l2

INT, BOOL, MENU, CLASS = 1, 2, 3, 6
INACTIVE = v4l2.CTRL_FLAG_INACTIVE


@dataclass
class Ctrl:
    id: int
    label: str
    type: int
    minimum: int = 0
    maximum: int = 0
    step: int = 1
    default: int = 0
    menu: dict[int, str] = field(default_factory=dict)


C920_CONTROLS = [
    Ctrl(0x00980001, "User Controls", CLASS),
    Ctrl(0x00980900, "Brightness", INT, 0, 255, 1, 128),
    Ctrl(0x00980901, "Contrast", INT, 0, 255, 1, 128),
    Ctrl(0x00980902, "Saturation", INT, 0, 255, 1, 128),
    Ctrl(0x0098090C, "White Balance, Automatic", BOOL, 0, 1, 1, 1),
    Ctrl(0x00980913, "Gain", INT, 0, 255, 1, 0),
    Ctrl(0x00980918, "Power Line Frequency", MENU, 0, 2, 1, 2, {0: "Disabled", 1: "50 Hz", 2: "60 Hz"}),
    Ctrl(0x0098091A, "White Balance Temperature", INT, 2000, 6500, 1, 4000),
    Ctrl(0x0098091B, "Sharpness", INT, 0, 255, 1, 128),
    Ctrl(0x0098091C, "Backlight Compensation", INT, 0, 1, 1, 0),
    Ctrl(0x009A0001, "Camera Controls", CLASS),
    Ctrl(0x009A0901, "Auto Exposure", MENU, 0, 3, 1, 3, {1: "Manual Mode", 3: "Aperture Priority Mode"}),
    Ctrl(0x009A0902, "Exposure Time, Absolute", INT, 3, 2047, 1, 250),
    Ctrl(0x009A0903, "Exposure, Dynamic Framerate", BOOL, 0, 1, 1, 0),
    Ctrl(0x009A0908, "Pan, Absolute", INT, -36000, 36000, 3600, 0),
    Ctrl(0x009A090A, "Focus, Absolute", INT, 0, 250, 5, 0),
    Ctrl(0x009A090C, "Focus, Automatic Continuous", BOOL, 0, 1, 1, 1),
    Ctrl(0x009A090D, "Zoom, Absolute", INT, 100, 500, 1, 100),
]
# control → (the automatic mode governing it, the mode's values that mean "automatic")
GOVERNED = {0x0098091A: (0x0098090C, {1}), 0x009A0902: (0x009A0901, {0, 2, 3}), 0x009A090A: (0x009A090C, {1})}
RATES = (30, 24, 20, 15, 10, 7.5, 5)
C920_FORMATS = {
    "YUYV": ("YUYV 4:2:2", [(640, 480, RATES), (1280, 720, (10, 7.5, 5)), (1920, 1080, (5,))]),
    "MJPG": ("Motion-JPEG", [(640, 480, RATES), (1280, 720, RATES), (1920, 1080, RATES)]),
}


@dataclass
class Device:
    driver: str
    card: str
    bus: str
    device_caps: int
    formats: dict = field(default_factory=dict)
    controls: list[Ctrl] = field(default_factory=list)
    values: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = {c.id: c.default for c in self.controls if c.type != CLASS}

    def inactive(self, control_id: int) -> bool:
        mode, automatic = GOVERNED.get(control_id, (None, set()))
        return mode in self.values and self.values[mode] in automatic


def c920() -> Device:
    return Device("uvcvideo", "HD Pro Webcam C920", "usb-0000:00:14.0-1", v4l2.CAP_VIDEO_CAPTURE | 0x04200000,
                  C920_FORMATS, C920_CONTROLS)


def metadata_node() -> Device:
    return Device("uvcvideo", "HD Pro Webcam C920", "usb-0000:00:14.0-1", v4l2.CAP_META_CAPTURE | 0x04200000)


def loopback() -> Device:
    return Device("v4l2 loopback", "bgfx", "platform:v4l2loopback-000", v4l2.CAP_VIDEO_OUTPUT | 0x04200000)


def _code(fourcc: str) -> int:
    return sum(ord(ch) << 8 * i for i, ch in enumerate(fourcc.ljust(4)))


class FakeV4l2:
    """The fake kernel: `devices` by node name (video0, ...), each a file in `folder`; `ioctl` stands in for
    v4l2.ioctl."""

    def __init__(self, folder: Path, devices: dict[str, Device]) -> None:
        self.folder, self.devices = folder, devices
        self.sets: list[tuple[str, str, int]] = []  # (node, control label, value) per S_CTRL
        folder.mkdir(parents=True, exist_ok=True)
        for name in devices:
            (folder / name).touch()

    def install(self) -> None:
        v4l2.DEV, v4l2.ioctl = self.folder, self.ioctl

    def value(self, node: str, label: str) -> int:
        device = self.devices[node]
        return device.values[next(c.id for c in device.controls if c.label == label)]

    def ioctl(self, fd: int, request: int, arg: ctypes.Structure) -> None:
        name = Path(os.readlink(f"/proc/self/fd/{fd}")).name
        device = self.devices[name]
        handlers = {v4l2.VIDIOC_QUERYCAP: self._querycap, v4l2.VIDIOC_ENUM_FMT: self._enum_fmt,
                    v4l2.VIDIOC_ENUM_FRAMESIZES: self._enum_sizes, v4l2.VIDIOC_ENUM_FRAMEINTERVALS: self._enum_intervals,
                    v4l2.VIDIOC_QUERYCTRL: self._queryctrl, v4l2.VIDIOC_QUERYMENU: self._querymenu,
                    v4l2.VIDIOC_G_CTRL: self._g_ctrl, v4l2.VIDIOC_S_CTRL: self._s_ctrl}
        if request not in handlers:
            raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
        handlers[request](name, device, arg)

    @staticmethod
    def _fail(code: int = errno.EINVAL) -> None:
        raise OSError(code, os.strerror(code))

    def _querycap(self, name: str, device: Device, arg: v4l2.Capability) -> None:
        arg.driver, arg.card, arg.bus_info = device.driver.encode(), device.card.encode(), device.bus.encode()
        arg.device_caps = device.device_caps
        arg.capabilities = device.device_caps | v4l2.CAP_DEVICE_CAPS

    def _enum_fmt(self, name: str, device: Device, arg: v4l2.FormatDesc) -> None:
        if arg.type != v4l2.BUF_TYPE_VIDEO_CAPTURE or arg.index >= len(device.formats):
            self._fail()
        fourcc = list(device.formats)[arg.index]
        arg.pixelformat, arg.description = _code(fourcc), device.formats[fourcc][0].encode()

    def _sizes(self, device: Device, code: int) -> list:
        for fourcc, (_, sizes) in device.formats.items():
            if _code(fourcc) == code:
                return sizes
        self._fail()

    def _enum_sizes(self, name: str, device: Device, arg: v4l2.FrameSize) -> None:
        sizes = self._sizes(device, arg.pixel_format)
        if arg.index >= len(sizes):
            self._fail()
        arg.type = v4l2.FRMSIZE_DISCRETE
        arg.size.discrete.width, arg.size.discrete.height = sizes[arg.index][:2]

    def _enum_intervals(self, name: str, device: Device, arg: v4l2.FrameInterval) -> None:
        rates = [r for w, h, r in self._sizes(device, arg.pixel_format) if (w, h) == (arg.width, arg.height)]
        if not rates or arg.index >= len(rates[0]):
            self._fail()
        rate = rates[0][arg.index]
        arg.type = v4l2.FRMIVAL_DISCRETE
        arg.interval.discrete.numerator, arg.interval.discrete.denominator = (2, 15) if rate == 7.5 else (1, int(rate))

    def _find(self, device: Device, control_id: int) -> Ctrl:
        if control_id & v4l2.CTRL_FLAG_NEXT_CTRL:
            after = control_id & ~v4l2.CTRL_FLAG_NEXT_CTRL
            later = [c for c in device.controls if c.id > after]
            if not later:
                self._fail()
            return min(later, key=lambda c: c.id)
        for control in device.controls:
            if control.id == control_id:
                return control
        self._fail()

    def _queryctrl(self, name: str, device: Device, arg: v4l2.QueryCtrl) -> None:
        control = self._find(device, arg.id)
        arg.id, arg.type, arg.name = control.id, control.type, control.label.encode()
        arg.minimum, arg.maximum, arg.step, arg.default_value = control.minimum, control.maximum, control.step, control.default
        arg.flags = INACTIVE if device.inactive(control.id) else 0

    def _querymenu(self, name: str, device: Device, arg: v4l2.QueryMenu) -> None:
        control = self._find(device, arg.id)
        if control.type != MENU or arg.index not in control.menu:
            self._fail()
        arg.item.name = control.menu[arg.index].encode()

    def _g_ctrl(self, name: str, device: Device, arg: v4l2.Control) -> None:
        if arg.id not in device.values:
            self._fail()
        arg.value = device.values[arg.id]

    def _s_ctrl(self, name: str, device: Device, arg: v4l2.Control) -> None:
        control = self._find(device, arg.id)
        if control.type == CLASS or not control.minimum <= arg.value <= control.maximum:
            self._fail(errno.ERANGE if control.type != CLASS else errno.EINVAL)
        if control.type == MENU and arg.value not in control.menu:
            self._fail()
        if device.inactive(control.id):
            self._fail(errno.EACCES)
        device.values[control.id] = arg.value
        self.sets.append((name, control.label, arg.value))
        with open(self.folder / "controls.log", "a") as log:
            log.write(json.dumps([name, control.label, arg.value]) + "\n")


def standard(folder: Path, nodes: str | None = None) -> FakeV4l2:
    """video0: the C920; video1: its metadata node; video10: a v4l2loopback output named bgfx; `nodes`: only these
    (comma-separated names; "" for none)."""
    devices = {"video0": c920(), "video1": metadata_node(), "video10": loopback()}
    wanted = devices if nodes is None else [name for name in nodes.split(",") if name]
    return FakeV4l2(folder, {name: devices[name] for name in wanted})


def recorded(folder: Path) -> list[tuple[str, str, int]]:
    """The S_CTRLs a fake in another process recorded in `folder`."""
    path = folder / "controls.log"
    return [tuple(json.loads(line)) for line in path.read_text().splitlines()] if path.exists() else []


def frames_from(video: str) -> types.SimpleNamespace:
    """What `bgfx.live.capture` uses of cv2, with VideoCapture opening `video` whatever camera it is asked for:
    OpenCV's V4L2 backend is C code no fake ioctl reaches, so only where the pictures come from is replaced."""
    return types.SimpleNamespace(**{name: getattr(cv2, name) for name in dir(cv2) if name.startswith("CAP_")},
                                 VideoCapture=lambda target, api: cv2.VideoCapture(video),
                                 VideoWriter_fourcc=cv2.VideoWriter_fourcc)
