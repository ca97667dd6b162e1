"""`capture.controls`: a V4L2 camera's controls (exposure, gain, white balance, focus, ...) by their V4L2 names.

Names are V4L2's own as `v4l2-ctl --list-ctrls` prints them (the control's name
lower-cased, words joined by `_`: `auto_exposure`, `exposure_time_absolute`,
`white_balance_automatic`; older kernels say `exposure_auto`, `exposure_absolute`),
so what a user reads there is what they write. Values: whole numbers (in the
control's range and step), true/false, or a menu item's name (`manual_mode`, or as
V4L2 spells it, `Manual Mode`). The config file checks only the mapping's shape; the
camera's own controls are learnt (QUERYCTRL, QUERYMENU) when it is checked or
opened, and a bad name or value is one error naming the device and its choices.
Automatic-mode switches are set before the values they govern (a manual exposure
time is refused while exposure is automatic).
"""

from __future__ import annotations

import errno
import logging
import re
from dataclasses import dataclass
from typing import Mapping

from bgfx.errors import ConfigError
from bgfx.live.cameras import v4l2

log = logging.getLogger(__name__)

Value = int | bool | str
_NAME = re.compile(r"[a-z0-9_]{1,64}")
KINDS = {v4l2.CTRL_TYPE_INTEGER: "int", v4l2.CTRL_TYPE_BOOLEAN: "bool", v4l2.CTRL_TYPE_MENU: "menu",
         v4l2.CTRL_TYPE_INTEGER_MENU: "menu"}


def parse_controls(raw: object) -> dict[str, Value]:
    """The config's mapping shape: control name → whole number, true/false or a menu item's name."""
    if not isinstance(raw, dict):
        raise ValueError(f"must map V4L2 control names to values (e.g. {{gain: 64}}), got {type(raw).__name__}")
    controls: dict[str, Value] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{str(name)[:64]!r} is not a V4L2 control name (lower case and _, as "
                             "`bgfx cameras` or `v4l2-ctl --list-ctrls` print them)")
        if not isinstance(value, (int, str)) or (isinstance(value, str) and not 0 < len(value) <= 64):
            raise ValueError(f"{name}: must be a whole number, true/false or a menu item's name, got {value!r:.64}")
        controls[name] = value
    return controls


def var_name(label: str) -> str:
    """V4L2's control name as v4l2-ctl turns it into a key: "Exposure Time, Absolute" → exposure_time_absolute."""
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


@dataclass(frozen=True, slots=True)
class ControlInfo:
    """One control as the camera describes it: kind int/bool/menu, range and step, default, and for a menu its
    items as (index, name); value: its value now (G_CTRL; None when unreadable); inactive: an automatic mode governs
    it now; read_only: it cannot be set."""

    id: int
    name: str
    kind: str
    minimum: int
    maximum: int
    step: int
    default: int
    menu: tuple[tuple[int, str], ...] = ()
    value: int | None = None
    inactive: bool = False
    read_only: bool = False

    def choices(self) -> str:
        """What the camera takes, for messages and the listing: "0..255 step 1", "true/false", "1 manual_mode, ..."."""
        if self.kind == "bool":
            return "true/false"
        if self.kind == "menu":
            return ", ".join(f"{index} {var_name(item)}" for index, item in self.menu)
        return f"{self.minimum}..{self.maximum}" + (f" step {self.step}" if self.step > 1 else "")

    def value_for(self, value: Value) -> int:
        """The raw value to set for a config value; ValueError saying what the control takes."""
        if self.kind == "bool" and (isinstance(value, bool) or value in (0, 1)):
            return int(value)
        if self.kind == "menu":
            for index, item in self.menu:
                if value == index and not isinstance(value, bool) or isinstance(value, str) and var_name(value) == var_name(item):
                    return index
        elif self.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            if self.minimum <= value <= self.maximum and (value - self.minimum) % max(self.step, 1) == 0:
                return value
        raise ValueError(f"{value!r} is not a value of {self.name} (it takes {self.choices()})")


def query(fd: int) -> dict[str, ControlInfo]:
    """Every user-settable control of the open node by name (QUERYCTRL with NEXT_CTRL, QUERYMENU for menus)."""
    controls: dict[str, ControlInfo] = {}
    next_id = v4l2.CTRL_FLAG_NEXT_CTRL
    for _ in range(1024):
        arg = v4l2.QueryCtrl(id=next_id)
        try:
            v4l2.ioctl(fd, v4l2.VIDIOC_QUERYCTRL, arg)
        except OSError as e:
            if e.errno == errno.EINVAL:
                break
            raise
        next_id = arg.id | v4l2.CTRL_FLAG_NEXT_CTRL
        if arg.type not in KINDS or arg.flags & v4l2.CTRL_FLAG_DISABLED:
            continue  # control classes (headings), buttons, strings: nothing a config sets
        menu = _menu(fd, arg) if KINDS[arg.type] == "menu" else ()
        info = ControlInfo(arg.id, var_name(v4l2.text(arg.name)), KINDS[arg.type], arg.minimum, arg.maximum, arg.step,
                           arg.default_value, menu, _current(fd, arg.id), bool(arg.flags & v4l2.CTRL_FLAG_INACTIVE),
                           bool(arg.flags & v4l2.CTRL_FLAG_READ_ONLY))
        controls[info.name] = info
    return controls


def _current(fd: int, control_id: int) -> int | None:
    arg = v4l2.Control(id=control_id)
    try:
        v4l2.ioctl(fd, v4l2.VIDIOC_G_CTRL, arg)
    except OSError:
        return None
    return arg.value


def _menu(fd: int, control: v4l2.QueryCtrl) -> tuple[tuple[int, str], ...]:
    """The menu items the camera has (a UVC camera answers EINVAL for the indices it lacks, e.g. 0 and 2 of
    auto_exposure); an integer menu's items are named by their value."""
    items = []
    for index in range(control.minimum, min(control.maximum, control.minimum + 255) + 1):
        arg = v4l2.QueryMenu(id=control.id, index=index)
        try:
            v4l2.ioctl(fd, v4l2.VIDIOC_QUERYMENU, arg)
        except OSError:
            continue
        name = str(arg.item.value) if control.type == v4l2.CTRL_TYPE_INTEGER_MENU else v4l2.text(arg.item.name)
        items.append((index, name))
    return tuple(items)


def resolve(device: str, wanted: Mapping[str, Value], available: Mapping[str, ControlInfo]) -> list[tuple[ControlInfo, int]]:
    """(control, raw value) for each wanted control, automatic-mode switches first; ConfigError listing every bad
    name or value with the camera's own choices."""
    resolved, problems = [], []
    for name, value in wanted.items():
        info = available.get(name)
        if info is None:
            problems.append(f"capture.controls.{name}: {device} has no control {name}; "
                            f"its controls: {', '.join(available) or 'none'}")
        elif info.read_only:
            problems.append(f"capture.controls.{name}: {device} shows {name} but does not let it be set")
        elif info.inactive and not any("auto" in other for other in wanted):
            modes = ", ".join(other for other in available if "auto" in other)
            problems.append(f"capture.controls.{name}: {device} sets {name} by an automatic mode now; set that mode "
                            f"to manual in capture.controls too (its automatic modes: {modes or 'none'})")
        else:
            try:
                resolved.append((info, info.value_for(value)))
            except ValueError as e:
                problems.append(f"capture.controls.{name}: {device}: {e}")
    if problems:
        raise ConfigError("; ".join(problems))
    return sorted(resolved, key=lambda pair: "auto" not in pair[0].name)


def set_all(fd: int, device: str, resolved: list[tuple[ControlInfo, int]]) -> dict[str, int]:
    """S_CTRL each, in order; name → the value the camera reports back (G_CTRL). A refusal is a ConfigError."""
    taken = {}
    for info, value in resolved:
        try:
            taken[info.name] = write(fd, info, value)
        except OSError as e:
            hint = " (an automatic mode governs it: set that mode to manual in capture.controls too)" \
                if e.errno in (errno.EACCES, errno.EBUSY, errno.EPERM) else ""
            raise ConfigError(f"capture.controls.{info.name}: {device} refused {value} ({e.strerror}){hint}") from None
    return taken


def write(fd: int, info: ControlInfo, value: int) -> int:
    """S_CTRL one control; the value the camera reports back (G_CTRL). OSError as the device gives it."""
    v4l2.ioctl(fd, v4l2.VIDIOC_S_CTRL, v4l2.Control(id=info.id, value=value))
    readback = v4l2.Control(id=info.id)
    v4l2.ioctl(fd, v4l2.VIDIOC_G_CTRL, readback)
    return readback.value


def apply(device: str, wanted: Mapping[str, Value], reset: Mapping[str, Value] | None = None) -> dict[str, int]:
    """Set `wanted` on the camera at `device` (checked against its own controls first, so nothing is set when any
    is bad); controls in `reset` but no longer wanted go back to the camera's defaults. ConfigError when bad."""
    with v4l2.opened(device) as fd:
        available = query(fd)
        resolved = resolve(device, wanted, available)
        dropped = [(available[name], available[name].default) for name in (reset or {})
                   if name not in wanted and name in available]
        # values back while their mode is still manual, then the modes back to automatic, then the wanted ones
        taken = set_all(fd, device, sorted(dropped, key=lambda pair: "auto" in pair[0].name) + resolved)
    if taken:
        log.info("camera %s controls: %s", device, ", ".join(f"{name}={value}" for name, value in taken.items()))
    return taken


def check(device: str, wanted: Mapping[str, Value]) -> None:
    """ConfigError when the camera at `device` lacks a wanted control or value; nothing when it cannot be asked
    (unplugged: the feed reports the camera lost, and the controls are checked when it opens)."""
    if not wanted:
        return
    try:
        with v4l2.opened(device) as fd:
            available = query(fd)
    except OSError as e:
        log.warning("capture.controls: cannot ask %s for its controls now (%s); they apply when it opens", device,
                    e.strerror)
        return
    resolve(device, wanted, available)


def view(device: str | None, wanted: Mapping[str, Value]) -> dict[str, object]:
    """The `settings` verb's `controls` entry (the control page lists it): the camera's controls as it has them now,
    each {name, kind, choices, default, value, inactive, wanted (capture.controls' value or None)}, and a note when
    the camera cannot be asked. device: a V4L2 camera, None for an input without controls."""
    if device is None:
        return {"device": None, "wanted": dict(wanted), "camera": [], "note": "only V4L2 cameras have controls"}
    try:
        with v4l2.opened(device) as fd:
            available = query(fd)
    except OSError as e:
        return {"device": device, "wanted": dict(wanted), "camera": [], "note": f"cannot ask {device} ({e.strerror})"}
    camera = [{"name": info.name, "kind": info.kind, "choices": info.choices(), "default": info.default,
               "value": info.value, "inactive": info.inactive, "wanted": wanted.get(info.name)}
              for info in available.values()]
    return {"device": device, "wanted": dict(wanted), "camera": camera, "note": ""}
