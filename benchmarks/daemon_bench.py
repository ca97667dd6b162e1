"""The live daemon beside `bgfx bench`: 720p and 1080p, still and moving, with and without a CPU hog; a PNG chart.

For each size and clip (moving: the desk video scaled; still: its first frame
with sensor noise), all at 30 fps and with the blur chain and the null sink:

1. `bgfx run` with no effects (decoding, pacing, sink: taken off the rows below);
2. `bgfx run` with the governor off (`live.cpu_budget: 0`), the motion gate as
   configured by default: the live CPU per frame, decoding excluded, against
   `bgfx bench` (VIDEO mode) on the same clip and chain;
3. with `--load`: `bgfx run` with `live.cpu_budget` (default 0.25) for three
   spans of `--seconds`: quiet, a busy loop on both cores, quiet again. Sampled
   every second: the process's cores, fps out, the governor's step and the
   capture → sink latency; drawn as a PNG (out/daemon/daemon.png).

CPU is the daemon process's (all threads) from /proc/PID/stat; fps and step
from the control socket. Each run settles for 10 s first.

Usage: python benchmarks/daemon_bench.py [--seconds 20] [--load] [--sizes 1280x720,1920x1080] [--out out/daemon]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from bgfx.live.control.socket_server import request
from bgfx.live.governor import STEPS

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT.parent / "shared" / "testdata" / "webcam_desk_960x540.mp4"
TICK = os.sysconf("SC_CLK_TCK")
SETTLE_S = 10.0
CLIP_FRAMES = 60
HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def make_clips(size: tuple[int, int], folder: Path) -> dict[str, Path]:
    """2 s at 30 fps of `size`, looped by both the daemon and the bench (which cycles 60 decoded frames), so both see
    the same motion: 'moving' (the desk video) and 'still' (its first frame, σ=3 sensor noise on each)."""
    capture = cv2.VideoCapture(str(DESK))
    frames = []
    while len(frames) < CLIP_FRAMES:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(image, size))
    rng = np.random.default_rng(0)
    noisy = (np.clip(frames[0] + rng.normal(0, 3, frames[0].shape), 0, 255).astype(np.uint8) for _ in range(CLIP_FRAMES))
    clips = {}
    for name, pictures in (("moving", frames), ("still", noisy)):
        clips[name] = folder / f"{name}-{size[0]}x{size[1]}.mp4"
        writer = cv2.VideoWriter(str(clips[name]), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
        for picture in pictures:
            writer.write(picture)
        writer.release()
    return clips


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@contextmanager
def daemon(clip: Path, effects: str, budget: float, folder: Path) -> Iterator[tuple[int, Path]]:
    """A `bgfx run` on the clip, settled: (pid, its control socket)."""
    runtime = Path(tempfile.mkdtemp(dir=folder))
    runtime.chmod(0o700)
    config = runtime / "bgfx.yaml"
    config.write_text(f'effects: {effects}\noutput: {{sink: "null"}}\nlive: {{cpu_budget: {budget}, web: {{enabled: false}}}}\n')
    process = subprocess.Popen([sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(clip)],
                               cwd=ROOT, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(SETTLE_S)
        yield process.pid, runtime / "bgfx" / "control.sock"
    finally:
        process.terminate()
        process.wait(timeout=30)


def rss_mib(pid: int) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def steady(clip: Path, effects: str, seconds: float, folder: Path) -> dict:
    """Cores, CPU ms per output frame and RSS (MiB, at both ends) over `seconds`, governor off."""
    with daemon(clip, effects, 0.0, folder) as (pid, sock):
        cpu, frames, began, rss = cpu_s(pid), request(sock, "status")["data"]["frames_out"], time.monotonic(), rss_mib(pid)
        time.sleep(seconds)
        status = request(sock, "status")["data"]
        used = cpu_s(pid) - cpu
        cores, cpu_ms = used / (time.monotonic() - began), used * 1000 / max(1, status["frames_out"] - frames)
        rss = (rss, rss_mib(pid))
    return {"cores": cores, "cpu_ms_per_frame": cpu_ms, "fps_out": status["fps_out"], "e2e_ms_p95": status["e2e_ms_p95"], "rss_mib": rss}


def under_load(clip: Path, budget: float, seconds: float, folder: Path) -> list[dict]:
    """Samples every second over quiet, loaded (a busy loop on both cores), quiet spans of `seconds` each."""
    samples, hogs = [], []
    with daemon(clip, "[{type: blur}]", budget, folder) as (pid, sock):
        start, cpu_before, last = time.monotonic(), cpu_s(pid), time.monotonic()
        while (now := time.monotonic()) - start < 3 * seconds:
            if not hogs and now - start >= seconds:
                hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=seconds)]) for _ in range(2)]
            time.sleep(1.0)
            cpu, now = cpu_s(pid), time.monotonic()
            status = request(sock, "status")["data"]
            samples.append({"t": round(now - start, 2), "loaded": seconds <= now - start - 1.0 < 2 * seconds,
                            "cores": (cpu - cpu_before) / (now - last), "fps_out": status["fps_out"],
                            "step": status["effort"], "e2e_ms_p95": status["e2e_ms_p95"]})  # fmt: skip
            cpu_before, last = cpu, now
        for hog in hogs:
            hog.kill()
    return samples


def bench(clip: Path, folder: Path) -> float:
    """`bgfx bench` CPU ms per frame over 900 frames (300 vary ±10 % from run to run here), VIDEO mode, the blur
    chain, default settings (motion gate on)."""
    config = folder / "bench.yaml"
    config.write_text("effects: [{type: blur}]\n")
    out = subprocess.run([sys.executable, "-m", "bgfx", "bench", "--input", str(clip), "--config", str(config), "--frames", "900",
                          "--json"], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])["cpu_ms_per_frame"]


def load_row(samples: list[dict]) -> str:
    """Whole-process cores quiet → loaded, the lowest fps out and the highest step under load, the step at the end."""
    loaded = [s for s in samples if s["loaded"]]
    quiet = [s for s in samples if not s["loaded"]]
    return (f"{np.mean([s['cores'] for s in quiet]):5.3f} → {np.mean([s['cores'] for s in loaded]):5.3f} "
            f"{min(s['fps_out'] for s in loaded):8.2f} {max(s['step'] for s in loaded):5d} {samples[-1]['step']:6d}")


def chart(loads: dict[str, list[dict]], seconds: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True)
    for name, samples in loads.items():
        t = [s["t"] for s in samples]
        for ax, key in zip(axes, ("cores", "fps_out", "step"), strict=True):
            ax.plot(t, [s[key] for s in samples], label=name, drawstyle="steps-post" if key == "step" else "default")
    for ax, label in zip(axes, ("cores (whole process)", "fps out", "governor step"), strict=True):
        ax.axvspan(seconds, 2 * seconds, color="0.9", zorder=0)
        ax.set_ylabel(label)
    axes[1].set_ylim(0, 35)
    axes[2].set_yticks(range(len(STEPS)), [f"{level} {step.name}" for level, step in enumerate(STEPS)], fontsize=7)
    axes[0].legend(fontsize=8, loc="upper left")
    axes[2].set_xlabel("seconds (grey: a busy loop on both cores)")
    axes[0].set_title("bgfx run, blur, 30 fps, live.cpu_budget on: under a CPU hog")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--load", action="store_true", help="also run under a CPU hog with the governor on")
    parser.add_argument("--budget", type=float, default=0.25, help="live.cpu_budget of the --load runs")
    parser.add_argument("--out", type=Path, default=Path("out/daemon"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bgfx-daemon-"))
    results, loads = {}, {}
    print("bench ms, live ms: CPU ms per frame, decoding excluded from live; cores: the chain's, governor off")
    if args.load:
        print(f"with --load (budget {args.budget}): whole-process cores quiet → under the hog, fps out lowest, "
              "governor step highest under the hog and at the end")
    print(f"{'size':10} {'clip':7} {'bench ms':>8} {'live ms':>8} {'live/bench':>10} {'cores':>6} {'fps':>6}   "
          f"{'cores quiet → load':>18} {'fps min':>8} {'step':>5} {'end':>6}", flush=True)  # fmt: skip
    for size_text in args.sizes.split(","):
        size = tuple(int(part) for part in size_text.split("x"))
        for clip_name, clip in make_clips(size, folder).items():
            name = f"{size_text} {clip_name}"
            base = steady(clip, "[]", args.seconds, folder)
            blur = steady(clip, "[{type: blur}]", args.seconds, folder)
            bench_ms = bench(clip, folder)
            live_ms = blur["cpu_ms_per_frame"] - base["cpu_ms_per_frame"]
            row = f"{size_text:10} {clip_name:7} {bench_ms:8.2f} {live_ms:8.2f} {live_ms / bench_ms:10.2f} " \
                  f"{blur['cores'] - base['cores']:6.3f} {blur['fps_out']:6.2f}"  # fmt: skip
            results[name] = {"no_effects": base, "blur": blur, "bench_ms": bench_ms, "live_ms": live_ms}
            if args.load:
                loads[name] = samples = under_load(clip, args.budget, args.seconds, folder)
                row += "   " + load_row(samples)
                results[name]["load"] = samples
            print(row, flush=True)
    (args.out / "daemon.json").write_text(json.dumps(results, indent=2))
    if loads:
        chart(loads, args.seconds, args.out / "daemon.png")
        print(f"chart: {args.out / 'daemon.png'}")


if __name__ == "__main__":
    main()
