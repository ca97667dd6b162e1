"""The V4L2 ioctl layer: the kernel's structs as ctypes, and `ioctl`, the one function that talks to a device.

Plain `fcntl.ioctl` on ctypes structs (videodev2.h) rather than a V4L2 library: bgfx
needs a handful of queries (QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS,
QUERYCTRL, QUERYMENU, G_CTRL, S_CTRL), and `ioctl` is the seam where tests put a fake
device answering from a table as a real UVC webcam would. Device names (/dev/videoN
or an index) resolve under `DEV`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

DEV = Path("/dev")

_READ, _WRITE = 2, 1


def _ioc(direction: int, number: int, struct: type) -> int:
    """_IOC(dir, 'V', nr, size) as videodev2.h defines each request."""
    return (direction << 30) | (ctypes.sizeof(struct) << 16) | (ord("V") << 8) | number


class Capability(ctypes.Structure):
    _fields_ = [("driver", ctypes.c_char * 16), ("card", ctypes.c_char * 32), ("bus_info", ctypes.c_char * 32),
                ("version", ctypes.c_uint32), ("capabilities", ctypes.c_uint32), ("device_caps", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32 * 3)]


class FormatDesc(ctypes.Structure):
    _fields_ = [("index", ctypes.c_uint32), ("type", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("description", ctypes.c_char * 32), ("pixelformat", ctypes.c_uint32), ("mbus_code", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32 * 3)]


class _Discrete(ctypes.Structure):
    _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32)]


class _Stepwise(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in
                ("min_width", "max_width", "step_width", "min_height", "max_height", "step_height")]


class _SizeUnion(ctypes.Union):
    _fields_ = [("discrete", _Discrete), ("stepwise", _Stepwise)]


class FrameSize(ctypes.Structure):
    _fields_ = [("index", ctypes.c_uint32), ("pixel_format", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("size", _SizeUnion), ("reserved", ctypes.c_uint32 * 2)]


class Fraction(ctypes.Structure):
    _fields_ = [("numerator", ctypes.c_uint32), ("denominator", ctypes.c_uint32)]


class _IntervalStepwise(ctypes.Structure):
    _fields_ = [("min", Fraction), ("max", Fraction), ("step", Fraction)]


class _IntervalUnion(ctypes.Union):
    _fields_ = [("discrete", Fraction), ("stepwise", _IntervalStepwise)]


class FrameInterval(ctypes.Structure):
    _fields_ = [("index", ctypes.c_uint32), ("pixel_format", ctypes.c_uint32), ("width", ctypes.c_uint32),
                ("height", ctypes.c_uint32), ("type", ctypes.c_uint32), ("interval", _IntervalUnion),
                ("reserved", ctypes.c_uint32 * 2)]


class QueryCtrl(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("type", ctypes.c_uint32), ("name", ctypes.c_char * 32),
                ("minimum", ctypes.c_int32), ("maximum", ctypes.c_int32), ("step", ctypes.c_int32),
                ("default_value", ctypes.c_int32), ("flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32 * 2)]


class _MenuUnion(ctypes.Union):
    _pack_ = 1
    _fields_ = [("name", ctypes.c_char * 32), ("value", ctypes.c_int64)]


class QueryMenu(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("id", ctypes.c_uint32), ("index", ctypes.c_uint32), ("item", _MenuUnion), ("reserved", ctypes.c_uint32)]


class Control(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("value", ctypes.c_int32)]


VIDIOC_QUERYCAP = _ioc(_READ, 0, Capability)
VIDIOC_ENUM_FMT = _ioc(_READ | _WRITE, 2, FormatDesc)
VIDIOC_G_CTRL = _ioc(_READ | _WRITE, 27, Control)
VIDIOC_S_CTRL = _ioc(_READ | _WRITE, 28, Control)
VIDIOC_QUERYCTRL = _ioc(_READ | _WRITE, 36, QueryCtrl)
VIDIOC_QUERYMENU = _ioc(_READ | _WRITE, 37, QueryMenu)
VIDIOC_ENUM_FRAMESIZES = _ioc(_READ | _WRITE, 74, FrameSize)
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_READ | _WRITE, 75, FrameInterval)

BUF_TYPE_VIDEO_CAPTURE = 1
CAP_VIDEO_CAPTURE, CAP_VIDEO_OUTPUT, CAP_VIDEO_CAPTURE_MPLANE = 0x1, 0x2, 0x1000
CAP_META_CAPTURE, CAP_DEVICE_CAPS = 0x00800000, 0x80000000
FRMSIZE_DISCRETE, FRMIVAL_DISCRETE = 1, 1
CTRL_FLAG_NEXT_CTRL = 0x80000000
CTRL_FLAG_DISABLED, CTRL_FLAG_READ_ONLY, CTRL_FLAG_INACTIVE = 0x0001, 0x0004, 0x0010
CTRL_TYPE_INTEGER, CTRL_TYPE_BOOLEAN, CTRL_TYPE_MENU, CTRL_TYPE_BUTTON = 1, 2, 3, 4
CTRL_TYPE_CTRL_CLASS, CTRL_TYPE_INTEGER_MENU = 6, 9


def ioctl(fd: int, request: int, arg: ctypes.Structure) -> None:
    """The kernel call, filling `arg` in place; OSError (EINVAL ends an enumeration). Tests replace this."""
    fcntl.ioctl(fd, request, arg, True)


def node_path(device: str) -> Path:
    """/dev/videoN (or an index N) as the path of its node under DEV."""
    return DEV / (f"video{device}" if device.isdigit() else Path(device).name)


@contextmanager
def opened(device: str) -> Iterator[int]:
    """A descriptor of the node, for queries and controls only (no streaming): V4L2 allows it beside the capture's."""
    fd = os.open(node_path(device), os.O_RDWR | os.O_NONBLOCK)
    try:
        yield fd
    finally:
        os.close(fd)


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def enumerate_all(fd: int, request: int, struct: type, **fixed: int) -> Iterator[ctypes.Structure]:
    """Each answer of an indexed enumeration (index 0, 1, ...) until the device says EINVAL."""
    for index in range(4096):  # a guard: no device has more, and a broken one must not loop forever
        arg = struct(index=index, **fixed)
        try:
            ioctl(fd, request, arg)
        except OSError as e:
            if e.errno == errno.EINVAL:
                return
            raise
        yield arg
