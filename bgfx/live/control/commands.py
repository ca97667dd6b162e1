"""The one command table: every verb, whether it takes an argument, its help line and its handler.

Hotkeys, `bgfx ctl` (the control socket), SIGHUP, the config watch and any
future front end speak these verbs; `bgfx ctl --help` and the config's hotkey
validation read the table too. Front-end threads only parse and enqueue (or
`ask`: parse, enqueue, wait for the answer); the live loop applies commands
between frames through `CommandHandler`, so no state is touched from two threads.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bgfx.errors import CommandError

if TYPE_CHECKING:
    from bgfx.live.control.handler import CommandHandler


@dataclass(frozen=True, slots=True)
class Verb:
    """name; argument: what its one argument names (None = takes none); help: one line;
    handler(handler, argument) → its message, its data (a dict) or background work, run by the live loop (None:
    answered at once from the status snapshot); query: it only reads (its answer's data), so it is no hotkey."""

    name: str
    argument: str | None
    help: str
    handler: Callable[[CommandHandler, str | None], object] | None
    query: bool = False


TABLE: tuple[Verb, ...] = (
    Verb("status", None, "fps in/out, latency, model, preset, effects", None, query=True),
    Verb("model", "NAME", "switch the person model", lambda h, arg: h.switch_model(arg or "")),
    Verb("next-model", None, "the next model of segmentation.models", lambda h, arg: h.step_model(1)),
    Verb("previous-model", None, "the previous model of segmentation.models", lambda h, arg: h.step_model(-1)),
    Verb("toggle", "EFFECT", "turn one effect of the chain on or off", lambda h, arg: h.toggle(arg or "")),
    Verb("preset", "NAME", "run a named chain (default: the effects list)", lambda h, arg: h.choose_preset(arg or "")),
    Verb("next-preset", None, "the next preset", lambda h, arg: h.step_preset(1)),
    Verb("pause", None, "show the privacy card (the camera is released)", lambda h, arg: h.set_paused(True)),
    Verb("resume", None, "back to the camera", lambda h, arg: h.set_paused(False)),
    Verb("toggle-pause", None, "pause or resume", lambda h, arg: h.set_paused(None)),
    Verb("reload", None, "apply the config file again", lambda h, arg: h.reload()),
    Verb("reload-if-changed", None, "apply the config file again unless it is what bgfx last read or wrote "
         "(the file watch sends it)", lambda h, arg: h.reload(only_if_changed=True)),
    Verb("set", "KEY=VALUE", "change a setting live: effects.NAME.PARAM, refine.KEY, ... (`save` keeps it)",
         lambda h, arg: h.edits.set(arg or "")),
    Verb("order", "NAME,NAME", "run the chain's effects in this order", lambda h, arg: h.edits.order(arg or "")),
    Verb("save", None, "write the live settings into the config file (its comments kept)", lambda h, arg: h.edits.save()),
    Verb("revert", None, "drop unsaved changes: the config file again", lambda h, arg: h.reload()),
    Verb("reframe", None, "frame the person again (framing.mode once: then hold there)", lambda h, arg: h.reframe()),
    Verb("toggle-framing", None, "auto-framing off, or back on (follow when framing.mode is off)",
         lambda h, arg: h.toggle_framing()),
    Verb("settings", None, "the live settings as JSON (effects, refinement, models, presets, the camera's controls)",
         lambda h, arg: h.settings(), query=True),
)
VERBS: dict[str, Verb] = {verb.name: verb for verb in TABLE}


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    argument: str | None = None

    def __str__(self) -> str:
        return f"{self.verb} {self.argument}" if self.argument else self.verb


def usage() -> str:
    """One line per verb, for help texts: `toggle EFFECT   turn one effect ...`."""
    return "\n".join(f"{verb.name + (' ' + verb.argument if verb.argument else ''):18} {verb.help}" for verb in TABLE)


def _valid() -> str:
    return ", ".join(verb.name + (f" {verb.argument}" if verb.argument else "") for verb in TABLE)


def parse_command(text: str) -> Command:
    """'model hair' → Command('model', 'hair'); CommandError saying what would work."""
    words = text.split()
    if not words:
        raise CommandError(f"empty command; commands: {_valid()}")
    verb = VERBS.get(words[0])
    if verb is None:
        raise CommandError(f"unknown command {_quoted(text)}; commands: {_valid()}")
    rest = words[1:]
    if verb.argument is not None and len(rest) != 1:
        raise CommandError(f"{verb.name} takes one {verb.argument}, got {len(rest)} words: `{verb.name} {verb.argument}`")
    if verb.argument is None and rest:
        raise CommandError(f"{verb.name} takes nothing after it, got {_quoted(' '.join(rest))}")
    return Command(verb.name, rest[0] if rest else None)


def _quoted(text: str, limit: int = 100) -> str:
    """repr of user text, cut to `limit` characters so a huge input never becomes a huge message."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


Answer = tuple[bool, str] | tuple[bool, str, dict]  # ok, message[, data: what a query answers]


class Reply:
    """Where the live loop answers a command, for a sender that waits."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.ok = False
        self.message = ""
        self.data: dict | None = None

    def set(self, ok: bool, message: str, data: dict | None = None) -> None:
        self.ok, self.message, self.data = ok, message, data
        self._done.set()

    def wait(self, timeout_s: float) -> bool:
        return self._done.wait(timeout_s)


class CommandQueue:
    """A bounded queue of commands; when full, new commands are refused rather than stalling a thread."""

    def __init__(self, size: int = 64) -> None:
        self._queue: queue.Queue[tuple[Command, Reply | None]] = queue.Queue(maxsize=size)

    def put(self, command: Command, reply: Reply | None = None) -> bool:
        try:
            self._queue.put_nowait((command, reply))
            return True
        except queue.Full:
            return False

    def drain(self, limit: int | None = None) -> list[tuple[Command, Reply | None]]:
        """The queued commands, oldest first; at most `limit` (the rest wait for the next call)."""
        commands: list[tuple[Command, Reply | None]] = []
        while limit is None or len(commands) < limit:
            try:
                commands.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return commands


class Asker:
    """`ask(text)`: what a front end that waits for an answer calls (the socket server, a web page).

    Returns {"ok": bool, "message": str} once the live loop has applied the command, with "data" for a query:
    the newest status snapshot at once for a verb without a handler (`status`), the live settings for `settings`.
    """

    def __init__(self, commands: CommandQueue, snapshot: Callable[[], dict], timeout_s: float = 15.0) -> None:
        self._commands = commands
        self._snapshot = snapshot
        self.timeout_s = timeout_s

    def ask(self, text: str) -> dict:
        try:
            command = parse_command(text)
        except CommandError as e:
            return {"ok": False, "message": str(e)}
        if VERBS[command.verb].handler is None:
            return {"ok": True, "message": "", "data": self._snapshot()}
        reply = Reply()
        if not self._commands.put(command, reply):
            return {"ok": False, "message": "the daemon is busy (command queue full); try again"}
        if not reply.wait(self.timeout_s):
            return {"ok": False, "message": f"no answer within {self.timeout_s:.0f} s; the live loop may be stuck"}
        return {"ok": reply.ok, "message": reply.message, **({"data": reply.data} if reply.data is not None else {})}
