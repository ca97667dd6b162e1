"""What users pay: the whole daemon process's CPU per frame on an MJPEG 720p30 camera stand-in, decoding included.

Two stand-ins, each an MJPEG .avi (fourcc MJPG: the daemon takes the MJPEG fast
path, as for an MJPEG webcam) of 10 s at 30 fps, looped by the daemon:

- moving: the desk clip scaled to the size;
- still: the desk clip's first frame, fixed-seed sensor noise (sigma 3) on each.

The daemon runs the given chain (default: the default blur) with the default
segmentation settings (motion gate on), the governor off and the null sink; after
a settling time its CPU (all threads, from /proc) is read at both ends of
`--seconds` and divided by the frames sent, and the capture-to-sink latency
(status e2e_ms: from the buffer's arrival, so the decode counts) is read at the end. `--root` runs another checkout
(the code before a change) with this interpreter.

Usage: python benchmarks/mjpeg_process.py [--size 1280x720] [--seconds 30] [--root DIR] [--effects '[{type: blur}]']
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT.parent / "shared" / "testdata" / "webcam_desk_960x540.mp4"
TICK = os.sysconf("SC_CLK_TCK")
FRAMES = 300
SETTLE_S = 10.0


def write_clips(size: tuple[int, int], folder: Path) -> dict[str, Path]:
    """The moving and still MJPEG stand-ins, `FRAMES` frames of `size` each."""
    capture = cv2.VideoCapture(str(DESK))
    frames = []
    while len(frames) < FRAMES:
        ok, image = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    rng = np.random.default_rng(0)
    still = (np.clip(frames[0] + rng.normal(0, 3, frames[0].shape), 0, 255).astype(np.uint8) for _ in range(FRAMES))
    clips = {}
    for name, source in (("moving", iter(frames)), ("still", still)):
        clips[name] = folder / f"{name}.avi"
        writer = cv2.VideoWriter(str(clips[name]), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
        for image in source:
            writer.write(image)
        writer.release()
    return clips


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_daemon(root: Path, clip: Path, effects: str, seconds: float, folder: Path) -> tuple[float, int, dict]:
    """(whole-process CPU ms per frame sent, frames sent, the last status) of `bgfx run` from `root` on the clip."""
    config = folder / "live.yaml"
    config.write_text(f'effects: {effects}\noutput: {{sink: "null"}}\nlive: {{cpu_budget: 0, web: {{enabled: false}}}}\n')
    runtime = Path(tempfile.mkdtemp(dir=folder))
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PYTHONPATH": str(root)}

    def status() -> dict:
        done = subprocess.run([sys.executable, "-m", "bgfx", "ctl", "status", "--json"], cwd=root, env=env, check=True,
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        return json.loads(done.stdout)

    daemon = subprocess.Popen([sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(clip)],
                              cwd=root, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(SETTLE_S)
        cpu_before, frames_before = process_cpu_s(daemon.pid), int(status()["frames_out"])
        time.sleep(seconds)
        cpu_after, last = process_cpu_s(daemon.pid), status()
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    frames = int(last["frames_out"]) - frames_before
    return (cpu_after - cpu_before) * 1000 / max(1, frames), frames, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--effects", default="[{type: blur}]")
    parser.add_argument("--no-empty", action="store_true", help="skip the `effects: []` runs")
    args = parser.parse_args()
    size = tuple(int(part) for part in args.size.split("x"))
    folder = Path(tempfile.mkdtemp(prefix="bgfx-mjpeg-"))
    clips = write_clips(size, folder)
    print(f"{args.root}: effects {args.effects}, {size[0]}x{size[1]} MJPEG at 30 fps, whole-process CPU ms per frame")
    for name, clip in clips.items():
        for chain in (args.effects,) if args.no_empty else (args.effects, "[]"):
            ms, frames, last = run_daemon(args.root, clip, chain, args.seconds, folder)
            latency = f"capture→sink {last.get('e2e_ms_median', float('nan')):.1f} / {last.get('e2e_ms_p95', float('nan')):.1f} ms"
            print(f"  {name:7} {chain:24} {ms:6.2f} ms/frame   {latency} (median / p95)   ({frames} frames)")


if __name__ == "__main__":
    main()
