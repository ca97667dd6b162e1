"""The control channel: a Unix socket in $XDG_RUNTIME_DIR for `bgfx ctl`, where hotkeys can't work.

Wayland gives pynput no global hotkeys, and a headless service has none; a
desktop shortcut bound to `bgfx ctl ...` works everywhere. The socket lives in
a directory of the user's own, checked with lstat (no link, owned by the user,
0700), is itself 0600, and a peer whose uid differs from ours (SO_PEERCRED) is
refused; the client checks the same of the server before it sends a word. One
line in, one JSON object out. Each client is served on its own thread with a
deadline, so a slow or idle client never delays another; past a cap of
simultaneous clients the rest are told the daemon is busy. A client thread only
passes its line to `Asker.ask` (the entry point every front end shares).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import struct
import tempfile
import threading
import time
from pathlib import Path

from bgfx.errors import BgfxError
from bgfx.live.control.commands import Asker

log = logging.getLogger(__name__)

_MAX_LINE = 4096
_LINE_DEADLINE_S = 5.0  # a client has this long to send its line
_MAX_CLIENTS = 32
_BACKLOG = 128
_CONNECT_PATIENCE_S = 3.0  # a client retries a full backlog (EAGAIN) this long


class ControlError(BgfxError):
    exit_code = 69


def runtime_dir() -> Path:
    """$XDG_RUNTIME_DIR/bgfx, or (without it) bgfx-UID in the temporary folder, checked like the other."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    return Path(base) / "bgfx" if base else Path(tempfile.gettempdir()) / f"bgfx-{os.getuid()}"


def socket_path() -> Path:
    return runtime_dir() / "control.sock"


def check_private(directory: Path) -> None:
    """ControlError unless `directory` is a real directory (not a link) that this user owns, made 0700."""
    try:
        status = os.lstat(directory)
    except FileNotFoundError:
        return
    except OSError as e:
        raise ControlError(f"cannot look into {directory.parent} ({e.strerror}): it belongs to another user; "
                           "set XDG_RUNTIME_DIR to a directory of yours") from None
    if not stat.S_ISDIR(status.st_mode):
        raise ControlError(f"{directory} is not a directory (a link or a file someone placed there); "
                           "remove it, or set XDG_RUNTIME_DIR to a directory of yours")
    if status.st_uid != os.getuid():
        raise ControlError(f"{directory} belongs to another user (uid {status.st_uid}); "
                           "set XDG_RUNTIME_DIR to a directory of yours")


def make_private(directory: Path) -> None:
    check_private(directory)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise ControlError(f"cannot create {directory} ({e.strerror}); set XDG_RUNTIME_DIR to a directory of yours") from None
    check_private(directory)  # it may have appeared between the two looks
    os.chmod(directory, 0o700)


class ControlServer:
    def __init__(self, path: Path, asker: Asker) -> None:
        self.path = path
        self._asker = asker
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(_MAX_CLIENTS)

    def start(self) -> None:
        make_private(self.path.parent)
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
        server.listen(_BACKLOG)
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
        """Accept clients and hand each to a thread of its own (or say busy, past the cap)."""
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._slots.acquire(timeout=_LINE_DEADLINE_S):  # others wait in the backlog meanwhile
                with connection:
                    _send(connection, {"ok": False, "message": "the daemon is busy (too many control clients); try again"})
                continue
            threading.Thread(target=self._client, args=(connection,), name="bgfx-control-client", daemon=True).start()

    def _client(self, connection: socket.socket) -> None:
        try:
            with connection:
                self._handle(connection)
        except OSError as e:
            log.debug("control connection failed: %s", e)
        finally:
            self._slots.release()

    def _handle(self, connection: socket.socket) -> None:
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", credentials)
        if uid != os.getuid():
            _send(connection, {"ok": False, "message": "refused: the daemon belongs to another user"})
            return
        text = _read_line(connection, time.monotonic() + _LINE_DEADLINE_S)
        if text is None:
            _send(connection, {"ok": False, "message": f"no command line within {_LINE_DEADLINE_S:.0f} s"})
            return
        _send(connection, self._asker.ask(text))


def _read_line(connection: socket.socket, deadline: float) -> str | None:
    """The first line the client sends (at most _MAX_LINE bytes), or None when the deadline passes first."""
    data = b""
    while b"\n" not in data and len(data) < _MAX_LINE:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(1024)
        except TimeoutError:
            return None
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def _send(connection: socket.socket, payload: dict) -> None:
    connection.settimeout(2.0)
    connection.sendall((json.dumps(payload) + "\n").encode())


def request(path: Path, text: str, timeout_s: float = 20.0) -> dict:
    """Send one command line to a running daemon and return its JSON answer.

    The socket must be this user's, and so must the process answering on it (SO_PEERCRED): a command
    never goes to someone else's server.
    """
    check_private(path.parent)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout_s)
            _connect(client, path)
            _check_server(client, path)
            data = _exchange(client, text)
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(
            f"bgfx is not running (nothing answers at {path}); start it with `bgfx run` or "
            "`systemctl --user start bgfx`"
        ) from None
    except PermissionError:
        raise ControlError(f"{path} belongs to another user: this is not your bgfx daemon") from None
    except OSError as e:
        raise ControlError(f"cannot talk to bgfx at {path}: {e}") from None
    try:
        return json.loads(data.decode())
    except ValueError:
        raise ControlError(f"bgfx at {path} sent an unreadable answer") from None


def _connect(client: socket.socket, path: Path) -> None:
    """Connect, retrying while the server's backlog is full (EAGAIN) for a few seconds."""
    deadline = time.monotonic() + _CONNECT_PATIENCE_S
    while True:
        try:
            client.connect(str(path))
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ControlError(f"bgfx at {path} is too busy to accept a connection; try again") from None
            time.sleep(0.02)


def _check_server(client: socket.socket, path: Path) -> None:
    credentials = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    if uid != os.getuid():
        raise ControlError(f"the process answering at {path} runs as another user (uid {uid}): "
                           "not your bgfx daemon; nothing was sent")


def _exchange(client: socket.socket, text: str) -> bytes:
    """Send the line, read the answer; a server that refused us and closed still gets its answer read."""
    try:
        client.sendall(text.encode() + b"\n")
    except BrokenPipeError:
        pass  # it closed after answering (a refusal): the answer is waiting
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data
