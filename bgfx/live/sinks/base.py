"""The sink contract: what every kind of output provides, and how it is registered.

A sink takes (H, W, 3) uint8 BGR images of the size it was opened with. It
says how many readers it has (for `live.on_demand`: the camera runs only while
someone reads); a sink that cannot tell answers 1, always read. A `SinkKind`
names the kind (the config's `output.sink` value), opens it, and tells
`bgfx doctor` what stands in its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    import numpy as np

    from bgfx.live.settings import OutputSettings


class Sink(Protocol):
    def send(self, image: np.ndarray) -> None:
        """Send one frame; done with `image` when it returns (the caller reuses the buffer for the next)."""

    def readers(self, timeout_s: float) -> int:
        """How many read the output now, after waiting up to timeout_s for a change."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Check:
    """One line of `bgfx doctor`: level is "ok", "warn" or "FAIL" (a FAIL blocks `bgfx run`)."""

    name: str
    level: str
    detail: str
    fix: str = ""


Size = tuple[int, int]


@dataclass(frozen=True, slots=True)
class SinkKind:
    """name: the `output.sink` value (registered with its help line in `bgfx.live.sinks.SINKS`);
    open(settings, (w, h), fps) → Sink (SinkError with the fix when it cannot); doctor(settings, (w, h), fps) → checks."""

    name: str
    open: Callable[[OutputSettings, Size, float], Sink]
    doctor: Callable[[OutputSettings, Size, float], list[Check]]


def always_read(timeout_s: float) -> int:
    """`readers` of a sink that cannot tell: always one reader."""
    return 1


def nothing_to_check(name: str) -> Callable[[OutputSettings, Size, float], list[Check]]:
    return lambda settings, size, fps: [Check(f"output ({name})", "ok", "nothing to check")]
