"""The motion gate on a camera pan: model-call rate and lag against a model run on every frame.

The pan: a 1280x720 window sliding across the desk clip's first frame scaled
to 1600x900 (no zoom), at 4, 8 and 16 px a frame, 4 s at 30 fps (each pass
there and back). Measured with `benchmarks.quality.measure_gating` (blur chain, VIDEO mode):
the share of frames the person model ran on, lag (the share of the person's
pixels on which the gated and every-frame masks disagree, mean / worst frame)
and flicker. Run it against another checkout with PYTHONPATH=DIR (the code
before a change): it imports `benchmarks.quality` and `bgfx` from there.

Usage: [PYTHONPATH=DIR] python benchmarks/pan_gate.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from benchmarks.quality import measure_gating
from bgfx.vision.refine import RefineSettings


def pan_frames(still: np.ndarray, step: int, seconds: float = 4.0, fps: int = 30, size: tuple[int, int] = (1280, 720)):
    """(timestamp_ms, frame) of a window of `size` sliding `step` px a frame over `still` scaled by 1.25, back and forth."""
    big = cv2.resize(still, (size[0] * 5 // 4, size[1] * 5 // 4), interpolation=cv2.INTER_LINEAR)
    span, top = big.shape[1] - size[0], (big.shape[0] - size[1]) // 2
    for index in range(int(seconds * fps)):
        x = (index * step) % (2 * span)
        x = x if x <= span else 2 * span - x
        yield 1 + round(index * 1000 / fps), np.ascontiguousarray(big[top : top + size[1], x : x + size[0]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--model", default="selfie_landscape")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    capture = cv2.VideoCapture(str(args.shared / "testdata" / "webcam_desk_960x540.mp4"))
    still = capture.read()[1]
    print("pan over the desk frame, 1280x720, 4 s: model runs, lag mean / worst, flicker gated / every")
    for step in (4, 8, 16):
        m = measure_gating(pan_frames(still, step), args.model, RefineSettings())
        print(f"  {step:2} px a frame   runs {m['runs_share']:.0%}   lag {m['lag_mean']:.4f} / {m['lag_worst']:.4f}"
              f"   flicker {m['flicker_gated']:.5f} / {m['flicker_every']:.5f}")


if __name__ == "__main__":
    main()
