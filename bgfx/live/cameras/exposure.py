"""The camera's exposure, set from the face: `light` meters the face; this sets a V4L2 camera's exposure time and
gain 4 times a second from that reading, before any digital lift (exposure time adds no noise, digital gain does).

Who does what: the loop hands over the light effect's latest face reading (`steer`, a latest-only slot, no
waiting) and tells the effect when the camera has changed (`camera_changed`, so its curve follows the step at once).
This thread does the ioctls, because a UVC control is a USB control transfer (milliseconds the loop must not wait).

Taking over: the camera's exposure mode is set to manual (`auto_exposure: manual_mode`), and the mode, exposure
time and gain it had are kept; they are set back when the light effect goes (or turns `auto` or `camera` off), when
the camera changes, and when bgfx stops, so the camera is left as it was found. A camera that lacks a manual mode or
an exposure time, an input that is not a V4L2 camera, and a camera whose capture.controls set its exposure or gain
(the user's choice wins) are left alone; the light curve alone lifts the face there. A camera that goes away is
taken over again when it is back.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Iterable, Protocol

from bgfx.live.cameras import controls as camera_controls
from bgfx.live.cameras import v4l2
from bgfx.live.cameras.exposure_plan import ExposureLimits, frame_limit, next_setting
from bgfx.live.capture import takes_controls

log = logging.getLogger(__name__)

PERIOD_S = 0.25  # a step at most this often (4 a second)
RETRY_S = 5.0  # a camera that failed an ioctl (unplugged, a USB glitch) is tried again after this
SETTLE_S = 0.15  # readings from frames metered this soon after a step may predate it (UVC: 1-3 frames): not used
REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EBUSY, errno.EINVAL, errno.ERANGE})  # not a glitch: give up
MODES, TIMES = ("auto_exposure", "exposure_auto"), ("exposure_time_absolute", "exposure_absolute")
OWN = frozenset((*MODES, *TIMES, "gain"))  # capture.controls naming any of these: the user sets the exposure
MAINS = {"50_hz": 10_000 / 100, "60_hz": 10_000 / 120}  # power_line_frequency item → half-period, 100 µs units


class Meter(Protocol):
    """What the light effect's runtime offers (`Chain.camera_meter`)."""

    reading: tuple[int, float] | None
    target_grey: float

    def camera_changed(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Takeover:
    """A camera steered: its controls by role, the limits, the values found (set back at the end) and now."""

    mode: camera_controls.ControlInfo
    manual: int
    time: camera_controls.ControlInfo
    gain: camera_controls.ControlInfo | None
    limits: ExposureLimits
    found: tuple[int, int, int | None]  # (mode, time, gain) as the camera had them


class Refused(Exception):
    """The camera refused a value it listed (not a glitch of the device): it is not steered."""


def write_all(fd: int, values: list[tuple[camera_controls.ControlInfo, int]]) -> dict[str, int]:
    """Set each control in order; name → the value read back. Refused, or OSError for a device glitch or loss."""
    taken = {}
    for info, value in values:
        try:
            taken[info.name] = camera_controls.write(fd, info, value)
        except OSError as e:
            if e.errno in REFUSED:
                raise Refused(f"{info.name} = {value} refused ({e.strerror})") from None
            raise
    return taken


def take_over(fd: int, fps: float) -> Takeover | None:
    """The camera's exposure controls, its exposure set to manual; None (and nothing set) when it lacks them."""
    available = camera_controls.query(fd)
    mode = next((available[name] for name in MODES if name in available), None)
    exposure = next((available[name] for name in TIMES if name in available), None)
    manual = None if mode is None else next((i for i, item in mode.menu if camera_controls.var_name(item) == "manual_mode"), None)
    if mode is None or exposure is None or manual is None or mode.read_only or exposure.read_only:
        return None
    gain = available.get("gain")
    gain = gain if gain is not None and gain.kind == "int" and not gain.read_only else None
    mains = available.get("power_line_frequency")
    flicker = None if mains is None else MAINS.get(dict((i, camera_controls.var_name(n)) for i, n in mains.menu).get(mains.value, ""))
    limits = ExposureLimits((max(1, exposure.minimum), frame_limit(exposure.maximum, fps)),
                            None if gain is None else (gain.minimum, gain.maximum), flicker)
    found = (mode.value if mode.value is not None else mode.default, exposure.value if exposure.value is not None else exposure.default,
             None if gain is None else (gain.value if gain.value is not None else gain.default))
    write_all(fd, [(mode, manual)])
    return Takeover(mode, manual, exposure, gain, limits, found)


def set_back(fd: int, taken: Takeover) -> list[str]:
    """The exposure time and gain as found (while still manual), then the mode as found, each tried whatever the
    others did (the mode above all); what failed, as "name (reason)"."""
    values = [(taken.time, taken.found[1])] + ([(taken.gain, taken.found[2])] if taken.gain is not None else [])
    failed = []
    for info, value in values + [(taken.mode, taken.found[0])]:
        try:
            camera_controls.write(fd, info, value)
        except OSError as e:
            failed.append(f"{info.name} ({e.strerror})")
    return failed


class CameraExposure:
    """The steering thread of one V4L2 camera (`device`, read at `fps`), or nothing at all for other inputs."""

    def __init__(self, device: str, fps: float, user_controls: Iterable[str] = (), *, period_s: float = PERIOD_S) -> None:
        self.device, self.fps, self.period_s = device, fps, period_s
        self._user = bool(OWN & set(user_controls))
        if self._user:
            log.info("light: capture.controls sets %s's exposure: the light curve alone lifts the face", device)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._offered: tuple[float, float, float] | None = None  # (monotonic s offered, face grey, target grey)
        self._last_ms: int | None = None
        self._wanted = False
        self._changed = False
        self._closed = False
        self._taken: Takeover | None = None
        self._retake = False  # an ioctl failed (a glitch, an unplug): take the camera over again before a step
        self._found: tuple[int, int, int | None] | None = None  # (mode, time, gain) as found at the first takeover
        self.settings: tuple[int, int | None] | None = None  # (exposure time, gain) set last (status, tests)
        self._thread: threading.Thread | None = None
        if takes_controls(device):
            self._thread = threading.Thread(target=self._run, name="camera-exposure", daemon=True)
            self._thread.start()

    def steer(self, meter: Meter | None) -> None:
        """Called by the loop once a frame: hand over a new face reading; tell the meter of a step the camera took."""
        if self._thread is None:
            return
        with self._lock:
            self._wanted = meter is not None and not self._user
            reading = None if meter is None else meter.reading
            if reading is not None and reading[0] != self._last_ms:
                self._last_ms = reading[0]
                self._offered = (time.monotonic(), reading[1], meter.target_grey)
            changed, self._changed = self._changed, False
        if changed and meter is not None:
            meter.camera_changed()

    def close(self) -> None:
        """Stop steering and set the camera back as it was found."""
        with self._lock:
            self._closed, self._wanted = True, False
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        last_step = 0.0
        while not self._closed:
            self._wake.wait(self.period_s)
            with self._lock:
                wanted, offered = self._wanted and not self._closed, self._offered
                self._offered = None  # each reading is used once
            try:
                if not wanted:
                    self._release()
                elif offered is not None and offered[0] >= last_step + SETTLE_S and self._step(offered[1], offered[2]):
                    last_step = time.monotonic()
            except OSError as e:  # a glitch or unplugged: taken over again when it answers (and set back at the end)
                log.warning("camera %s: cannot set its exposure (%s); trying again", self.device, e.strerror)
                self._retake = True
                self._wake.wait(RETRY_S)
            except Refused as e:
                log.warning("light: camera %s: %s; its exposure is left to it, the light curve alone lifts the face", self.device, e)
                self._user = True
        self._release()

    def _step(self, face: float, target: float) -> bool:
        """One step towards `target`: True when the camera was changed (the device is opened only to change it)."""
        taken = self._taken
        planned = None if taken is None or self._retake else next_setting(face, target, *self.settings, taken.limits)
        if taken is not None and not self._retake and planned is None:
            return False
        with v4l2.opened(self.device) as fd:
            if taken is None or self._retake:
                taken = self._take(fd)
                if taken is None:
                    return False
                planned = next_setting(face, target, *self.settings, taken.limits)
                if self.settings[0] > taken.limits.longest:  # found longer than a frame: the frame rate first
                    planned = (taken.limits.longest, self.settings[1])
                if planned is None:
                    return False
            values = [(control, value) for control, value, now in
                      ((taken.time, planned[0], self.settings[0]), (taken.gain, planned[1], self.settings[1]))
                      if control is not None and value != now]  # only what changes: each is a USB transfer
            readback = write_all(fd, values)
        before, self.settings = self.settings, (readback.get(taken.time.name, self.settings[0]),
                                                readback.get(taken.gain.name, self.settings[1]) if taken.gain is not None else None)
        log.debug("camera %s: exposure %s, gain %s (face %.0f, target %.0f)", self.device, *self.settings, face, target)
        if self.settings == before:  # the camera kept its values (clamped, quantised): nothing for the curve to follow
            return False
        with self._lock:
            self._changed = True
        return True

    def _take(self, fd: int) -> Takeover | None:
        """Take the camera over (again after a glitch: what is set back stays what the camera had at first)."""
        taken = take_over(fd, self.fps)
        self._retake = False
        if taken is None:
            log.info("camera %s has no manual exposure time: the light curve alone lifts the face", self.device)
            self._user = True
            return None
        if self._found is None:
            self._found = taken.found
            log.info("camera %s: exposure set from the face (found: %s)", self.device, taken.found)
        self.settings = taken.found[1:]  # what the camera has now
        taken = self._taken = replace(taken, found=self._found)
        return taken

    def _release(self) -> None:
        """Set the camera back if it is steered."""
        taken, self._taken = self._taken, None
        if taken is None:
            return
        try:
            with v4l2.opened(self.device) as fd:
                failed = set_back(fd, taken)
        except OSError as e:
            failed = [f"the device ({e.strerror})"]
        if failed:
            log.warning("camera %s: could not set back its exposure as found: %s", self.device, ", ".join(failed))
        else:
            self._found = None
            log.info("camera %s: exposure set back as found", self.device)
