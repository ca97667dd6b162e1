"""A private PipeWire session for tests: its own XDG_RUNTIME_DIR, a session D-Bus, `pipewire`, `wireplumber`.

Started once per test session and stopped by PID afterwards. Readers are real
GStreamer pipelines in other processes (`pipewiresrc ! fdsink`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bgfx.live.sinks.pipewire_graph import session_info


@dataclass
class PipeWireSession:
    env: dict[str, str]
    pids: list[int] = field(default_factory=list)

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def start_session() -> PipeWireSession:
    runtime = Path(tempfile.mkdtemp(prefix="bgfx-pw-"))
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PIPEWIRE_REMOTE", None)
    bus = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        env=env, capture_output=True, text=True, check=True, timeout=20,
    )
    address, pid = bus.stdout.split()[:2]
    session = PipeWireSession({**env, "DBUS_SESSION_BUS_ADDRESS": address}, [int(pid)])
    logs = runtime / "logs"
    logs.mkdir()
    for program in ("pipewire", "wireplumber"):
        process = subprocess.Popen(
            [program], env=session.env, stdout=subprocess.DEVNULL, stderr=open(logs / f"{program}.log", "w")
        )
        session.pids.append(process.pid)
        if program == "pipewire":
            time.sleep(0.5)
    deadline = time.monotonic() + 30
    saved = dict(os.environ)
    os.environ.update(session.env)
    try:
        while time.monotonic() < deadline:
            info = session_info()
            if info is not None and info[1]:
                return session
            time.sleep(0.2)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    session.stop()
    raise RuntimeError(f"the private PipeWire session did not come up; see {logs}")


class Reader:
    """A GStreamer reader of a PipeWire camera in another process, giving BGR frames (I420 converted here,
    by OpenCV's inverse of what the sink used, or by GStreamer's videoconvert when `convert`)."""

    def __init__(self, env: dict[str, str], target: str, *, convert: bool = False, frames: int = -1) -> None:
        tail = ["video/x-raw", "!", "videoconvert", "!", "video/x-raw,format=BGR"] if convert else ["video/x-raw,format=I420"]
        self.convert = convert
        frames_out, frames_in = os.pipe()  # frames on their own pipe: -v prints the caps on stdout
        self.process = subprocess.Popen(
            ["gst-launch-1.0", "-v", "pipewiresrc", f"target-object={target}", f"num-buffers={frames}", "!", *tail,
             "!", "fdsink", f"fd={frames_in}", "sync=false"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(frames_in,),
        )  # fmt: skip
        os.close(frames_in)
        self.frames = os.fdopen(frames_out, "rb")
        self.caps = threading.Event()
        self.size: tuple[int, int] | None = None
        self.rate: str | None = None
        self.messages: list[str] = []
        threading.Thread(target=self._read_messages, daemon=True).start()

    def _read_messages(self) -> None:
        """-v prints the negotiated caps before the first frame; keep reading so the pipe never fills."""
        for raw in self.process.stdout:
            line = raw.decode(errors="replace")
            self.messages.append(line)
            found = re.search(r"pipewiresrc0\.GstPad:src: caps = video/x-raw.*width=\(int\)(\d+), height=\(int\)(\d+)"
                              r".*framerate=\(fraction\)(\d+/\d+)", line)  # fmt: skip
            if found and not self.caps.is_set():
                self.size, self.rate = (int(found[1]), int(found[2])), found[3]
                self.caps.set()
        self.caps.set()

    def read(self) -> np.ndarray:
        """The next frame, (H, W, 3) BGR."""
        self.caps.wait(60)
        if self.size is None:
            raise AssertionError(f"the reader ended before any caps: {''.join(self.messages)[-2000:]}")
        width, height = self.size
        count = width * height * 3 if self.convert else width * height * 3 // 2
        data = self.frames.read(count)
        if len(data) < count:
            raise AssertionError(f"the reader's stream ended (code {self.process.poll()}): {''.join(self.messages)[-2000:]}")
        if self.convert:
            return np.frombuffer(data, np.uint8).reshape(height, width, 3)
        return cv2.cvtColor(np.frombuffer(data, np.uint8).reshape(height * 3 // 2, width), cv2.COLOR_YUV2BGR_I420)

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=10)
        self.frames.close()
        return code
