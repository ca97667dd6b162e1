"""The config-file watch: a thread that enqueues `reload-if-changed` when the config file is written
or replaced (editors save by writing a new file and renaming it over the old,
so the directory is watched). Like hotkeys and the control socket, it only
hands a command over; the live loop applies it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from inotify_simple import INotify, flags

from bgfx.live.control.commands import Command, CommandQueue

log = logging.getLogger(__name__)


class ConfigWatch:
    """Enqueue `reload-if-changed` shortly after the config file changes (one reload per burst of writes)."""

    def __init__(self, path: Path, commands: CommandQueue, settle_s: float = 0.3) -> None:
        self.path = path.resolve()
        self._commands = commands
        self._settle_ms = int(settle_s * 1000)
        self._inotify = INotify()
        self._inotify.add_watch(str(self.path.parent), flags.CLOSE_WRITE | flags.MOVED_TO | flags.CREATE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bgfx-config-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("watching %s: saved changes are applied", self.path)

    def _run(self) -> None:
        while not self._stop.is_set():
            events = self._inotify.read(timeout=500)
            if not any(event.name == self.path.name for event in events):
                continue
            while self._inotify.read(timeout=self._settle_ms):  # let the editor finish
                pass
            if not self._commands.put(Command("reload-if-changed")):
                log.warning("config changed, but the command queue is full; reload by hand")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._inotify.close()
