"""What the camera's exposure should be next: the steps, in linear light, from the face's level to the target's.

A camera's exposure time scales the light it records, so the step is worked out on linear light (sRGB decoded),
where doubling the exposure doubles the face: the ratio of the target's linear level to the face's. The camera
moves only when the face is more than `BAND` off (about ±5 L*, which the light curve makes up without visible
noise), and then `PULL` of the way (in log terms), at most `MAX_STEP` a step: a steady approach without overshoot
that the light curve can follow frame by frame. Brighter: a longer exposure first (no added noise), up to the
frame interval (longer would lower the frame rate); then the camera's gain, a sixteenth of its range a step. Darker:
the gain first, then the exposure. Under mains light (power_line_frequency 50 or 60 Hz) an exposure of a
half-period or more is a whole number of half-periods (10 ms, 8.3 ms), so lamps do not roll bands through the
picture, as a camera's own automatic exposure does; a step that such a whole number would carry past the band on
the other side is not taken (it would hunt between two of them), and the light curve makes up the rest.

Units are V4L2's: exposure_time_absolute in 100 µs, gain in the camera's own steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BAND = 1.25  # linear ratio: a face within ±25 % of the target's light (about ±5 L*) leaves the camera alone
PULL = 0.6  # the share of the (log) error a step corrects: no overshoot while the reading lags a frame or two
MAX_STEP = 1.5  # a step changes the exposure by at most ×1.5 (or ÷1.5)
GAIN_STEPS = 16  # the gain moves a sixteenth of its range a step
UNITS_PER_S = 10_000  # exposure_time_absolute counts 100 µs


@dataclass(frozen=True, slots=True)
class ExposureLimits:
    """time: the exposure times allowed (lowest, highest; the highest at most the frame interval), 100 µs units;
    gain: the gain's range, or None for a camera without one; flicker: the mains half-period in 100 µs units
    (100.0 at 50 Hz, 83.3 at 60 Hz), or None."""

    time: tuple[int, int]
    gain: tuple[int, int] | None = None
    flicker: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.time[0] <= self.time[1]:
            raise ValueError(f"time: expected 0 < lowest <= highest, got {self.time}")
        if self.gain is not None and self.gain[0] > self.gain[1]:
            raise ValueError(f"gain: expected lowest <= highest, got {self.gain}")

    @property
    def longest(self) -> int:
        """The longest exposure allowed: under mains light, the last whole half-period within the frame interval."""
        low, high = self.time
        if self.flicker and high >= self.flicker:
            return max(low, min(high, round(math.floor(high / self.flicker + 0.01) * self.flicker)))  # 4 × 8.33 ms in 333
        return high


def frame_limit(maximum: int, fps: float) -> int:
    """The camera's longest exposure, capped at one frame interval at `fps` (100 µs units)."""
    return max(1, min(maximum, int(UNITS_PER_S / fps)))


def linear(grey: float) -> float:
    """The linear light 0..1 of an sRGB grey level 0..255."""
    value = min(max(grey, 0.0), 255.0) / 255.0
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def next_setting(face: float, target: float, time: int, gain: int | None, limits: ExposureLimits) -> tuple[int, int | None] | None:
    """The (exposure time, gain) to set next for a face at grey `face` (0..255, before any digital lift) aiming at
    grey `target`; None when the camera should stay as it is (within the band, or at its limit)."""
    ratio = linear(target) / max(linear(face), 1e-4)
    if 1.0 / BAND <= ratio <= BAND:
        return None
    factor = min(MAX_STEP, max(1.0 / MAX_STEP, ratio**PULL))
    gain_step = 0 if limits.gain is None else max(1, (limits.gain[1] - limits.gain[0]) // GAIN_STEPS)
    if factor > 1.0:
        if time < limits.longest:
            longer = _longer(time, factor, limits)
            return (longer, gain) if ratio * time / longer >= 1.0 / BAND else None  # a half-period too far: stay
        if gain is not None and limits.gain is not None and gain < limits.gain[1]:
            return time, min(limits.gain[1], gain + gain_step)
        return None
    if gain is not None and limits.gain is not None and gain > limits.gain[0]:
        return time, max(limits.gain[0], gain - gain_step)
    if time > limits.time[0]:
        shorter = _shorter(time, factor, limits)
        return (shorter, gain) if ratio * time / shorter <= BAND else None
    return None


def _longer(time: int, factor: float, limits: ExposureLimits) -> int:
    """A longer exposure than `time`, about `factor` times it, at most `limits.longest`, on a half-period if ≥ one."""
    wanted = time * factor
    period = limits.flicker
    if period and wanted >= period:
        wanted = math.ceil(wanted / period - 1e-9) * period
    return min(limits.longest, max(time + 1, math.ceil(wanted)))


def _shorter(time: int, factor: float, limits: ExposureLimits) -> int:
    """A shorter exposure than `time`, about `factor` times it, at least `limits.time[0]`, on a half-period if ≥ one."""
    wanted = time * factor
    period = limits.flicker
    if period and wanted >= period:
        wanted = math.floor(wanted / period + 1e-9) * period
    return max(limits.time[0], min(time - 1, math.floor(wanted)))
