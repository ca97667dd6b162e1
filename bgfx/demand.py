"""On demand: watch the loopback device node for readers with inotify.

The kernel reports every open and close of the node; readers = opens - closes
since the watch began (bgfx's own writer opened the device before, so it is
not counted). While there are none, the daemon keeps the camera closed and
blocks here, using no CPU.
"""

from __future__ import annotations

import logging
from pathlib import Path

from inotify_simple import INotify, flags

from bgfx.errors import SinkError

log = logging.getLogger(__name__)


class ReaderWatch:
    def __init__(self, node: Path) -> None:
        if not node.exists():
            raise SinkError(f"on demand: {node} does not exist; set output.device to the v4l2loopback node")
        self.node = node
        self._inotify = INotify()
        self._inotify.add_watch(str(node), flags.OPEN | flags.CLOSE_WRITE | flags.CLOSE_NOWRITE)
        self.readers = 0

    def poll(self, timeout_s: float) -> int:
        """Wait up to timeout_s for opens/closes; returns the reader count after them."""
        for event in self._inotify.read(timeout=int(timeout_s * 1000)):
            if event.mask & flags.OPEN:
                self.readers += 1
            if event.mask & (flags.CLOSE_WRITE | flags.CLOSE_NOWRITE):
                self.readers = max(0, self.readers - 1)
        return self.readers

    def close(self) -> None:
        self._inotify.close()
