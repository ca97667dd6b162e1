"""The PipeWire sink's own CPU per frame, in a private PipeWire session with one real reader.

Sends `--frames` frames of the desk video (resized to `--size`) at 30 fps to a
`PipeWireSink` read by `gst-launch-1.0 pipewiresrc ! fakesink`, and prints CPU
ms per frame: the conversion to I420 in the caller's thread (what the daemon's
loop pays), the rest of this process (the writer and graph threads), and the
`gst-launch-1.0` publisher child; then the same with no reader (nothing should
be spent). Needs PipeWire >= 1.0, WirePlumber, GStreamer's pipewire plugin.

Usage: python benchmarks/pipewire_sink.py [--size 1280x720] [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np

from bgfx.live.sinks.pipewire import PipeWireSink
from bgfx.vision.video import VideoFile
from tests.support.pipewire_session import start_session

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "webcam_desk_960x540.mp4"
TICK_S = os.sysconf("SC_CLK_TCK")


def child_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK_S  # utime + stime


def publisher_pid() -> int:
    found = subprocess.run(["pgrep", "-n", "-f", "gst-launch-1.0 -q fdsrc"], capture_output=True, text=True)
    return int(found.stdout.split()[0])


def run(sink: PipeWireSink, frames: list[np.ndarray], count: int) -> tuple[float, float, float]:
    """(send ms, rest of the process ms, publisher ms) per frame over `count` frames at 30 fps."""
    pid = publisher_pid()
    send_s, process0, child0 = 0.0, time.process_time(), child_cpu_s(pid)
    next_at = time.monotonic()
    for index in range(count):
        began = time.thread_time()
        sink.send(frames[index % len(frames)])
        send_s += time.thread_time() - began
        next_at += 1 / 30
        time.sleep(max(0.0, next_at - time.monotonic()))
    process_s, child_s = time.process_time() - process0, child_cpu_s(pid) - child0
    return send_s * 1000 / count, (process_s - send_s) * 1000 / count, child_s * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    size = tuple(int(part) for part in args.size.split("x"))
    video = VideoFile(VIDEO)
    frames = [cv2.resize(video.read_image(), size) for _ in range(60)]
    video.close()
    session = start_session()
    os.environ.update(session.env)
    try:
        sink = PipeWireSink(size, 30.0, "bgfx-bench", "bgfx bench camera")
        time.sleep(1.0)
        reader = subprocess.Popen(["gst-launch-1.0", "-q", "pipewiresrc", "target-object=bgfx-bench", "!", "video/x-raw", "!", "fakesink"])
        while sink.readers(1.0) == 0:
            pass
        run(sink, frames, 30)  # settle
        read = run(sink, frames, args.frames)
        reader.terminate()
        reader.wait()
        while sink.readers(1.0) != 0:
            pass
        time.sleep(1.0)
        idle = run(sink, frames, args.frames)
        sink.close()
    finally:
        session.stop()
    print(f"PipeWire sink at {size[0]}x{size[1]}, 30 fps, CPU ms per frame")
    print(f"{'':14} {'convert (loop)':>15} {'threads':>8} {'publisher':>10} {'total':>7}")
    for name, (send, threads, child) in (("one reader", read), ("no reader", idle)):
        print(f"{name:14} {send:15.2f} {threads:8.2f} {child:10.2f} {send + threads + child:7.2f}")


if __name__ == "__main__":
    main()
