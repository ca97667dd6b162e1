"""The command layer shared by hotkeys, `bgfx ctl` and SIGHUP: text → `Command`.

Threads that receive commands only parse and enqueue them; the live loop
applies them between frames, so no state is touched from two threads.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

VERBS_WITH_ARGUMENT = ("model", "toggle", "preset")
VERBS = ("status", "next-model", "previous-model", "next-preset", "pause", "resume", "toggle-pause", "reload")


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    argument: str | None = None

    def __str__(self) -> str:
        return f"{self.verb} {self.argument}" if self.argument else self.verb


def parse_command(text: str) -> Command:
    """'model hair' → Command('model', 'hair'); raises ValueError listing what is valid."""
    words = text.split()
    valid = ", ".join([*VERBS, *(f"{v} NAME" for v in VERBS_WITH_ARGUMENT)])
    if not words:
        raise ValueError(f"empty command; valid commands: {valid}")
    verb, rest = words[0], words[1:]
    if verb in VERBS_WITH_ARGUMENT:
        if len(rest) != 1:
            raise ValueError(f"{verb!r} takes one name, got {len(rest)} words; valid commands: {valid}")
        return Command(verb, rest[0])
    if verb in VERBS and not rest:
        return Command(verb)
    raise ValueError(f"unknown command {text!r}; valid commands: {valid}")


class Reply:
    """Where the live loop answers a command, for a sender that waits (`bgfx ctl`)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.ok = False
        self.message = ""

    def set(self, ok: bool, message: str) -> None:
        self.ok, self.message = ok, message
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

    def drain(self) -> list[tuple[Command, Reply | None]]:
        commands = []
        while True:
            try:
                commands.append(self._queue.get_nowait())
            except queue.Empty:
                return commands
