"""The `framing:` section's schema, apart from the framer that uses it (loading a config imports no numpy)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal


MODES = ("off", "once", "follow")


def parse_mode(value: object) -> str:
    """A mode from YAML, where a bare `off` reads as false (YAML 1.1): false → "off"."""
    if value is False:
        return "off"
    if value not in MODES:
        raise ValueError(f"must be one of {', '.join(MODES)}, got {value!r}")
    return str(value)


@dataclass(frozen=True, slots=True)
class FramingSettings:
    """mode: off, once (frame at start and on `reframe`) or follow; max_zoom: the most the picture is
    enlarged (1.0 = never); headroom: where the head top sits, as a fraction of the output height;
    speed: the follow's natural frequency in 1/s (higher = quicker, still without overshoot)."""

    mode: Literal["off", "once", "follow"] = field(default="off", metadata={"parse": parse_mode})
    max_zoom: float = field(default=2.0, metadata={"range": (1.0, 4.0)})
    headroom: float = field(default=0.10, metadata={"range": (0.0, 0.4)})
    speed: float = field(default=2.0, metadata={"range": (0.2, 10.0)})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: expected off, once or follow, got {self.mode!r}")
        for spec in fields(self):
            if "range" not in spec.metadata:
                continue
            (low, high), key, value = spec.metadata["range"], spec.name, getattr(self, spec.name)
            if not low <= value <= high:
                raise ValueError(f"{key}: expected {low}..{high}, got {value!r}")
