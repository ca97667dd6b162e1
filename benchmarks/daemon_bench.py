"""The live daemon under a 1280x720 30 fps input: CPU (cores), end-to-end latency, RSS over time.

Runs `bgfx run --sink null` twice on the same generated 720p30 clip (looped as
a camera): once with no effects (decoding, pacing and the sink: the baseline,
reported apart) and once with the blur chain. CPU comes from /proc/PID/stat
(all threads), latency from `bgfx ctl status --json` (capture → sink), RSS
from /proc/PID/status, sampled every 10 s to show whether it stays flat.

Usage: python benchmarks/daemon_bench.py [--seconds 300] [--out out/daemon]
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

from bgfx.vision.video import VideoFile

HERE = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")


def make_clip(source: Path, target: Path, seconds: int = 20) -> None:
    """A 1280x720 30 fps clip upscaled from the desk video (what a 720p30 webcam would give)."""
    video = VideoFile(source, loop=True)
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1280, 720))
    for _ in range(seconds * 30):
        writer.write(cv2.resize(video.read_image(), (1280, 720), interpolation=cv2.INTER_LINEAR))
    writer.release()
    video.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(clip: Path, config: Path, seconds: float, runtime_dir: Path) -> dict:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(clip), "--sink", "null"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(10)  # warm-up: models loaded, caches filled
        start_cpu, start_wall = cpu_seconds(process.pid), time.monotonic()
        rss = []
        while time.monotonic() - start_wall < seconds:
            time.sleep(min(10, seconds))
            rss.append(round(rss_mib(process.pid), 1))
        cores = (cpu_seconds(process.pid) - start_cpu) / (time.monotonic() - start_wall)
        status = json.loads(subprocess.run(
            [sys.executable, "-m", "bgfx", "ctl", "status", "--json"], env=env, capture_output=True, text=True, check=True
        ).stdout)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return {"cores": cores, "rss_mib": rss, "status": status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=HERE.parents[1] / "shared" / "testdata" / "webcam_desk_960x540.mp4")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--out", type=Path, default=Path("out/daemon"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clip = args.out / "clip_720p30.mp4"
    if not clip.exists():
        make_clip(args.input, clip)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        configs = {"baseline (no effects)": "effects: []\nhotkeys: {}\n", "blur": "effects: [{type: blur}]\nhotkeys: {}\n"}
        for name, text in configs.items():
            config = Path(tmp) / f"{name.split()[0]}.yaml"
            config.write_text(text)
            runtime = Path(tmp) / f"run-{name.split()[0]}"
            runtime.mkdir(mode=0o700)
            results[name] = measure(clip, config, args.seconds, runtime)
    base, blur = results["baseline (no effects)"], results["blur"]
    s = blur["status"]
    print(f"1280x720 at 30 fps input, {args.seconds:.0f} s per run after a 10 s warm-up")
    print(f"  blur chain, whole daemon:           {blur['cores']:.3f} cores")
    print(f"  decoding + pacing + sink (baseline): {base['cores']:.3f} cores")
    print(f"  blur chain, decoding excluded:       {blur['cores'] - base['cores']:.3f} cores")
    print(f"  fps in/out: {s['fps_in']}/{s['fps_out']}, dropped segmentations: {s['dropped']}")
    print(f"  capture → sink latency: median {s['e2e_ms_median']} ms, p95 {s['e2e_ms_p95']} ms")
    print(f"  segmentation latency: median {s['latency_ms_median']} ms, p95 {s['latency_ms_p95']} ms")
    print(f"  RSS every 10 s (MiB): {blur['rss_mib']}")
    (args.out / "daemon.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
