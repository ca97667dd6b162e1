"""systemd's notify protocol, spoken directly: one datagram per message to $NOTIFY_SOCKET.

READY=1 once the first frame has reached the sink, or once the daemon idles
on demand waiting for a reader (started, healthy, just not streaming); STATUS= lines with fps;
WATCHDOG=1 from the live loop, at half of $WATCHDOG_USEC, so a hung loop is
restarted. Without $NOTIFY_SOCKET (not under systemd) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval_s = int(usec) / 2e6 if watched else None
        self._last_ping = 0.0
        self.ready_sent = False

    def send(self, message: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError as e:  # systemd gone or socket removed: never a reason to stop the camera
            log.debug("notify %r failed: %s", message, e)

    def ready(self, status: str) -> None:
        if not self.ready_sent:
            self.send(f"READY=1\nSTATUS={status}")
            self.ready_sent = True

    def watchdog(self) -> None:
        """Ping if the watchdog interval has passed; cheap to call every frame."""
        if self.watchdog_interval_s is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval_s:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self.send("STOPPING=1")
            self._socket.close()
            self._socket = None
