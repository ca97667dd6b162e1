"""Where the live daemon's CPU goes, thread by thread, against `bgfx bench` on the same clip and chain.

Runs `bgfx run --sink null` on the clip for `--seconds` (after a settling
time), reads every thread's CPU from /proc/PID/task/*/stat at both ends, and
prints CPU ms per output frame by thread name (the live loop is `MainThread`'s
`python`; MediaPipe's graph and XNNPACK threads have their own names), then
`bgfx bench` (VIDEO mode, same chain and size) for comparison. With
`--decode-only`, the daemon runs with no effects, so the decoding and pacing
baseline can be taken off.

Usage: python benchmarks/live_profile.py [--input VIDEO] [--size 1280x720] [--seconds 30]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT.parent / "shared" / "testdata" / "webcam_desk_960x540.mp4"
TICK = os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> dict[str, float]:
    """CPU seconds by thread name (threads of one name summed)."""
    found: dict[str, float] = collections.defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that ended meanwhile
        found[name] += (int(fields[11]) + int(fields[12])) / TICK
    return found


def scaled_clip(source: Path, size: tuple[int, int], folder: Path) -> Path:
    clip = folder / f"clip-{size[0]}x{size[1]}.mp4"
    capture = cv2.VideoCapture(str(source))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS) or 30, size)
    while True:
        ok, image = capture.read()
        if not ok:
            break
        writer.write(cv2.resize(image, size))
    writer.release()
    return clip


def live(clip: Path, effects: str, seconds: float, folder: Path, still_every: int) -> tuple[dict[str, float], int]:
    config = folder / "live.yaml"
    config.write_text(f'effects: {effects}\nsegmentation: {{still_every: {still_every}}}\noutput: {{sink: "null"}}\n'
                      'live: {cpu_budget: 0, web: {enabled: false}}\n')
    runtime = Path(tempfile.mkdtemp(dir=folder))
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    status = lambda: json.loads(subprocess.run([sys.executable, "-m", "bgfx", "ctl", "status", "--json"], cwd=ROOT, env=env,
                                               capture_output=True, text=True, timeout=30).stdout)  # fmt: skip
    daemon = subprocess.Popen([sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(clip)],
                              cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(10)
        before, frames_before = threads(daemon.pid), status()["frames_out"]
        time.sleep(seconds)
        after, frames_after = threads(daemon.pid), status()["frames_out"]
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    frames = frames_after - frames_before
    return {name: (after[name] - before.get(name, 0.0)) * 1000 / frames for name in after}, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=DESK)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--still-every", type=int, default=1, help="the motion gate (1: every frame, as the bench's 60 cycled frames can't be compared otherwise)")
    args = parser.parse_args()
    size = tuple(int(part) for part in args.size.split("x"))
    folder = Path(tempfile.mkdtemp(prefix="bgfx-profile-"))
    clip = scaled_clip(args.input, size, folder)
    chain = "[{type: blur}]"
    per_thread, frames = live(clip, chain, args.seconds, folder, args.still_every)
    baseline, _ = live(clip, "[]", args.seconds, folder, args.still_every)
    (folder / "bench.yaml").write_text(f"effects: {chain}\nsegmentation: {{still_every: {args.still_every}}}\n")
    bench = json.loads(subprocess.run([sys.executable, "-m", "bgfx", "bench", "--input", str(clip), "--config", str(folder / "bench.yaml"),
                                       "--frames", "300", "--mode", "video", "--json"], cwd=ROOT, capture_output=True, text=True,
                                      check=True).stdout.strip().splitlines()[-1])  # fmt: skip
    print(f"live daemon, blur, {size[0]}x{size[1]}, {frames} frames: CPU ms per frame by thread (no effects: decoding and pacing)")
    for name in sorted(per_thread, key=per_thread.get, reverse=True):
        if per_thread[name] >= 0.01 or baseline.get(name, 0) >= 0.01:
            print(f"  {name:24} {per_thread[name]:7.2f}   no effects {baseline.get(name, 0.0):6.2f}")
    total, base = sum(per_thread.values()), sum(baseline.values())
    print(f"  {'all':24} {total:7.2f}   no effects {base:6.2f}   → the chain's own {total - base:.2f}")
    print(f"bgfx bench (VIDEO mode, decoding apart): {bench['cpu_ms_per_frame']:.2f} CPU ms per frame"
          f"   live/bench {(total - base) / bench['cpu_ms_per_frame']:.2f}")


if __name__ == "__main__":
    main()
