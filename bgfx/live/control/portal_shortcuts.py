"""Global shortcuts on Wayland through the XDG GlobalShortcuts portal (KDE Plasma 6, GNOME 48+ where granted).

Wayland gives applications no global key grabs; the portal does: bgfx offers
its `hotkeys:` table as shortcuts (id = the command text, description = the
verb's help line, preferred_trigger = the configured keys in the portal's
"CTRL+ALT+b" form), the desktop lets the user bind them, and each `Activated`
signal becomes the same Command the X11 hotkeys enqueue. The D-Bus client is
jeepney: pure Python, no compiled extension and no dependency, and its blocking
I/O suits one thread that only hands Commands to the live loop's queue.

The portal answers CreateSession and BindShortcuts through a Request object:
the call returns its path, and the answer comes as that object's `Response`
signal. The path is known before the call (.../request/SENDER/TOKEN, SENDER
the caller's unique name without ':' and with '.' → '_'), so the signal is
listened for first and cannot be missed. A closed session, a lost portal or a
refusal is logged and ends the thread; the daemon goes on.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections import deque
from typing import Any, Mapping

from jeepney import DBusAddress, MatchRule, Message, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

from bgfx.live.control.commands import CommandQueue
from bgfx.live.control.verbs import VERBS, parse_command
from bgfx.live.control.hotkeys import shortcut_backend

log = logging.getLogger(__name__)

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL = DBusAddress("/org/freedesktop/portal/desktop", bus_name=PORTAL_NAME,
                     interface="org.freedesktop.portal.GlobalShortcuts")
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
SESSION_INTERFACE = "org.freedesktop.portal.Session"
ANSWER_TIMEOUT_S = 120.0  # BindShortcuts may wait for the user in a dialog
POLL_S = 0.5  # how often the listening thread looks whether it should stop
MANUAL_HINT = "bind desktop shortcuts to `bgfx ctl VERB` by hand (e.g. `bgfx ctl toggle-pause`)"

# pynput modifier and key names → the portal's (XKB keysym) names; other keys keep their character.
MODIFIERS = {"ctrl": "CTRL", "ctrl_l": "CTRL", "ctrl_r": "CTRL", "alt": "ALT", "alt_l": "ALT", "alt_r": "ALT",
             "alt_gr": "ALT", "shift": "SHIFT", "shift_l": "SHIFT", "shift_r": "SHIFT",
             "cmd": "LOGO", "cmd_l": "LOGO", "cmd_r": "LOGO"}
KEYSYMS = {"backspace": "BackSpace", "caps_lock": "Caps_Lock", "delete": "Delete", "down": "Down", "end": "End",
           "enter": "Return", "esc": "Escape", "home": "Home", "left": "Left", "page_down": "Page_Down",
           "page_up": "Page_Up", "right": "Right", "space": "space", "tab": "Tab", "up": "Up", "insert": "Insert",
           "menu": "Menu", "num_lock": "Num_Lock", "pause": "Pause", "print_screen": "Print",
           "scroll_lock": "Scroll_Lock", "media_play_pause": "XF86AudioPlay", "media_volume_mute": "XF86AudioMute",
           "media_volume_down": "XF86AudioLowerVolume", "media_volume_up": "XF86AudioRaiseVolume",
           "media_previous": "XF86AudioPrev", "media_next": "XF86AudioNext"} | {f"f{n}": f"F{n}" for n in range(1, 21)}


class PortalError(Exception):
    """The portal is missing, refused, or went away: one line for the log."""


def portal_trigger(combination: str) -> str:
    """'<ctrl>+<alt>+b' → 'CTRL+ALT+b', '<cmd>+<f5>' → 'LOGO+F5' (checked by hotkeys.check_combination first)."""
    parts, start = [], 0
    for index, char in enumerate(combination):
        if char == "+" and index != start:
            parts.append(combination[start:index])
            start = index + 1
    parts.append(combination[start:])
    names = []
    for part in parts:
        name = part[1:-1].lower() if len(part) > 2 and part[0] == "<" and part[-1] == ">" else None
        if name is None:
            names.append("plus" if part == "+" else part.lower())
        else:
            names.append(MODIFIERS.get(name) or KEYSYMS.get(name) or name)
    modifiers = [name for name in names if name in MODIFIERS.values()]
    return "+".join(modifiers + [name for name in names if name not in MODIFIERS.values()])


def offered_shortcuts(bindings: Mapping[str, str]) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """The BindShortcuts argument, a(sa{sv}): (command text, {description, preferred_trigger}) per binding."""
    shortcuts = []
    for combination, text in bindings.items():
        command = parse_command(text)
        description = VERBS[command.verb].help + (f": {command.argument}" if command.argument else "")
        shortcuts.append((str(command), {"description": ("s", description),
                                         "preferred_trigger": ("s", portal_trigger(combination))}))
    return shortcuts


def connect() -> DBusConnection:
    """The session bus; PortalError when there is none to reach."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        raise PortalError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)")
    try:
        return open_dbus_connection(bus=address)
    except (OSError, ValueError) as e:
        raise PortalError(f"cannot reach the D-Bus session bus at {address} ({e})") from None


def request_path(connection: DBusConnection, token: str) -> str:
    sender = (connection.unique_name or "").lstrip(":").replace(".", "_")
    return f"/org/freedesktop/portal/desktop/request/{sender}/{token}"


def call(connection: DBusConnection, message: Message) -> tuple:
    """A method call's reply body; PortalError naming the D-Bus error."""
    try:
        return unwrap_msg(connection.send_and_get_reply(message, timeout=10.0))
    except DBusErrorResponse as e:
        raise PortalError(f"{message.header.fields.get(3, 'call')}: {e.name} {e.data}") from None
    except TimeoutError:
        raise PortalError("the portal did not answer within 10 s") from None


def ask(connection: DBusConnection, method: str, signature: str, body: tuple) -> dict[str, Any]:
    """Call `method`, whose last argument is the options a{sv}, and wait for its Request's Response:
    the results a{sv} (values as jeepney's (signature, value) pairs); PortalError when refused."""
    token = "bgfx_" + secrets.token_hex(6)
    path = request_path(connection, token)
    rule = MatchRule(type="signal", interface=REQUEST_INTERFACE, member="Response", path=path)
    call(connection, message_bus.AddMatch(rule))
    with connection.filter(rule) as answers:
        options = {**body[-1], "handle_token": ("s", token)}
        call(connection, new_method_call(PORTAL, method, signature, (*body[:-1], options)))
        try:
            response, results = connection.recv_until_filtered(answers, timeout=ANSWER_TIMEOUT_S).body
        except TimeoutError:
            raise PortalError(f"{method}: no Response within {ANSWER_TIMEOUT_S:.0f} s") from None
    call(connection, message_bus.RemoveMatch(rule))
    if response != 0:
        raise PortalError(f"{method} was {'cancelled' if response == 1 else 'refused'} (response {response})")
    return results


class PortalShortcuts:
    """The portal session on its own thread: bindings {'<ctrl>+<alt>+b': 'toggle blur'}; Activated → commands.

    `start` returns at once; `stop` ends the thread (within POLL_S) and closes the portal session.
    `failed` is set with a one-line reason when the portal could not be used or went away.
    """

    def __init__(self, bindings: Mapping[str, str], commands: CommandQueue) -> None:
        self.bindings = dict(bindings)
        self._commands = commands
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bgfx-portal-shortcuts", daemon=True)
        self.bound = threading.Event()
        self.failed: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        try:
            connection = connect()
        except PortalError as e:
            self._fail(str(e))
            return
        session = None
        try:
            session = self._bind(connection)
            self._listen(connection, session)
        except PortalError as e:
            self._fail(str(e))
        except (OSError, EOFError) as e:  # the bus connection broke
            self._fail(f"the session bus went away ({e})")
        finally:
            if session is not None and not self.failed:
                self._close(connection, session)
            connection.close()

    def _bind(self, connection: DBusConnection) -> str:
        """CreateSession then BindShortcuts; the session's object path."""
        created = ask(connection, "CreateSession", "a{sv}", ({"session_handle_token": ("s", "bgfx")},))
        session = created["session_handle"][1]
        results = ask(connection, "BindShortcuts", "oa(sa{sv})sa{sv}",
                      (session, offered_shortcuts(self.bindings), "", {}))
        bound = {ident: dict(props) for ident, props in results.get("shortcuts", ("", []))[1]}
        triggers = ", ".join(f"{ident} → {props.get('trigger_description', ('s', 'unbound'))[1] or 'unbound'}"
                             for ident, props in bound.items())
        log.info("shortcuts (GlobalShortcuts portal): %s", triggers or "none bound yet")
        self.bound.set()
        return session

    def _listen(self, connection: DBusConnection, session: str) -> None:
        """Hand each Activated over as a Command until stop, the session's Closed or the portal's loss."""
        activated = MatchRule(type="signal", interface=PORTAL.interface, member="Activated", path=PORTAL.object_path)
        closed = MatchRule(type="signal", interface=SESSION_INTERFACE, member="Closed", path=session)
        lost = MatchRule(type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                         member="NameOwnerChanged", path="/org/freedesktop/DBus")
        lost.add_arg_condition(0, PORTAL_NAME)
        for rule in (activated, closed, lost):
            call(connection, message_bus.AddMatch(rule))
        signals: deque[Message] = deque(maxlen=32)
        with connection.filter(activated, queue=signals), connection.filter(closed, queue=signals), \
                connection.filter(lost, queue=signals):
            while not self._stopping.is_set():
                try:
                    message = connection.recv_until_filtered(signals, timeout=POLL_S)
                except TimeoutError:
                    continue
                member = message.header.fields.get(3)  # HeaderFields.member
                if member == "Closed":
                    raise PortalError("the desktop closed the shortcuts session")
                if member == "NameOwnerChanged" and not message.body[2]:
                    raise PortalError("the portal left the session bus")
                if member == "Activated" and message.body[0] == session:
                    self._hand_over(message.body[1])

    def _hand_over(self, ident: str) -> None:
        if ident not in {str(parse_command(text)) for text in self.bindings.values()}:
            log.warning("shortcut %r is not one of ours: ignored", ident)
            return
        if not self._commands.put(parse_command(ident)):
            log.warning("shortcut %s dropped: command queue full", ident)

    def _close(self, connection: DBusConnection, session: str) -> None:
        address = DBusAddress(session, bus_name=PORTAL_NAME, interface=SESSION_INTERFACE)
        try:
            call(connection, new_method_call(address, "Close"))
        except (PortalError, OSError) as e:
            log.debug("closing the shortcuts session: %s", e)

    def _fail(self, reason: str) -> None:
        self.failed = reason
        log.warning("shortcuts are off: %s; %s", reason, MANUAL_HINT)


def portal_available(timeout_s: float = 3.0) -> str | None:
    """None when the session bus has a portal with GlobalShortcuts, else why not (for `bgfx doctor`)."""
    try:
        connection = connect()
    except PortalError as e:
        return str(e)
    try:
        get = new_method_call(DBusAddress(PORTAL.object_path, PORTAL_NAME, "org.freedesktop.DBus.Properties"),
                              "Get", "ss", (PORTAL.interface, "version"))
        version = unwrap_msg(connection.send_and_get_reply(get, timeout=timeout_s))[0][1]
        return None if version else "the portal reports no GlobalShortcuts version"
    except DBusErrorResponse as e:
        return f"no GlobalShortcuts portal on the session bus ({e.name})"
    except (TimeoutError, OSError) as e:
        return f"the portal did not answer ({e})"
    finally:
        connection.close()


def describe_backend(env: Mapping[str, str], bindings: int) -> tuple[str, str, str]:
    """For `bgfx doctor`: (level "ok" | "warn", which shortcut back end is active and why, the fix or "")."""
    backend, why = shortcut_backend(env)
    if backend == "x11":
        try:
            from pynput import keyboard  # noqa: F401 (pynput opens the X display on import)
        except Exception as e:  # pynput raises its back end's errors (Xlib's, ImportError)
            return "warn", f"pynput (X11, {why}) cannot use the display: {e}", MANUAL_HINT
        return "ok", f"pynput (X11, {why}): {bindings} bindings", ""
    reason = portal_available()
    if reason is not None:
        return "warn", f"GlobalShortcuts portal ({why}) unavailable: {reason}", MANUAL_HINT
    return "ok", f"GlobalShortcuts portal ({why}): {bindings} bindings offered, the desktop binds them", ""
