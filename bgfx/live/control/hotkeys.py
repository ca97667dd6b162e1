"""Global hotkeys with pynput (X11): each key combination enqueues a command for the live loop.

The bindings were parsed (and checked against the command table) when the
config was loaded; pynput's listener thread only enqueues the command, and the
live loop applies it.
Wayland gives applications no global hotkeys: there `bgfx ctl` bound to a
desktop shortcut does the same (see the README).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from bgfx.live.control.commands import CommandQueue, parse_command

log = logging.getLogger(__name__)


class Hotkeys:
    def __init__(self, bindings: dict[str, str], commands: CommandQueue) -> None:
        self.bindings = bindings
        self._commands = commands
        self._listener: Any = None

    def start(self) -> None:
        """Start listening; where global hotkeys are unavailable, say so in the log (never raised)."""
        if not self.bindings:
            return
        if not os.environ.get("DISPLAY"):
            hint = " (Wayland: bind desktop shortcuts to `bgfx ctl ...`)" if os.environ.get("WAYLAND_DISPLAY") else ""
            log.warning("no X display: hotkeys are off%s", hint)
            return
        try:
            from pynput import keyboard

            handlers = {combo: self._handler(text) for combo, text in self.bindings.items()}
            self._listener = keyboard.GlobalHotKeys(handlers)
            self._listener.start()
            self._listener.wait()
        except Exception as e:  # pynput raises backend-specific errors (Xlib, ValueError on a bad combo)
            log.warning("hotkeys are off: %s", e)
            self._listener = None
            return
        log.info("hotkeys: %s", ", ".join(f"{k} → {v}" for k, v in self.bindings.items()))

    def _handler(self, text: str):
        command = parse_command(text)

        def enqueue() -> None:
            if not self._commands.put(command):
                log.warning("hotkey %s dropped: command queue full", command)

        return enqueue

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
