"""The live daemon's CPU with the motion gate and the CPU governor, still vs moving, with and without a load.

Runs `bgfx run` (blur chain, null sink) for `--seconds` on each 720p clip it
makes from ../shared (the desk video scaled to 1280x720: moving; its first
frame with sensor noise: still), with live.cpu_budget 0 (off) and the default
0.25, then again with a CPU hog on both cores; prints the process's cores
(video decoding included: it is the same in every row), fps out and the
governor's step at the end.

Usage: python benchmarks/governor_bench.py [--seconds 30]
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
HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def make_clips(folder: Path) -> dict[str, Path]:
    capture = cv2.VideoCapture(str(DESK))
    frames = []
    while len(frames) < 300:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(image, (1280, 720)))
    rng = np.random.default_rng(0)
    clips = {"moving (desk clip)": folder / "moving.mp4", "still (+noise)": folder / "still.mp4"}
    for name, pictures in (("moving (desk clip)", frames),
                           ("still (+noise)", [np.clip(frames[0] + rng.normal(0, 3, frames[0].shape), 0, 255).astype(np.uint8) for _ in range(300)])):  # fmt: skip
        writer = cv2.VideoWriter(str(clips[name]), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1280, 720))
        for picture in pictures:
            writer.write(picture)
        writer.release()
    return clips


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(clip: Path, budget: float, load: bool, seconds: float, folder: Path) -> tuple[float, float, int]:
    config = folder / "bgfx.yaml"
    config.write_text(f'effects: [{{type: blur}}]\noutput: {{sink: "null"}}\nlive: {{cpu_budget: {budget}, web: {{enabled: false}}}}\n')
    runtime = Path(tempfile.mkdtemp(dir=folder))
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    daemon = subprocess.Popen([sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(clip)],
                              cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=seconds + 20)]) for _ in range(2 if load else 0)]
    try:
        time.sleep(10)  # start, settle, let the governor find its step
        cpu0, began = cpu_s(daemon.pid), time.monotonic()
        time.sleep(seconds)
        cores = (cpu_s(daemon.pid) - cpu0) / (time.monotonic() - began)
        status = json.loads(subprocess.run([sys.executable, "-m", "bgfx", "ctl", "status", "--json"], cwd=ROOT, env=env,
                                           capture_output=True, text=True, timeout=30).stdout)  # fmt: skip
    finally:
        for hog in hogs:
            hog.kill()
        daemon.terminate()
        daemon.wait(timeout=30)
    return cores, status["fps_out"], status["effort"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bgfx-governor-"))
    clips = make_clips(folder)
    print(f"{'clip':20} {'load':5} {'budget':>6} {'cores':>6} {'fps out':>8} {'step':>5}")
    for name, clip in clips.items():
        for load in (False, True):
            for budget in (0.0, 0.25):
                cores, fps, step = run(clip, budget, load, args.seconds, folder)
                print(f"{name:20} {'yes' if load else 'no':5} {budget:6.2f} {cores:6.3f} {fps:8.2f} {step:5d}", flush=True)


if __name__ == "__main__":
    main()
