"""Global shortcuts from the config's `hotkeys:` table: pynput on X11, the GlobalShortcuts portal otherwise.

The bindings were parsed (and checked against the command table) when the
config was loaded; the listener thread (pynput's, or the portal's in
portal_shortcuts.py) only enqueues the command, and the live loop applies it.
Where neither works, one log line says how to bind `bgfx ctl VERB` by hand.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from bgfx.live.control.commands import CommandQueue
from bgfx.live.control.verbs import parse_command

log = logging.getLogger(__name__)

# pynput.keyboard.Key's names: pynput cannot even be imported without an X display, and a config must be
# checkable anywhere. A test presses the shipped bindings with xdotool, so a drift from pynput shows.
KEY_NAMES = frozenset(
    "alt alt_l alt_r alt_gr backspace caps_lock cmd cmd_l cmd_r ctrl ctrl_l ctrl_r delete down end enter esc "
    "home left page_down page_up right shift shift_l shift_r space tab up media_play_pause media_volume_mute "
    "media_volume_down media_volume_up media_previous media_next insert menu num_lock pause print_screen "
    "scroll_lock".split()
) | {f"f{n}" for n in range(1, 21)}


def check_combination(text: str) -> None:
    """Raise ValueError unless pynput's GlobalHotKeys accepts `text` ('<ctrl>+<alt>+b').

    Its rules: parts joined by '+' (a '+' right after one is the plus key), each one character or a
    special key in angle brackets (a Key name or a virtual key code), none twice, case-insensitive.
    """
    parts, start = [], 0
    for index, char in enumerate(text):
        if char == "+" and index != start:
            parts.append(text[start:index])
            start = index + 1
    if start == len(text):
        raise ValueError(f"{text!r} ends without a key; write it like '<ctrl>+<alt>+b'")
    parts.append(text[start:])
    for part in parts:
        name = part[1:-1].lower() if len(part) > 2 and part[0] == "<" and part[-1] == ">" else None
        if len(part) != 1 and not (name is not None and (name in KEY_NAMES or name.isdigit())):
            hint = f"; did you mean <{part}>?" if part.lower() in KEY_NAMES else ""
            raise ValueError(f"{part!r} is not a key: use one character or a special key like <ctrl>, <space>, <f5>{hint}")
    lowered = [part.lower() for part in parts]
    if len(set(lowered)) != len(lowered):
        raise ValueError(f"{text!r} names a key twice")


class Hotkeys:
    def __init__(self, bindings: dict[str, str], commands: CommandQueue) -> None:
        self.bindings = bindings
        self._commands = commands
        self._listener: Any = None

    def start(self) -> None:
        """Start listening; where global hotkeys are unavailable, say so in the log (never raised)."""
        if not self.bindings:
            return
        try:
            from pynput import keyboard

            handlers = {combo: self._handler(text) for combo, text in self.bindings.items()}
            self._listener = keyboard.GlobalHotKeys(handlers)
            self._listener.start()
            self._listener.wait()
        except Exception as e:  # pynput raises backend-specific errors (Xlib, ValueError on a bad combo)
            log.warning("hotkeys are off: %s; bind desktop shortcuts to `bgfx ctl VERB` by hand", e)
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


def shortcut_backend(env: Mapping[str, str]) -> tuple[str, str]:
    """("x11", why) when pynput can grab keys: an X session (XDG_SESSION_TYPE=x11, or DISPLAY without
    WAYLAND_DISPLAY); else ("portal", why): Wayland's XWayland DISPLAY sees only X clients' keys."""
    if env.get("XDG_SESSION_TYPE") == "x11":
        return "x11", "XDG_SESSION_TYPE=x11"
    if env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return "x11", f"DISPLAY={env['DISPLAY']} and no WAYLAND_DISPLAY"
    if env.get("WAYLAND_DISPLAY"):
        return "portal", f"WAYLAND_DISPLAY={env['WAYLAND_DISPLAY']}"
    return "portal", "no X display"

