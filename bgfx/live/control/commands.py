"""What a verb is, how one is declared beside its implementation, and how commands reach the live loop.

Each verb is declared with `@verb(...)` on the method that does it (the command
handler's, or its edits'), and `status` here beside the `Asker`, which answers
it; `bgfx.live.control.verbs` gathers them into the one table that hotkeys,
`bgfx ctl` (the control socket), SIGHUP, the config watch and the page read.
Front-end threads only parse and enqueue (or `ask`: parse, enqueue, wait for
the answer); the live loop applies commands between frames through
`CommandHandler`, so no state is touched from two threads. This module loads
no engine and no other part of bgfx: `bgfx ctl` starts in a tenth of a second.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from bgfx.errors import CommandError

USAGE_FILE = Path(__file__).with_name("usage.txt")  # the table's help (`bgfx.reference` writes it from the table)
_NOTHING = object()  # `given` left out: the method takes no argument


@dataclass(frozen=True, slots=True)
class Verb:
    """name; argument: what its one argument names (None = takes none); help: one line;
    call(owner, argument) → its message, its data (a dict) or background work, run by the live loop on the object
    that declared it (`owner`: its class; None with `call`: answered at once by the `Asker`); query: it only
    reads (its answer's data), so it is no hotkey."""

    name: str
    argument: str | None
    help: str
    call: Callable[[Any, str | None], object] | None
    query: bool = False
    owner: type | None = None


def verb(name: str, help: str, *, argument: str | None = None, given: object = _NOTHING,
         query: bool = False) -> Callable[[Callable], Callable]:
    """Declare the verb `name` on the method that implements it; stack one per verb the method serves.
    argument: the verb takes one word, passed to the method; given: the value the method is called with instead
    (`next-model` is step_model(1)); neither: the method takes nothing."""

    def call(method: Callable, owner: Any, word: str | None) -> object:
        if argument is not None:
            return method(owner, word or "")
        return method(owner) if given is _NOTHING else method(owner, given)

    def mark(method: Callable) -> Callable:
        declared = Verb(name, argument, help, lambda owner, word: call(method, owner, word), query)
        method.__dict__.setdefault("verbs", []).insert(0, declared)  # decorators run bottom-up: keep reading order
        return method

    return mark


def declared(cls: type) -> tuple[Verb, ...]:
    """The verbs declared on `cls`'s methods, in the order the class reads, each knowing it is `cls`'s."""
    return tuple(replace(v, owner=cls) for member in vars(cls).values() for v in getattr(member, "verbs", ()))


STATUS = Verb("status", None, "fps in/out, latency, model, preset, effects", None, query=True)  # see `Asker`


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    argument: str | None = None

    def __str__(self) -> str:
        return f"{self.verb} {self.argument}" if self.argument else self.verb


def parse_with(text: str, verbs: Mapping[str, Verb]) -> Command:
    """'model hair' → Command('model', 'hair') by the table `verbs`; CommandError saying what would work."""
    words = text.split()
    valid = ", ".join(v.name + (f" {v.argument}" if v.argument else "") for v in verbs.values())
    if not words:
        raise CommandError(f"empty command; commands: {valid}")
    verb = verbs.get(words[0])
    if verb is None:
        raise CommandError(f"unknown command {_quoted(text)}; commands: {valid}")
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


STOPPING = "bgfx is stopping"


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
    """A bounded queue of commands; when full, new commands are refused rather than stalling a thread.

    `close()` (the live loop has ended) answers every waiting sender and every later one at once with
    STOPPING: an answer that would never come would hold the sender's thread, and the process's exit, for the
    asker's whole timeout.
    """

    def __init__(self, size: int = 64) -> None:
        self._queue: queue.Queue[tuple[Command, Reply | None]] = queue.Queue(maxsize=size)
        self._lock = threading.Lock()  # a put and close never interleave: no command is queued after the last drain
        self._closed = False

    def put(self, command: Command, reply: Reply | None = None) -> bool:
        """True when queued (or, once closed, answered with STOPPING at once); False when the queue is full."""
        with self._lock:
            if self._closed:
                if reply is not None:
                    reply.set(False, STOPPING)
                return True
            try:
                self._queue.put_nowait((command, reply))
                return True
            except queue.Full:
                return False

    def close(self) -> None:
        """No command will be applied any more: answer the queued ones, and every later one, with STOPPING."""
        with self._lock:
            self._closed = True
            for _, reply in self.drain():
                if reply is not None:
                    reply.set(False, STOPPING)

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
    `status` (STATUS) is answered here at once with the newest snapshot, never queued behind the loop; the other
    verbs of the table `verbs` once the loop has applied them (`settings`: the live settings).
    """

    def __init__(self, commands: CommandQueue, snapshot: Callable[[], dict], verbs: Mapping[str, Verb],
                 timeout_s: float = 15.0) -> None:  # fmt: skip
        self._commands = commands
        self._snapshot = snapshot
        self._verbs = verbs
        self.timeout_s = timeout_s

    def ask(self, text: str) -> dict:
        try:
            command = parse_with(text, self._verbs)
        except CommandError as e:
            return {"ok": False, "message": str(e)}
        if command.verb == STATUS.name:
            return {"ok": True, "message": "", "data": self._snapshot()}
        reply = Reply()
        if not self._commands.put(command, reply):
            return {"ok": False, "message": "the daemon is busy (command queue full); try again"}
        if not reply.wait(self.timeout_s):
            return {"ok": False, "message": f"no answer within {self.timeout_s:.0f} s; the live loop may be stuck"}
        return {"ok": reply.ok, "message": reply.message, **({"data": reply.data} if reply.data is not None else {})}
