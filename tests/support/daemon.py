"""Start `bgfx run` in a subprocess with the fake camera backend, and read what it sends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from tests.conftest import ROOT


class RunningDaemon:
    def __init__(self, tmp: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.camera_dir = tmp / "cam"
        self.stderr_path = tmp / "daemon.log"
        self.env = {**os.environ, "BGFX_FAKECAM_DIR": str(self.camera_dir), **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.run_bgfx", "run", *args],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"),
        )

    def log(self) -> str:
        return self.stderr_path.read_text()

    def frames(self) -> list[tuple[float, float]]:
        """(monotonic time, green share) per frame received so far."""
        return [(row[0], row[1]) for row in self.frame_rows()]

    def frame_rows(self) -> list[tuple[float, float, float]]:
        """(monotonic time, green share, sharpness) per frame received so far."""
        path = self.camera_dir / "frames.log"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                rows.append((float(parts[0]), float(parts[1]), float(parts[2])))
        return rows

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"bgfx exited ({self.process.returncode}) waiting for {what}:\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()[-3000:]}")

    def wait_frames(self, count: int, timeout: float = 60.0) -> None:
        start = len(self.frames())
        self.wait_for(f"{count} more frames", lambda: len(self.frames()) >= start + count, timeout)

    def ctl(self, *words: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bgfx", "ctl", *words], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=60,
        )

    def wait_sent(self, count: int, timeout: float = 60.0) -> None:
        """Until the daemon has sent `count` frames by its own status (any sink, the null one too)."""
        def sent() -> bool:
            result = self.ctl("status", "--json")
            return result.returncode == 0 and json.loads(result.stdout).get("frames_out", 0) >= count

        self.wait_for(f"{count} frames sent", sent, timeout)

    def status(self) -> dict:
        result = self.ctl("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def green_share(self, frames: int) -> float:
        """Mean green share of the next `frames` frames."""
        start = len(self.frames())
        self.wait_frames(frames)
        rows = self.frames()[start : start + frames]
        return sum(g for _, g in rows) / len(rows)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)
