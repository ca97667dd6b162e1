"""Still frames blended anew only where they changed (`KeptBlend`, #21): render CPU and the error it costs.

Two 1280x720 clips, VIDEO mode, the shipped blur chain and motion gate:
- still: the desk clip's first frame with fixed-seed sensor noise (sigma 3) on each of 150 frames;
- desk: the desk clip itself, scaled to 720p (300 frames: typing, turning, leaning).

For each: the render stage's CPU per frame with the kept blend and without it (`KeptBlend.reusable` made
False: every frame blended whole, as before; two passes of each, alternating), the share of frames that took
the kept path and the share of their area blended anew, and PSNR of what was sent against
- the whole blend of the same frame by the same mask over the same background (the kept blend's own error);
- the every-frame path: the model run on every frame, everything recomputed (the gate's and the kept blend's
  error together; the gate's alone is the same figure with the kept blend off).

Usage: python benchmarks/kept_blend.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur, BlurRuntime
from bgfx.vision.effects.composite import blend_into
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings

SIZE = (1280, 720)


def clips(shared: Path) -> dict[str, list[np.ndarray]]:
    capture = cv2.VideoCapture(str(shared / "testdata" / "webcam_desk_960x540.mp4"))
    desk = []
    while len(desk) < 300:
        ok, image = capture.read()
        if not ok:
            break
        desk.append(cv2.resize(image, SIZE, interpolation=cv2.INTER_LINEAR))
    rng = np.random.default_rng(7)
    still = [np.clip(desk[0] + rng.normal(0, 3, desk[0].shape), 0, 255).astype(np.uint8) for _ in range(150)]
    return {"still": still, "desk": desk}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def render_cpu_ms(frames: list[np.ndarray], kept: bool) -> float:
    """Render CPU ms a frame of one pass over `frames` with the kept blend on or off (every frame blended whole,
    as before: `KeptBlend.reusable` made False); each output let go at once, as the daemon does."""
    total = 0.0
    with Pipeline((ChainItem("blur", True, Blur()),), SegmentationSettings()) as pipeline:
        if not kept:
            pipeline.chain._runtimes[0]._kept.reusable = lambda image, alpha: False
        for index, image in enumerate(frames):
            frame = Frame(image, 1 + round(index * 1000 / 30))
            masks = pipeline.masks(frame, pipeline.segment(frame))
            start = time.thread_time()
            pipeline.render(frame, masks)
            total += time.thread_time() - start
    return total * 1000 / len(frames)


def compare(frames: list[np.ndarray]) -> dict:
    """The every-frame path and the gate + kept blend, frame by frame in step: the kept-path share, the mean
    share redone, PSNR (worst) against the whole blend, and PSNR of each against the every-frame path (the
    gate alone from a third pipeline); then render CPU in passes of their own, off/on/off/on (interleaved
    pipelines bias each other's timings by 0.1-0.3 ms)."""
    chain = (ChainItem("blur", True, Blur()),)
    redone, own, against = [], [], {"whole": [], "kept": []}
    with (
        Pipeline(chain, SegmentationSettings(still_every=1)) as every,
        Pipeline(chain, SegmentationSettings()) as whole,
        Pipeline(chain, SegmentationSettings()) as kept,
    ):
        whole.chain._runtimes[0]._kept.reusable = lambda image, alpha: False
        runtime: BlurRuntime = kept.chain._runtimes[0]
        for index, image in enumerate(frames):
            frame = Frame(image, 1 + round(index * 1000 / 30))
            truth = every.render(frame, every.masks(frame, every.segment(frame)))
            for name, pipeline in (("whole", whole), ("kept", kept)):
                masks = pipeline.masks(frame, pipeline.segment(frame))
                output = pipeline.render(frame, masks)
                against[name].append(psnr(output, truth))
            if runtime._kept.redone < 1.0:
                redone.append(runtime._kept.redone)
                h, w = masks["person"].shape
                full = blend_into(runtime.canvas.picture[:h, :w].copy(), image, masks["person"], runtime._workspace)
                own.append(psnr(output, full))
    cpu = {"whole": [], "kept": []}
    for _ in range(2):
        for name in cpu:
            cpu[name].append(render_cpu_ms(frames, name == "kept"))
    return {"cpu_ms": {name: float(np.mean(values)) for name, values in cpu.items()}, "against": against,
            "kept_share": len(redone) / len(frames), "redone": float(np.mean(redone)) if redone else 1.0,
            "own_psnr": min(own) if own else float("inf")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    for name, frames in clips(args.shared).items():
        result = compare(frames)
        print(f"{name}: render {result['cpu_ms']['whole']:.2f} → {result['cpu_ms']['kept']:.2f} CPU ms a frame; kept path"
              f" on {result['kept_share']:.0%} of frames, {result['redone']:.1%} of their area blended anew")
        print(f"  PSNR against the whole blend of the same mask: worst {result['own_psnr']:.1f} dB")
        for label, key in (("gate alone", "whole"), ("gate + kept blend", "kept")):
            values = result["against"][key]
            print(f"  PSNR against the every-frame path, {label}: mean {np.mean([min(v, 99) for v in values]):.1f}"
                  f" dB, worst {min(values):.1f} dB")

if __name__ == "__main__":
    main()
