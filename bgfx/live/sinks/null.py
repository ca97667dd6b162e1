"""Sink `null`: frames are dropped, for benchmarks and headless runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bgfx.live.sinks.base import SinkKind, always_read, nothing_to_check

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings


class NullSink:
    def send(self, image: np.ndarray) -> None:
        """Dropped."""

    readers = staticmethod(always_read)

    def close(self) -> None:
        """Nothing to release."""


def _open(settings: OutputSettings, size: tuple[int, int], fps: float) -> NullSink:
    return NullSink()


KIND = SinkKind("null", _open, nothing_to_check("null"))
