"""RSS of the live daemon under runtime model switches (issue: RSS climbed ~300 → 600 MB over 400 switches).

Runs `bgfx run --sink null` on the desk video with the shipped blur chain (and, with --hair, blur +
hair_tint), sends `bgfx ctl next-model` N times (each answered once the switch is done) cycling through
segmentation.models, and samples the daemon's RSS from /proc: after the first full cycle, and at the end.

Usage: python benchmarks/switch_memory.py [--switches 400] [--hair]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VIDEO = HERE.parents[1] / "shared" / "testdata" / "webcam_desk_960x540.mp4"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--switches", type=int, default=400)
    parser.add_argument("--hair", action="store_true", help="blur + hair_tint (two models per chain)")
    args = parser.parse_args()
    effects = "[{type: blur}, {type: hair_tint}]" if args.hair else "[{type: blur}]"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "c.yaml"
        config.write_text(f"effects: {effects}\nhotkeys: {{}}\nsegmentation: {{models: [selfie_landscape, selfie_square, deeplab_v3]}}\n")
        env = {**os.environ, "XDG_RUNTIME_DIR": tmp}
        daemon = subprocess.Popen([sys.executable, "-m", "bgfx", "run", "--config", str(config), "--input", str(VIDEO),
                                   "--sink", "null"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(8)
            start = rss_mib(daemon.pid)
            samples = []
            for index in range(args.switches):
                answer = subprocess.run([sys.executable, "-m", "bgfx", "ctl", "next-model"], env=env,
                                        capture_output=True, text=True, timeout=60)
                if answer.returncode != 0:
                    print(f"switch {index}: {answer.stderr.strip()}")
                if index in (2, 5) or (index + 1) % 50 == 0:
                    samples.append((index + 1, round(rss_mib(daemon.pid), 1)))
            time.sleep(2)
            end = rss_mib(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(timeout=20)
    cycle = dict(samples)[6]
    print(f"chain {effects}, {args.switches} switches over 3 models")
    print(f"RSS at start {start:.1f} MiB, after the first two cycles {cycle:.1f} MiB, at the end {end:.1f} MiB")
    print(f"growth after the first cycles: {end - cycle:+.1f} MiB; samples (switch, MiB): {samples}")


if __name__ == "__main__":
    main()
