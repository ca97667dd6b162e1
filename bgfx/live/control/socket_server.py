"""The control channel: a Unix socket in $XDG_RUNTIME_DIR for `bgfx ctl`, where hotkeys can't work.

Wayland gives pynput no global hotkeys, and a headless service has none; a
desktop shortcut bound to `bgfx ctl ...` works everywhere. The socket lives in
a 0700 directory, is itself 0600, and a peer whose uid differs from ours
(SO_PEERCRED) is refused. One line in, one JSON object out. The server thread
only passes each line to `Asker.ask` (the command table's entry point that
every front end shares) and sends its answer back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from pathlib import Path

from bgfx.errors import BgfxError
from bgfx.live.control.commands import Asker

log = logging.getLogger(__name__)

_MAX_LINE = 4096


class ControlError(BgfxError):
    exit_code = 69


def socket_path() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/bgfx-{os.getuid()}"
    return Path(runtime) / "bgfx" / "control.sock"


class ControlServer:
    def __init__(self, path: Path, asker: Asker) -> None:
        self.path = path
        self._asker = asker
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        for directory in (self.path.parent.parent, self.path.parent):
            directory.mkdir(mode=0o700, exist_ok=True)
            if directory.stat().st_uid != os.getuid():
                raise ControlError(f"{directory} belongs to another user; set XDG_RUNTIME_DIR to a directory of yours")
        os.chmod(self.path.parent, 0o700)
        if self.path.exists():
            try:
                request(self.path, "status", timeout_s=2.0)
            except ControlError:
                self.path.unlink()  # left by a daemon that died
            else:
                raise ControlError(f"another bgfx daemon is running (it answers on {self.path}); stop it first")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old_umask = os.umask(0o177)
        try:
            server.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        server.listen(8)
        server.settimeout(0.5)
        self._socket = server
        self._thread = threading.Thread(target=self._serve, name="bgfx-control", daemon=True)
        self._thread.start()
        log.info("control socket at %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._socket is not None:
            self._socket.close()
            self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                try:
                    self._handle(connection)
                except OSError as e:
                    log.debug("control connection failed: %s", e)

    def _handle(self, connection: socket.socket) -> None:
        connection.settimeout(5.0)
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", credentials)
        if uid != os.getuid():
            connection.sendall(_encode({"ok": False, "message": "refused: not the daemon's user"}))
            return
        data = b""
        while b"\n" not in data and len(data) < _MAX_LINE:
            chunk = connection.recv(1024)
            if not chunk:
                break
            data += chunk
        text = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        connection.sendall(_encode(self._asker.ask(text)))


def _encode(payload: dict) -> bytes:
    return (json.dumps(payload) + "\n").encode()


def request(path: Path, text: str, timeout_s: float = 20.0) -> dict:
    """Send one command line to a running daemon and return its JSON answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout_s)
            client.connect(str(path))
            client.sendall(text.encode() + b"\n")
            data = b""
            while chunk := client.recv(65536):
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(
            f"bgfx is not running (nothing answers at {path}); start it with `bgfx run` or "
            "`systemctl --user start bgfx`"
        ) from None
    except OSError as e:
        raise ControlError(f"cannot talk to bgfx at {path}: {e}") from None
    try:
        return json.loads(data.decode())
    except ValueError:
        raise ControlError(f"bgfx at {path} sent an unreadable answer") from None
