"""Signal flags for the long-running commands (`run`, `process`): a handler sets a flag and nothing else.

Installed first thing, before the slow imports and the model load, so a SIGHUP
or SIGTERM that comes early is never fatal. The loop that owns the work reads
the flags between frames: a flood of SIGHUPs is one flag, not one reload each,
and nothing runs inside a handler that could re-enter a lock or a logger.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass
class SignalFlags:
    """stop: SIGTERM or SIGINT arrived (`stop_signal` says which); reload: SIGHUP arrived since last taken."""

    stop: bool = False
    stop_signal: int = 0
    reload: bool = False

    def take_reload(self) -> bool:
        """Whether a SIGHUP arrived since the last call (clearing it)."""
        requested, self.reload = self.reload, False
        return requested


def install_signal_flags(reload: bool = True) -> SignalFlags:
    """Route SIGTERM and SIGINT (and SIGHUP, when `reload`) to a new SignalFlags."""
    flags = SignalFlags()

    def on_stop(number: int, _frame: object) -> None:
        flags.stop, flags.stop_signal = True, number

    def on_reload(_number: int, _frame: object) -> None:
        flags.reload = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    if reload:
        signal.signal(signal.SIGHUP, on_reload)
    return flags
