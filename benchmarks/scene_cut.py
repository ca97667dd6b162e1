"""The scene-cut clip: the hair set's photos one after another, each held a few frames, as a camera would cut.

Each photo is a different person in a different place, so every `hold` frames the
picture changes at once. The measure is the hair tint's IoU with the photo's
ground-truth hair on the last frame of each photo (what the masks settled on before
the next cut) and on every frame, through the real pipeline in VIDEO mode with the
shipped cadence (hair_every, still_every), against the same pipeline running every
model on every frame. The clip is made at run time from ../shared/evaldata, never stored.

Usage: python benchmarks/scene_cut.py [--shared ../shared] [--photos 105] [--hold 6]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from bgfx.vision.refine import RefineSettings

SIDE = 720  # px: the photos (1024x1024) are shown at 720x720, about a 720p camera's pixel count
FPS = 30


@dataclass(frozen=True, slots=True)
class CutFrame:
    """One frame of the clip: the (SIDE, SIDE, 3) BGR picture, its (SIDE, SIDE) bool true hair, and its place."""

    frame: Frame
    truth: np.ndarray
    photo: int  # index of the photo in the clip
    last: bool  # the last frame this photo is held


def cut_clip(evaldir: Path, photos: int, hold: int) -> Iterator[CutFrame]:
    """The first `photos` photos of the hair set (sorted by id), each held `hold` frames at FPS."""
    paths = sorted((evaldir / "images").glob("*.jpg"))[:photos]
    if not paths:
        raise FileNotFoundError(f"{evaldir / 'images'}: no *.jpg photos (the hair set, see evaldata/README.md)")
    for photo, path in enumerate(paths):
        image = cv2.resize(cv2.imread(str(path)), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        truth = cv2.imread(str(evaldir / "masks" / f"{path.stem}_hair.png"), cv2.IMREAD_GRAYSCALE)
        truth = cv2.resize(truth, (SIDE, SIDE), interpolation=cv2.INTER_NEAREST) > 127
        for held in range(hold):
            index = photo * hold + held
            yield CutFrame(Frame(image, 1 + round(index * 1000 / FPS)), truth, photo, held == hold - 1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def tinted(runtime, masks: dict[str, np.ndarray]) -> np.ndarray:
    """(H, W) bool: where the tint's weight is over half."""
    region, weight = runtime.weights(masks)
    full = np.zeros(masks["hair"].shape, bool)
    full[region] = weight > 127
    return full


def measure_cut_clip(
    evaldir: Path, model: str = "selfie_landscape", photos: int = 105, hold: int = 6,
    segmentation: SegmentationSettings | None = None, settings: RefineSettings = RefineSettings(),
) -> dict[str, object]:
    """Tint IoU with the true hair over the cut clip, with the shipped cadence and with every model on every frame:
    the mean on each photo's last frame, the worst photo's last frame, the mean over every frame, and how many
    times each model ran (new results). segmentation: the settings under test (default: shipped, this model)."""
    runtime = HairTint(strength=100).prepare()
    chain = (ChainItem("tint", True, HairTint(strength=100)),)
    shipped = segmentation or SegmentationSettings(model=model)
    every_frame = SegmentationSettings(model=shipped.model, hair_every=1, still_every=1)
    report = {}
    for name, chosen in (("shipped", shipped), ("every frame", every_frame)):
        last, every, runs, stamps = [], [], {}, {}
        with Pipeline(chain, chosen, settings) as pipeline:
            for item in cut_clip(evaldir, photos, hold):
                results = pipeline.segment(item.frame)
                for key, result in results.items():
                    runs[key] = runs.get(key, 0) + (stamps.get(key) != result.timestamp_ms)
                    stamps[key] = result.timestamp_ms
                score = iou(tinted(runtime, pipeline.masks(item.frame, results)), item.truth)
                every.append(score)
                if item.last:
                    last.append(score)
        report[name] = {
            "iou_last": float(np.mean(last)), "iou_last_worst": float(np.min(last)), "iou_every": float(np.mean(every)),
            "runs": runs, "frames": len(every), "photos": len(last),
        }  # fmt: skip
    return report


def print_report(report: dict[str, object], hold: int) -> None:
    print(f"scene cuts every {hold} frames: hair tint IoU with true hair (last frame of each photo: mean / worst; every frame), model runs")
    for name, m in report.items():
        runs = ", ".join(f"{model} {count}" for model, count in sorted(m["runs"].items()))
        print(f"  {name:12} last {m['iou_last']:.4f} / {m['iou_last_worst']:.4f}   every {m['iou_every']:.4f}"
              f"   runs: {runs} ({m['frames']} frames, {m['photos']} photos)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--model", default="selfie_landscape")
    parser.add_argument("--photos", type=int, default=105)
    parser.add_argument("--hold", type=int, default=6)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    evaldir = args.shared / "evaldata" / "hair_celebamaskhq"
    print_report(measure_cut_clip(evaldir, args.model, args.photos, args.hold), args.hold)


if __name__ == "__main__":
    main()
