"""Where frames go: the registry of sink kinds (the contract is in `base`).

Adding a sink is one new file in this folder that defines a `KIND`, and one
entry in `SINKS` below. The config's allowed `output.sink` values, the CLI's
`--sink` choices, `bgfx doctor`'s checks and the error listing the kinds all
read this registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bgfx.errors import SinkError
from bgfx.live.sinks import file, null, pipewire, preview, virtualcam
from bgfx.live.sinks.base import Check, Sink, SinkKind

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings

SINKS: dict[str, SinkKind] = {kind.name: kind for kind in (virtualcam.KIND, pipewire.KIND, file.KIND, preview.KIND, null.KIND)}

__all__ = ["SINKS", "Check", "Sink", "SinkKind", "open_sink"]


def open_sink(settings: OutputSettings, size: tuple[int, int], fps: float) -> Sink:
    """Open the configured kind at (w, h) and fps; SinkError with the fix when it cannot."""
    kind = SINKS.get(settings.sink)
    if kind is None:
        raise SinkError(f"output.sink: unknown sink {settings.sink!r}; valid: {', '.join(SINKS)}")
    return kind.open(settings, size, fps)
