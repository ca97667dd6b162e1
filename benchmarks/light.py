"""light and denoise on footage made dark here: CPU per 720p frame of each, and the issue's figures (#20).

The desk clip (upscaled to 1280x720) and the doctor still are darkened per channel with 255 · gain ·
(x/255)^1.6 (face L* ≈ 15) and fixed-seed Gaussian sensor noise (std 2 levels); the person masks come from
the real person model through a Pipeline. CPU is time.process_time over the effect's apply alone, OpenCV on
one thread, the masks computed beforehand. Figures: face L* (median over a hand-drawn face box) against the
target, skin ΔE of the face's mean a*/b* against the clean frame, the still face's L* std over frames
10..39, high-pass noise std on still rows before/after denoise, and the face with a window pasted behind.

Usage: python -m benchmarks.light [--frames 90]   (run under flock /tmp/bgfx-bench.lock)
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.denoise import Denoise
from bgfx.vision.effects.light import Light
from bgfx.vision.effects.studio_light import StudioLight
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from bgfx.vision.resize import shrink

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "testdata"
SIZE = (1280, 720)
FACE = (slice(113, 287), slice(707, 840))  # the desk clip's face box (forehead to chin) at 1280x720
DOCTOR_FACE = (slice(105, 165), slice(305, 385))
log = logging.getLogger("benchmarks.light")


def darken(image: np.ndarray, rng: np.random.Generator, gain: float) -> np.ndarray:
    """255 · gain · (x/255)^1.6 per channel plus N(0, 2) sensor noise, uint8."""
    lut = np.clip(255.0 * gain * (np.arange(256) / 255.0) ** 1.6, 0, 255).astype(np.uint8)
    noisy = cv2.LUT(image, lut).astype(np.float32) + rng.normal(0.0, 2.0, image.shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def lab(image: np.ndarray, box: tuple[slice, slice]) -> np.ndarray:
    """(median L* 0..100, mean a*, mean b*) of a box."""
    values = cv2.cvtColor(image[box], cv2.COLOR_BGR2Lab).reshape(-1, 3).astype(np.float64)
    return np.array([np.median(values[:, 0]) / 2.55, values[:, 1].mean() - 128.0, values[:, 2].mean() - 128.0])


def desk(frames: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(SHARED / "webcam_desk_960x540.mp4"))
    images = []
    while len(images) < frames:
        ok, image = capture.read()
        if not ok:
            break
        images.append(cv2.resize(image, SIZE, interpolation=cv2.INTER_LINEAR))
    capture.release()
    return images


def through(items: tuple[ChainItem, ...], images: list[np.ndarray]) -> tuple[list[np.ndarray], list[dict]]:
    """The pipeline's outputs and masks, the person model on every frame, 33 ms apart."""
    with Pipeline(items, SegmentationSettings(still_every=1)) as pipeline:
        results = [pipeline.process(Frame(image, 1 + 33 * index)) for index, image in enumerate(images)]
    return [image for image, _ in results], [masks for _, masks in results]


def cpu_ms(effect: object, images: list[np.ndarray], masks: list[dict], shared: bool = False) -> float:
    """Mean process CPU ms of the effect's apply per frame (the first 5 frames warm it and are not counted).

    shared: each frame read-only with its first halving made beforehand, as in the pipeline, where the
    segmentation stage has made it (resize.shrink memoises it) before the first effect runs."""
    runtime = effect.prepare()
    total = 0.0
    for index, (image, frame_masks) in enumerate(zip(images, masks)):
        if shared:
            image = image.copy()
            image.flags.writeable = False
            shrink(image, (image.shape[1] // 2, image.shape[0] // 2))
        start = time.process_time()
        runtime.apply(image, frame_masks, 33 * index)
        total += time.process_time() - start if index >= 5 else 0.0
    runtime.close()
    return total * 1000.0 / (len(images) - 5)


def high_pass(image: np.ndarray, reference: np.ndarray, rows: slice) -> float:
    """Std of the high-pass (minus a sigma-2 blur) of the grey difference from the noise-free reference."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32) - cv2.cvtColor(reference, cv2.COLOR_BGR2GRAY)
    return float((grey - cv2.GaussianBlur(grey, (0, 0), 2.0))[rows].std())


def desk_figures(frames: int) -> None:
    clean = desk(frames)
    rng = np.random.default_rng(20)
    dark = [darken(image, rng, 0.35) for image in clean]
    lit, masks = through((ChainItem("light", True, Light()),), dark)
    window = [image.copy() for image in dark]
    for image in window[10:]:
        image[0:350, 0:560] = 250
    windowed, _ = through((ChainItem("light", True, Light()),), window)
    face, original, shining = lab(lit[-1], FACE), lab(clean[-1], FACE), lab(windowed[-1], FACE)
    print(f"desk clip 720p, {frames} frames: face L* clean {original[0]:.1f}, dark {lab(dark[-1], FACE)[0]:.1f}, "
          f"lit {face[0]:.1f} (target {Light().target}); skin ΔE(a*b*) {np.hypot(*(face[1:] - original[1:])):.2f}; "
          f"with a window behind: {shining[0]:.1f}")
    print(f"CPU per 720p frame: light {cpu_ms(Light(), dark, masks):.2f} ms "
          f"({cpu_ms(Light(), dark, masks, shared=True):.2f} ms with the frame's halving shared, as in the pipeline), "
          f"denoise {cpu_ms(Denoise(), lit, masks):.2f} ms, studio_light {cpu_ms(StudioLight(), dark, masks):.2f} ms")
    still = [darken(clean[0], rng, 0.35) for _ in range(40)]
    reference = through((ChainItem("light", True, Light()),), [cv2.LUT(clean[0], _dark_lut(0.35))] * 8)[0][-1]
    lifted, _ = through((ChainItem("light", True, Light()),), still)
    runtime = Denoise().prepare()
    denoised = [runtime.apply(image, {}, 33 * index) for index, image in enumerate(lifted)][-1]
    rows = slice(None)  # the whole frame: the same still picture every frame
    print(f"still desk frame, 40 noisy frames: high-pass noise std lit {high_pass(lifted[-1], reference, rows):.2f} "
          f"→ denoised {high_pass(denoised, reference, rows):.2f}")


def _dark_lut(gain: float) -> np.ndarray:
    return np.clip(255.0 * gain * (np.arange(256) / 255.0) ** 1.6, 0, 255).astype(np.uint8)


def still_figures() -> None:
    clean = cv2.imread(str(SHARED / "stills" / "doctor-5871743_640.jpg"), cv2.IMREAD_COLOR)
    rng = np.random.default_rng(21)
    lit, _ = through((ChainItem("light", True, Light()),), [darken(clean, rng, 0.47) for _ in range(40)])
    lightness = [lab(image, DOCTOR_FACE)[0] for image in lit]
    face, original = lab(lit[-1], DOCTOR_FACE), lab(clean, DOCTOR_FACE)
    print(f"doctor still: face L* clean {original[0]:.1f}, lit {face[0]:.1f}, L* std frames 10..39 "
          f"{np.std(lightness[10:]):.2f}, skin ΔE(a*b*) {np.hypot(*(face[1:] - original[1:])):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cv2.setNumThreads(1)
    desk_figures(args.frames)
    still_figures()


if __name__ == "__main__":
    main()
