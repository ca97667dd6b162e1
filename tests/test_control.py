"""The control socket under abuse: idle and slow clients, floods, and another local user's traps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from bgfx.live.control import socket_server
from bgfx.live.control.commands import Asker, CommandQueue
from bgfx.live.control.verbs import VERBS
from bgfx.live.control.socket_server import ControlError, ControlServer, request
from tests.conftest import ROOT


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Path]:
    """A real control server whose stand-in live loop answers every command at once."""
    queue, stop = CommandQueue(), threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for command, reply in queue.drain():
                reply.set(True, f"did {command}")
            stop.wait(0.005)

    threading.Thread(target=loop, daemon=True).start()
    path = tmp_path / "run" / "bgfx" / "control.sock"
    control = ControlServer(path, Asker(queue, lambda: {"state": "running"}, VERBS))
    control.start()
    yield path
    stop.set()
    control.stop()


def test_an_idle_client_delays_no_one(server: Path) -> None:
    with socket.socket(socket.AF_UNIX) as idle:
        idle.connect(str(server))  # connects and says nothing
        assert request(server, "status", timeout_s=3.0) == {"ok": True, "message": "", "data": {"state": "running"}}
        assert request(server, "pause", timeout_s=3.0) == {"ok": True, "message": "did pause"}


def test_a_client_dripping_bytes_delays_no_one_and_is_cut_off(server: Path) -> None:
    answers: list[bytes] = []

    def drip() -> None:
        with socket.socket(socket.AF_UNIX) as slow:
            slow.connect(str(server))
            try:
                for byte in b"togg":
                    slow.sendall(bytes([byte]))
                    time.sleep(2.0)
                answers.append(slow.recv(4096))
            except OSError:
                answers.append(b"closed")

    dripper = threading.Thread(target=drip)
    dripper.start()
    for _ in range(10):
        assert request(server, "status", timeout_s=3.0)["ok"]
    dripper.join(timeout=15)
    assert answers and (b"no command line within 5 s" in answers[0] or answers[0] == b"closed")


def test_two_hundred_clients_at_once_are_all_answered(server: Path) -> None:
    results: list[dict] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        answer = request(server, f"toggle e{index}", timeout_s=30.0)
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 200
    assert sum(answer["ok"] for answer in results) == 200, [a for a in results if not a["ok"]][:3]


def test_without_xdg_runtime_dir_the_fallback_folder_must_be_ours_and_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fallback = tmp_path / f"bgfx-{os.getuid()}"
    assert socket_server.socket_path() == fallback / "control.sock"
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    fallback.symlink_to(elsewhere)  # planted before the daemon started
    with pytest.raises(ControlError, match="is not a directory .a link or a file someone placed there."):
        ControlServer(socket_server.socket_path(), Asker(CommandQueue(), dict, VERBS)).start()
    with pytest.raises(ControlError, match="is not a directory"):
        request(socket_server.socket_path(), "toggle blur")  # the client never sends into someone's link
    fallback.unlink()
    fallback.mkdir(mode=0o755)
    os.chown(fallback, 65534, 65534)  # another user's folder under our name
    with pytest.raises(ControlError, match=r"belongs to another user \(uid 65534\)"):
        ControlServer(socket_server.socket_path(), Asker(CommandQueue(), dict, VERBS)).start()


IMPOSTOR = """
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.setgid(65534); os.setuid(65534)  # listens as another user
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
c.sendall(b'{"ok": true, "message": "blur off"}\\n')
c.close()
"""


@pytest.mark.e2e
def test_the_client_sends_nothing_to_a_server_of_another_user(tmp_path: Path) -> None:
    folder = tmp_path / "bgfx"
    folder.mkdir(mode=0o700)
    path = folder / "control.sock"
    impostor = subprocess.Popen([sys.executable, "-c", IMPOSTOR, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert impostor.stdout.readline().strip() == "ready"
        with pytest.raises(ControlError, match="runs as another user .uid 65534.: not your bgfx daemon; nothing was sent"):
            request(path, "toggle blur", timeout_s=5.0)
    finally:
        impostor.kill()
        impostor.wait()


@pytest.mark.e2e
def test_another_user_is_told_it_is_not_their_daemon(server: Path) -> None:
    runtime = server.parent.parent
    other = subprocess.run(
        [sys.executable, "-c", "import os, sys, json; from bgfx.cli import main; import bgfx.live.control.socket_server; "
         "os.setgid(65534); os.setuid(65534); sys.exit(main(['ctl', 'pause']))"],  # imports first: /root is closed
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    assert other.returncode == 69 and "Traceback" not in other.stderr and "Broken pipe" not in other.stderr
    assert "belongs to another user" in other.stderr
    assert json.dumps(request(server, "status")["data"]) == '{"state": "running"}'  # and nothing was paused
