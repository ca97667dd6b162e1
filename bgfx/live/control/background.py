"""Slow work that commands need (reading the config file, loading models), done off the frame thread.

The live loop hands a `Deferred` to `Background` and goes on sending frames with
the running state; the worker thread runs its `work` (which reads the running
state and changes none of it), and the loop, between frames, collects the
result and runs `finish` (the swap) and answers the command. One worker, jobs
in order, a bounded queue. A job that names a `coalesce` group replaces a
waiting job of the same group and answers its senders too: a burst of reloads
reads the file once, a flood of `set` of one key prepares the newest value once.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from bgfx.errors import CommandError
from bgfx.live.control.commands import Reply

log = logging.getLogger(__name__)


@dataclass
class Deferred:
    """key: what it does ("reload", "model", "preset", "edit"); work(): runs on the worker; finish(result) →
    message: runs on the loop thread; discard(result): releases a result that will not be used; coalesce: a
    group whose newest waiting job is the only one that need run (None: every job runs)."""

    key: str
    work: Callable[[], Any]
    finish: Callable[[Any], str]
    discard: Callable[[Any], None] = lambda result: None
    coalesce: str | None = None
    replies: list[Reply | None] = field(default_factory=list)


@dataclass
class Outcome:
    deferred: Deferred
    result: Any = None
    error: BaseException | None = None


class Background:
    def __init__(self, capacity: int = 8) -> None:
        self._capacity = capacity
        self._waiting: collections.deque[Deferred] = collections.deque()
        self._done: collections.deque[Outcome] = collections.deque()
        self._running: Deferred | None = None
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="bgfx-background", daemon=True)
        self._thread.start()

    def submit(self, deferred: Deferred, reply: Reply | None) -> None:
        """Queue the work (in the place of a waiting job of its coalesce group, whose senders it answers too);
        CommandError when too much is waiting."""
        with self._condition:
            deferred.replies.append(reply)
            group = deferred.coalesce
            for place, twin in enumerate(self._waiting):
                if group is not None and twin.coalesce == group:
                    deferred.replies[:0] = twin.replies
                    self._waiting[place] = deferred
                    return
            if len(self._waiting) >= self._capacity:
                deferred.replies.pop()
                raise CommandError(f"the daemon is busy ({len(self._waiting)} loads waiting); try again")
            self._waiting.append(deferred)
            self._condition.notify()

    def pending(self, key: str) -> bool:
        """Whether work of this key is waiting, running, or done but not yet collected."""
        with self._condition:
            jobs = [*self._waiting, *([self._running] if self._running else []), *(o.deferred for o in self._done)]
            return any(job.key == key for job in jobs)

    def idle(self) -> bool:
        with self._condition:
            return not self._waiting and self._running is None and not self._done

    def collect(self) -> list[Outcome]:
        """The finished work, oldest first (the loop thread runs their `finish`)."""
        with self._condition:
            outcomes, self._done = list(self._done), collections.deque()
        return outcomes

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                self._running = self._waiting.popleft()
            outcome = Outcome(self._running)
            try:
                outcome.result = self._running.work()
            except BaseException as e:  # reported to the command's sender by the loop; the worker goes on
                outcome.error = e
            with self._condition:
                self._done.append(outcome)
                self._running = None

    def close(self) -> None:
        """Stop the worker (after its current job) and release every result not collected."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join(timeout=30.0)
        for outcome in self.collect():
            if outcome.error is None:
                outcome.deferred.discard(outcome.result)
