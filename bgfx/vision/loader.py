"""Slow picture work (decoding a background or the pause image, fitting it to a size) off the frame thread.

The frame thread asks for a result by key and takes it when it is ready; it never decodes, scales or
waits. One slot each way, latest only: a job asked while another runs replaces the one waiting (never a
queue), and only the newest result is kept. The thread ends when nothing is wanted, so a `Loader` that is
dropped (a reload made a new one) leaves no thread behind.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, Hashable, TypeVar

log = logging.getLogger(__name__)

Result = TypeVar("Result")


class Loader(Generic[Result]):
    """Runs the latest asked `job()` on a thread of its own; `take(key)` is its result once done, else None.

    A job reports bad input itself (a log line) and returns None; anything else it raises is logged here
    and kept as None, so a broken file never reaches the frame thread.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._wanted: tuple[Hashable, Callable[[], Result | None]] | None = None
        self._working: Hashable | None = None
        self._done: tuple[Hashable, Result | None] | None = None
        self._running = False

    def ask(self, key: Hashable, job: Callable[[], Result | None]) -> None:
        """Have `job` run for `key` unless that key is done, running or already waiting."""
        with self._lock:
            if key in (self._working, self._wanted and self._wanted[0], self._done and self._done[0]):
                return
            self._wanted = (key, job)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name=f"bgfx-{self.name}", daemon=True).start()

    def take(self, key: Hashable) -> Result | None:
        """The result for `key` when its job is done (None while it runs, or when it failed)."""
        with self._lock:
            return self._done[1] if self._done is not None and self._done[0] == key else None

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._wanted is None:
                    self._running = False
                    return
                (key, job), self._wanted = self._wanted, None
                self._working = key
            try:
                result = job()
            except Exception:
                log.exception("%s: loading failed; going on without it", self.name)
                result = None
            with self._lock:
                self._done, self._working = (key, result), None
