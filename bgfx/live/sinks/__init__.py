"""Where frames go: the registry of sink kinds (the contract is in `base`).

Adding a sink is one new file in this folder that defines a `KIND`, and one
line in `SINKS` below. The config's allowed `output.sink` values, the CLI's
`--sink` choices and help, `bgfx doctor`'s checks and the error listing the
kinds all read this registry. A kind's module (and its engine: pyvirtualcam,
OpenCV's writer, GStreamer) is imported only when that kind is opened or
checked, so loading a config or running `bgfx ctl` imports none of them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bgfx.errors import SinkError
from bgfx.live.sinks.base import Check, Sink, SinkKind

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings


@dataclass(frozen=True, slots=True)
class Registered:
    """name: the `output.sink` value; about: its help line; module: where its `KIND` is defined."""

    name: str
    about: str
    module: str

    @property
    def kind(self) -> SinkKind:
        return importlib.import_module(self.module).KIND


SINKS: dict[str, Registered] = {entry.name: entry for entry in (
    Registered("virtualcam", "a v4l2loopback virtual camera (pyvirtualcam)", "bgfx.live.sinks.virtualcam"),
    Registered("pipewire", "a PipeWire camera (no kernel module; browsers through the camera portal, OBS)",
               "bgfx.live.sinks.pipewire"),
    Registered("file", "a video file (output.path)", "bgfx.live.sinks.file"),
    Registered("preview", "a window on the desktop", "bgfx.live.sinks.preview"),
    Registered("null", "nowhere (benchmarks, headless runs)", "bgfx.live.sinks.null"),
)}

__all__ = ["SINKS", "Check", "Registered", "Sink", "SinkKind", "open_sink"]


def open_sink(settings: OutputSettings, size: tuple[int, int], fps: float) -> Sink:
    """Open the configured kind at (w, h) and fps; SinkError with the fix when it cannot."""
    entry = SINKS.get(settings.sink)
    if entry is None:
        raise SinkError(f"output.sink: unknown sink {settings.sink!r}; valid: {', '.join(SINKS)}")
    return entry.kind.open(settings, size, fps)
