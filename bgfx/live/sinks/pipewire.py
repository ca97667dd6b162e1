"""Sink `pipewire`: a PipeWire camera (`Video/Source`, role Camera), no kernel module needed.

The route: a `gst-launch-1.0` child (`fdsrc ! rawvideoparse ! pipewiresink
mode=provide`) fed I420 frames on a pipe, and a `pw-dump --monitor` child whose
stream of graph changes says who reads the node. Why a child and not PyGObject
in the daemon: a PipeWire or GStreamer fault (Debian 12's PipeWire 0.3.65
segfaults the publishing process as a reader links) kills the child, not the
daemon, which starts it again; and nothing needs building (PyGObject from PyPI
compiles against GObject-introspection and Cairo headers). The only
requirements are system packages: PipeWire ≥ 1.0 with a session manager,
`gstreamer1.0-pipewire`, `gstreamer1.0-tools`, `gstreamer1.0-plugins-base`.

Frames are converted to I420 here (`cv2.COLOR_BGR2YUV_I420`, far cheaper than
converting inside GStreamer) and only while someone reads: with no reader no
conversion and no copy happen. Chromium shows BGR with red and blue swapped,
and lists no node without `media.role = Camera`.

`pipewiresink` in provide mode ends its pipeline ("all buffers have been
removed") when its last reader leaves; the writer thread starts it again, so
the node comes back under the same name for the next reader.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgfx.errors import SinkError
from bgfx.live.sinks.base import Check, SinkKind
from bgfx.live.sinks.pipewire_graph import GraphWatch, session_info

if TYPE_CHECKING:
    from bgfx.live.settings import OutputSettings

log = logging.getLogger(__name__)

PACKAGES = "pipewire (>= 1.0), wireplumber, gstreamer1.0-pipewire, gstreamer1.0-tools, gstreamer1.0-plugins-base"
RESTART_S = (0.1, 5.0)  # the publisher is started again after this, doubling while it keeps failing at once
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def parse_node_name(value: object) -> str:
    """`output.node_name`: what readers target (`target-object=`), letters, digits, `_.-` only."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise ValueError(f"expected 1-64 letters, digits, '_', '.' or '-', got {value!r}")
    return value


def parse_description(value: object) -> str:
    """`output.node_description`: the camera's name in apps; printable, no quotes or backslashes."""
    if not isinstance(value, str) or not value.isprintable() or not 0 < len(value) <= 128 or set(value) & set('"\\'):
        raise ValueError(f"expected 1-128 printable characters without quotes or backslashes, got {value!r}")
    return value


def launch_command(size: tuple[int, int], fps: float, name: str, description: str) -> list[str]:
    """The gst-launch-1.0 argv publishing I420 frames of `size` read from stdin as a PipeWire camera."""
    width, height = size
    rate = max(1, round(fps))  # whole: Chromium links no stream to a node at 30000/1001 (the pacing stays the camera's)
    spaced = description.replace(" ", "\\ ")  # gst-launch joins its arguments with spaces before parsing them
    properties = f'props,media.class=Video/Source,media.role=Camera,node.name={name},node.description=(string)"{spaced}"'
    return [
        "gst-launch-1.0", "-q",
        "fdsrc", "fd=0", f"blocksize={width * height * 3 // 2}", "!",
        "rawvideoparse", f"width={width}", f"height={height}", "format=i420", "colorimetry=bt601",
        f"framerate={rate}/1", "!",
        "pipewiresink", "mode=provide", "sync=false", f"client-name={name}", f"stream-properties={properties}",
    ]  # fmt: skip


class Publisher:
    """The gst-launch child and the thread that writes to it from a latest-only slot (the loop never blocks).

    Its I420 buffers ((h * 3 / 2, w) uint8) go round a pool: the loop fills only a free one (`acquire`), the
    slot holds at most one, and the one being written comes back only when its write returns. A write that
    blocks (a slow reader) therefore never sees its buffer change under it; with all three busy, a frame is dropped.
    """

    def __init__(self, command: list[str], size: tuple[int, int], pool_size: int = 3) -> None:
        self._command = command
        self._black = np.empty((size[1] * 3 // 2, size[0]), np.uint8)
        cv2.cvtColor(np.zeros((size[1], size[0], 3), np.uint8), cv2.COLOR_BGR2YUV_I420, dst=self._black)
        self._free = [np.empty_like(self._black) for _ in range(pool_size)]
        self.writing: np.ndarray | None = None  # the buffer the child is being written now (for tests and status)
        self._slot: np.ndarray | None = None
        self._ready = threading.Condition()
        self._closed = False
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="pipewire-publisher", daemon=True)
        self._thread.start()

    def acquire(self) -> np.ndarray | None:
        """A free buffer to fill and `offer`, or None while all are queued or being written (drop the frame)."""
        with self._ready:
            return self._free.pop() if self._free else None

    def offer(self, frame: np.ndarray) -> None:
        """Hand over a filled buffer (the caller does not touch it again); an unsent older one goes back free."""
        with self._ready:
            self._release(self._slot)
            self._slot = frame
            self._ready.notify()

    def _release(self, frame: np.ndarray | None) -> None:
        """Called with the lock held: a pool buffer done with goes back to the free list."""
        if frame is not None and frame is not self._black:
            self._free.append(frame)

    def _take(self, timeout_s: float) -> np.ndarray | None:
        with self._ready:
            if self._slot is None and not self._closed:
                self._ready.wait(timeout_s)
            frame, self._slot = self._slot, None
            self.writing = frame
            return frame

    def _run(self) -> None:
        delay = RESTART_S[0]
        while not self._closed:
            try:
                delay = self._turn(delay)
            except Exception:  # the thread must outlive anything one child does
                log.exception("pipewire sink: publisher error; starting it again")
                self._stop_child()
                time.sleep(RESTART_S[1])

    def _turn(self, delay: float) -> float:
        """Start the child if it is not running, or write it the newest frame; the restart delay to use next."""
        process = self._process
        if process is None or process.poll() is not None:
            return self._restart(process, delay)
        frame = self._take(0.2)
        if frame is not None and not self._closed:
            try:
                process.stdin.write(memoryview(frame))
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._stop_child()  # it ended (its last reader left); started again on the next turn
        with self._ready:
            self._release(frame)
            self.writing = None
        return delay

    def _stop_child(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()

    def _restart(self, ended: subprocess.Popen[bytes] | None, delay: float) -> float:
        """Start the child again; a child that failed within a second waits longer each time (logged once)."""
        if ended is not None:
            lived = time.monotonic() - self._started_at
            reason = (ended.stderr.read() or b"").decode(errors="replace").strip().splitlines()
            _close_pipes(ended)
            log.debug("pipewire publisher ended (code %s after %.1f s): %s", ended.returncode, lived, reason[-1:] or "")
            if lived < 1.0:
                if delay == RESTART_S[0]:
                    log.warning("pipewire sink: gst-launch-1.0 failed at once (%s); retrying", " ".join(reason[-1:]) or ended.returncode)
                time.sleep(delay)
                delay = min(RESTART_S[1], delay * 2)
            else:
                delay = RESTART_S[0]
        if self._closed:
            return delay
        self._started_at = time.monotonic()
        self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _widen(self._process.stdin.fileno(), self._black.nbytes)
        self.offer(self._black)  # pipewiresink makes its node when caps are settled, at its first buffer
        return delay

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._stop_child()
        self._thread.join(timeout=5)
        if self._process is not None:
            _close_pipes(self._process)


def _widen(pipe: int, frame_bytes: int) -> None:
    """Make the pipe hold a whole frame where allowed (fs.pipe-max-size, 1 MiB by default): the child then
    reads a frame in one piece instead of 64 KiB ones it must copy together (the publisher's CPU, measured: 2.1 → 0.8 ms a 720p frame)."""
    try:
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, frame_bytes)
    except OSError:  # over fs.pipe-max-size for this user: the largest allowed
        try:
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
        except (OSError, ValueError):
            pass


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stderr):
        try:
            pipe.close()
        except OSError:  # a broken pipe's unflushed data: nothing to keep
            pass


class PipeWireSink:
    """A PipeWire camera node named `name`: frames go out as I420 while someone reads, and nowhere otherwise."""

    def __init__(self, size: tuple[int, int], fps: float, name: str, description: str) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise SinkError(f"pipewire sink: I420 needs an even width and height, got {width}x{height}; set output.size")
        self.name = name
        self._graph = GraphWatch(name)
        self._publisher = Publisher(launch_command(size, fps, name, description), size)
        log.info("pipewire camera %r (%s) at %dx%d, %.4g fps", name, description, width, height, fps)

    def send(self, image: np.ndarray) -> None:
        """Convert to I420 and hand to the publisher, only while a reader is linked."""
        if self._graph.readers() == 0:
            return
        buffer = self._publisher.acquire()
        if buffer is None:
            return  # one being written, one waiting, one being filled: this frame is dropped, latest-only
        cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420, dst=buffer)
        self._publisher.offer(buffer)

    def readers(self, timeout_s: float) -> int:
        """Readers linked to the node now, after waiting up to timeout_s for the graph to change."""
        return self._graph.wait(timeout_s)

    def close(self) -> None:
        self._publisher.close()
        self._graph.close()


def _open(settings: OutputSettings, size: tuple[int, int], fps: float) -> PipeWireSink:
    problems = [check for check in doctor(settings, size, fps) if check.level == "FAIL"]
    if problems:
        first = problems[0]
        raise SinkError(f"pipewire sink: {first.detail}; {first.fix}")
    return PipeWireSink(size, fps, settings.node_name, settings.node_description)


def doctor(settings: OutputSettings, size: tuple[int, int], fps: float) -> list[Check]:
    """The tools, the GStreamer element, a PipeWire daemon in this session (≥ 1.0) and its session manager."""
    missing = [tool for tool in ("gst-launch-1.0", "gst-inspect-1.0", "pw-dump") if shutil.which(tool) is None]
    if missing:
        return [Check("pipewire tools", "FAIL", f"{', '.join(missing)} not found", f"install {PACKAGES}")]
    element = subprocess.run(["gst-inspect-1.0", "pipewiresink"], capture_output=True, timeout=20)
    if element.returncode != 0:
        return [Check("pipewiresink", "FAIL", "GStreamer has no pipewiresink element", "install gstreamer1.0-pipewire")]
    info = session_info()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "(XDG_RUNTIME_DIR unset)")
    if info is None:
        return [Check("pipewire", "FAIL", f"no PipeWire daemon answers in this session ({runtime})",
                      "systemctl --user enable --now pipewire wireplumber (or start your desktop session)")]  # fmt: skip
    version, managers = info
    checks = [Check("pipewire", "ok", f"PipeWire {version} answers ({runtime})")]
    if _version_tuple(version) < (1, 0):
        checks = [Check("pipewire", "FAIL", f"PipeWire {version}: before 1.0 the publisher crashes as a reader links "
                        "(0.3.65 segfaults: 'do_port_use_buffers() invalid memory type 4')",
                        "install PipeWire >= 1.0 (Debian 12: apt install -t bookworm-backports pipewire pipewire-bin "
                        "wireplumber gstreamer1.0-pipewire)")]  # fmt: skip
    if not managers:
        checks.append(Check("session manager", "FAIL", "no WirePlumber (or other session manager) is connected: "
                            "readers cannot be linked", "systemctl --user enable --now wireplumber"))  # fmt: skip
    return checks


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3]) or (0,)


KIND = SinkKind("pipewire", _open, doctor)
