"""The speed table: `bgfx bench` at 1280x720 and 1920x1080 for blur, replace and blur+hair_tint.

Prints the table and draws it as a PNG chart (stacked mean CPU ms per stage
for each configuration), since people would rather look than read.

Usage: python benchmarks/run_bench.py [--input VIDEO] [--frames 300] [--out out/bench]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = ("blur", "replace", "blur_hair_tint")
SIZES = ("1280x720", "1920x1080")


def run(video: Path, config: str, size: str, frames: int, mode: str) -> dict:
    command = [
        sys.executable, "-m", "bgfx", "bench", "--input", str(video), "--config", str(HERE / "configs" / f"{config}.yaml"),
        "--size", size, "--frames", str(frames), "--mode", mode, "--json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def chart(results: list[tuple[str, str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = []
    for _, _, report in results:
        for name in report["stages"]:
            if name not in stages:
                stages.append(name)
    labels = [f"{config}\n{size}" for config, size, _ in results]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    bottom = [0.0] * len(results)
    for stage in stages:
        values = [report["stages"].get(stage, {}).get("cpu_ms_per_frame", 0.0) for _, _, report in results]
        ax.bar(labels, values, bottom=bottom, label=stage)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    cpu = [report["cpu_ms_per_frame"] for _, _, report in results]
    ax.plot(labels, cpu, "kD", label="whole frame (process CPU, all threads)")
    ax.set_ylabel("CPU ms per frame (mean per stage)")
    ax.set_title("bgfx bench: per-stage time per frame, 2-core x86 CPU, OpenCV 1 thread")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=HERE.parents[1] / "shared" / "testdata" / "webcam_desk_960x540.mp4")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--mode", choices=("video", "live"), default="video")
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    args = parser.parse_args()
    results = []
    print(f"{'config':16} {'size':10} {'wall med':>9} {'wall p95':>9} {'CPU/frame':>10} {'RSS MiB':>8}  stages (CPU ms/frame)")
    for size in SIZES:
        for config in CONFIGS:
            report = run(args.input, config, size, args.frames, args.mode)
            results.append((config, size, report))
            stages = ", ".join(f"{k} {v['cpu_ms_per_frame']:.2f}" for k, v in report["stages"].items())
            print(
                f"{config:16} {size:10} {report['wall_ms_median']:8.2f}  {report['wall_ms_p95']:8.2f}  "
                f"{report['cpu_ms_per_frame']:9.2f}  {report['peak_rss_mib']:7.0f}  {stages}"
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps([{"config": c, "size": s, **r} for c, s, r in results], indent=2))
    chart(results, args.out / "bench.png")
    print(f"chart: {args.out / 'bench.png'}")


if __name__ == "__main__":
    main()
