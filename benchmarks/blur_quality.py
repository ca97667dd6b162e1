"""The pyramid blur (`effects/pyramid.py`) against the blur it replaced: picture, halo and CPU.

On the shared stills and frames of the desk clip, all at 1280x720, with the
person mask of the real model refined as the pipeline refines it:

- PSNR and SSIM of the new blur's output against the old one's (whole frame);
- halo: the person painted red, then green, under the same mask; the mean
  absolute difference of the two outputs in the band 1-24 px outside the person
  (alpha 0) is how much of the person's colour reaches the background (0: none);
- CPU ms per 720p frame (thread time, OpenCV on one thread), each blur on the
  same frames and masks, the new one with its canvas reset on each frame (every
  visible block rescaled, no reuse) and kept (a still clip: the desk clip's first frame
  with fixed-seed sensor noise, and the desk clip itself);
- PSNR of the kept canvas (reuse) against a fresh one, on those two clips.

The old blur is copied here as it was (bgfx 02925fc) so the comparison can be rerun.

Usage: python benchmarks/blur_quality.py [--shared ../shared] [--frames 90]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur, BlurRuntime
from bgfx.vision.effects.composite import Workspace, blend_into
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.resize import shrink
from bgfx.vision.segmentation import RunningMode

SIZE = (1280, 720)


class OldBlur:
    """The blur before the pyramid: one reduced size with sigma 4, a whole-frame bilinear upscale every frame."""

    def __init__(self, strength: int = 60) -> None:
        self.strength = strength
        self._workspace = Workspace()

    def apply(self, image: np.ndarray, masks: dict[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        alpha = masks["person"]
        height, width = image.shape[:2]
        sigma_full = self.strength / 100.0 * 0.06 * width
        scale = min(0.5, 4.0 / sigma_full)
        small = (max(8, round(width * scale)), max(8, round(height * scale)))
        sigma = sigma_full * small[0] / width
        img = shrink(image, small).astype(np.float32)
        weight = 1.0 - cv2.resize(alpha, small, interpolation=cv2.INTER_LINEAR).astype(np.float32) * (1.0 / 255.0)
        weight = cv2.erode(weight, np.ones((3, 3), np.uint8))
        blurred = cv2.GaussianBlur(img * weight[..., None], (0, 0), sigma)
        norm = cv2.GaussianBlur(weight, (0, 0), sigma)
        plain = cv2.GaussianBlur(img, (0, 0), sigma)
        trust = np.clip(norm * 20.0, 0.0, 1.0)[..., None]
        result = blurred / np.maximum(norm, 1e-4)[..., None] * trust + plain * (1.0 - trust)
        background = cv2.resize(np.clip(result, 0, 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
        return blend_into(background, image, alpha, self._workspace)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def halo(blur, image: np.ndarray, alpha: np.ndarray) -> float:
    """Mean |red-person output - green-person output| (grey levels) in the band 1-24 px outside the person."""
    person = alpha > 0
    band = cv2.dilate(person.view(np.uint8), np.ones((49, 49), np.uint8)).astype(bool) & ~person
    outputs = []
    for colour in ((0, 0, 255), (0, 255, 0)):
        painted = image.copy()
        painted[alpha > 127] = colour
        fresh = blur() if callable(blur) else blur
        outputs.append(fresh.apply(painted, {"person": alpha}, 0).astype(np.int16))
    return float(np.abs(outputs[0] - outputs[1])[band].mean())


def masked_frames(images: list[np.ndarray], mode: RunningMode) -> list[tuple[np.ndarray, np.ndarray]]:
    """(read-only frame, refined person alpha) for each image, the pipeline's own refinement."""
    out = []
    with Pipeline((ChainItem("blur", True, Blur()),), mode=mode) as pipeline:
        for index, image in enumerate(images):
            if mode is RunningMode.IMAGE:
                pipeline.forget()
            frame = Frame(image, 1 + 33 * index)
            out.append((frame.image, pipeline.masks(frame, pipeline.segment(frame))["person"]))
    return out


def timed(runtime, image: np.ndarray, alpha: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.thread_time()
    out = runtime.apply(image, {"person": alpha}, 0)
    return time.thread_time() - start, out


def compare_cpu(strength: int, frames: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, object]:
    """Thread CPU ms per frame of the old blur, the new one rescaling everything (canvas reset) and the new one
    kept, interleaved frame by frame (so load from elsewhere falls on all three alike; outputs are not kept,
    as in the daemon; the frame's shared halvings made first, as the motion gate makes them live), and the PSNR
    of kept against reset on each frame."""
    old, fresh, kept = OldBlur(strength), Blur(strength=strength).prepare(), Blur(strength=strength).prepare()
    spent, scores = np.zeros(3), []
    for image, alpha in frames:
        fresh.canvas.reset()
        shrink(image, (image.shape[1] // 16, image.shape[0] // 16))  # the shared halvings, as the gate made them live
        (t_old, _), (t_fresh, a), (t_kept, b) = (timed(r, image, alpha) for r in (old, fresh, kept))
        spent += (t_old, t_fresh, t_kept)
        scores.append(psnr(b, a))
    finite = [s for s in scores if np.isfinite(s)] or [float("inf")]
    return {"ms": spent * 1000 / len(frames), "psnr": (float(np.mean(finite)), min(finite)), "identical": len(scores) - len(finite)}


def read_clip(video: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    images = []
    while len(images) < count:
        ok, image = capture.read()
        if not ok:
            break
        images.append(cv2.resize(image, SIZE, interpolation=cv2.INTER_LINEAR))
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--strength", type=int, default=60)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    testdata = args.shared / "testdata"
    stills = [cv2.resize(cv2.imread(str(p)), SIZE, interpolation=cv2.INTER_AREA) for p in sorted((testdata / "stills").glob("*.jpg"))]
    desk = read_clip(testdata / "webcam_desk_960x540.mp4", args.frames)
    rng = np.random.default_rng(0)
    still = [np.clip(desk[0] + rng.normal(0, 3, desk[0].shape), 0, 255).astype(np.uint8) for _ in range(args.frames)]
    new = lambda: Blur(strength=args.strength).prepare()
    old = lambda: OldBlur(args.strength)
    print(f"blur strength {args.strength}, {SIZE[0]}x{SIZE[1]}: pyramid (new) against the old blur")
    print(f"{'picture':34} {'PSNR dB':>8} {'SSIM':>7} {'halo old':>9} {'halo new':>9}")
    for name, frames in (("stills", masked_frames(stills, RunningMode.IMAGE)), ("desk clip", masked_frames(desk[:: max(1, args.frames // 6)], RunningMode.VIDEO))):
        for index, (image, alpha) in enumerate(frames):
            a, b = old().apply(image, {"person": alpha}, 0), new().apply(image, {"person": alpha}, 0)
            print(f"  {name} {index:<24} {psnr(b, a):8.2f} {ssim(b, a):7.4f} {halo(old, image, alpha):9.3f} {halo(new, image, alpha):9.3f}")
    print("CPU ms per frame (thread time), 3 runs: old | new, canvas reset each frame | new, canvas kept; PSNR kept vs reset (mean / worst frame)")
    for name, images, mode in (("still clip", still, RunningMode.VIDEO), ("desk clip", desk, RunningMode.VIDEO)):
        frames = masked_frames(images, mode)
        for repeat in range(3):
            m = compare_cpu(args.strength, frames)
            print(f"  {name:12} {m['ms'][0]:6.2f} | {m['ms'][1]:6.2f} | {m['ms'][2]:6.2f}   PSNR {m['psnr'][0]:.1f} / {m['psnr'][1]:.1f} dB"
                  f"   ({len(frames)} frames, {m['identical']} identical)")


if __name__ == "__main__":
    main()
