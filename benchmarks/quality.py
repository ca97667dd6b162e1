"""Quality measures of mask refinement on the real data in ../shared, raw model mask vs refined.

- flicker: on the desk video, the share of pixel-frames whose binarised mask
  flips and flips back within three frames (lower is better);
- hair_tint: IoU of the tinted region with ground-truth hair, the tint outside the
  person on the stills, and over moving footage (a pan and zoom over the street
  still, the desk clip): the tint outside the person and how well the hair mask
  follows the motion between hair-model runs;
- hair kept: the share of ground-truth hair pixels of the CelebAMask-HQ set
  that the person mask keeps (higher is better: "the top of my head is cut off");
- a contact sheet PNG (input, raw mask, refined mask, blur, replace, hair tint).

Usage: python benchmarks/quality.py [--shared ../shared] [--out out/quality] [--model selfie_landscape]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from bgfx.vision.effects import ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.effects.replace import Replace
from bgfx.vision.models import load_catalog, locate
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline, SegmentationSettings
from bgfx.vision.refine import Refiner, RefineSettings
from bgfx.vision.segmentation import (
    RunningMode,
    Segmenter,
    SegmenterOptions,
    verify_model,
)


def flip_back_share(masks: np.ndarray) -> float:
    """masks: (T, H, W) bool. Share of (t, pixel) where the value changes at t+1 and returns by t+3."""
    flips = np.zeros(masks.shape[1:], np.int64)
    for t in range(len(masks) - 3):
        changed = masks[t + 1] != masks[t]
        back = (masks[t + 2] == masks[t]) | (masks[t + 3] == masks[t])
        flips += changed & back
    return float(flips.sum() / (masks[0].size * (len(masks) - 3)))


def open_segmenter(name: str, mode: RunningMode, wanted: str) -> Segmenter:
    located = locate(name, load_catalog(), verify=verify_model)
    return Segmenter(located, SegmenterOptions(running_mode=mode, wanted=frozenset({wanted})))


def measure_flicker(video: Path, model: str, settings: RefineSettings, frames: int) -> dict[str, float]:
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    raw, refined = [], []
    refiner = Refiner(settings)
    with open_segmenter(model, RunningMode.VIDEO, "person") as segmenter:
        for index in range(frames):
            ok, image = capture.read()
            if not ok:
                break
            mask = segmenter.segment_for_video(image, int(index * 1000 / fps) + 1).masks["person"]
            size = (image.shape[1], image.shape[0])
            raw.append(cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR) > 0.5)
            refined.append(refiner(mask, image) > 127)
    return {"raw": flip_back_share(np.stack(raw)), "refined": flip_back_share(np.stack(refined)), "frames": len(raw)}


def measure_hair_kept(evaldir: Path, model: str, settings: RefineSettings) -> dict[str, float]:
    kept_raw = kept_refined = total = 0
    with open_segmenter(model, RunningMode.IMAGE, "person") as segmenter:
        for image_path in sorted((evaldir / "images").glob("*.jpg")):
            image = cv2.imread(str(image_path))
            truth = cv2.imread(str(evaldir / "masks" / f"{image_path.stem}_hair.png"), cv2.IMREAD_GRAYSCALE)
            truth = cv2.resize(truth, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST) > 127
            mask = segmenter.segment(image).masks["person"]
            raw = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR) > 0.5
            refined = Refiner(settings)(mask, image) > 127
            total += int(truth.sum())
            kept_raw += int((truth & raw).sum())
            kept_refined += int((truth & refined).sum())
    return {"raw": kept_raw / total, "refined": kept_refined / total}


def tint_shares(weight: np.ndarray, person: np.ndarray) -> tuple[float, float]:
    """Of a tint weight (H, W) uint8: the share of tinted pixels (> 127) outside the person (alpha <= 127),
    and the share of the tint's total weight that falls outside it."""
    tinted, outside = weight > 127, person <= 127
    return float((tinted & outside).sum() / max(1, tinted.sum())), float(weight[outside].sum() / max(1, weight.sum()))


def tint_weight(runtime, masks: dict[str, np.ndarray]) -> np.ndarray:
    region, weight = runtime.weights(masks)
    full = np.zeros(masks["hair"].shape, np.uint8)
    full[region] = weight
    return full


def measure_tint(evaldir: Path, stills: Path, model: str, settings: RefineSettings) -> dict[str, object]:
    """hair_tint through the pipeline (IMAGE mode, as `bgfx process` runs it), hair mask alone vs confined to the
    person: IoU of the tinted region with ground-truth hair, and the tint outside the person on the stills."""
    runtime = HairTint(strength=100).prepare()
    iou = lambda a, b: (a & b).sum() / max(1, (a | b).sum())
    chain = (ChainItem("tint", True, HairTint(strength=100)),)
    with Pipeline(chain, SegmentationSettings(model=model), settings, mode=RunningMode.IMAGE) as pipeline:
        ious = []
        for path in sorted((evaldir / "images").glob("*.jpg")):
            image = cv2.imread(str(path))
            truth = cv2.imread(str(evaldir / "masks" / f"{path.stem}_hair.png"), cv2.IMREAD_GRAYSCALE)
            truth = cv2.resize(truth, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST) > 127
            pipeline.forget()
            _, masks = pipeline.process(Frame(image, 0))
            ious.append((iou(masks["hair"] > 127, truth), iou(tint_weight(runtime, masks) > 127, truth)))
        outside = {}
        for path in sorted(stills.glob("*.jpg")):
            pipeline.forget()
            _, masks = pipeline.process(Frame(cv2.imread(str(path)), 0))
            outside[path.name] = tint_shares(tint_weight(runtime, masks), masks["person"])
    return {"iou": tuple(float(np.mean(column)) for column in zip(*ious)), "outside": outside}


def pan_zoom_frames(still: np.ndarray, seconds: float = 10.0, fps: int = 30, size: tuple[int, int] = (1280, 720)):
    """A camera move over a photo: a 16:9 window sweeping from the left edge to the right edge while it zooms in
    from 80 % of the widest view to 56 %, each view resized to `size`. Yields (timestamp_ms, BGR frame)."""
    height, width = still.shape[:2]
    widest = min(width, round(height * size[0] / size[1]))
    count = int(seconds * fps)
    for index in range(count):
        t = index / max(1, count - 1)
        view_w = round(widest * 0.8 * (1.0 - 0.3 * t))
        view_h = round(view_w * size[1] / size[0])
        x0 = round((width - view_w) * t)
        y0 = round((height - view_h) * 0.3)
        yield 1 + round(index * 1000 / fps), cv2.resize(still[y0 : y0 + view_h, x0 : x0 + view_w], size, interpolation=cv2.INTER_AREA)


def measure_moving_tint(frames, model: str, settings: RefineSettings, hair_every: int) -> dict[str, float]:
    """blur + hair_tint in VIDEO mode over moving frames: tint outside the person (mean and worst frame of
    both shares), and the IoU of the hair mask with that of a hair run on every frame (how well the mask
    follows the motion between hair runs)."""
    runtime = HairTint(strength=100).prepare()
    chain = (ChainItem("tint", True, HairTint(strength=100)),)
    shares, ious = [], []
    with (
        Pipeline(chain, SegmentationSettings(model=model, hair_every=hair_every), settings) as gated,
        Pipeline(chain, SegmentationSettings(model=model, hair_every=1), settings) as every,
    ):
        for timestamp_ms, image in frames:
            frame = Frame(image, timestamp_ms)
            masks = gated.masks(frame, gated.segment(frame))
            reference = every.masks(frame, every.segment(frame))["hair"] > 127
            shares.append(tint_shares(tint_weight(runtime, masks), masks["person"]))
            hair = masks["hair"] > 127
            if reference.any():
                ious.append((hair & reference).sum() / (hair | reference).sum())
    tinted, weighted = np.array(shares).T
    return {
        "outside_mean": float(tinted.mean()), "outside_worst": float(tinted.max()),
        "weight_outside_mean": float(weighted.mean()), "weight_outside_worst": float(weighted.max()),
        "iou_vs_every_frame": float(np.mean(ious)), "frames": len(shares),
    }


def measure_gating(frames, model: str, settings: RefineSettings) -> dict[str, float]:
    """Motion-gated cadence (the shipped still_every) against a person-model run on every frame, blur chain,
    VIDEO mode: flicker of each, how often the gated one ran the model, and its lag: the share of the
    person's pixels (union of both) on which the two masks disagree."""
    chain = (ChainItem("blur", True, Blur()),)
    gated_masks, every_masks, disagreement, runs, last = [], [], [], 0, None
    with (
        Pipeline(chain, SegmentationSettings(model=model), settings) as gated,
        Pipeline(chain, SegmentationSettings(model=model, still_every=1), settings) as every,
    ):
        for timestamp_ms, image in frames:
            frame = Frame(image, timestamp_ms)
            results = gated.segment(frame)
            stamp = results[model].timestamp_ms
            runs, last = runs + (stamp != last), stamp
            mask = gated.masks(frame, results)["person"] > 127
            truth = every.masks(frame, every.segment(frame))["person"] > 127
            gated_masks.append(mask)
            every_masks.append(truth)
            disagreement.append((mask ^ truth).sum() / max(1, (mask | truth).sum()))
    return {
        "flicker_gated": flip_back_share(np.stack(gated_masks)), "flicker_every": flip_back_share(np.stack(every_masks)),
        "runs_share": runs / len(gated_masks), "lag_mean": float(np.mean(disagreement)), "lag_worst": float(np.max(disagreement)),
        "frames": len(gated_masks),
    }  # fmt: skip


def fastest_window(video: Path, count: int = 60) -> int:
    """The first frame of the `count` frames of the video with the most motion (summed 64x36 grey change)."""
    from bgfx.vision.motion import tiny_grey

    changes, previous = [], None
    for _, image in video_frames(video, 10_000):
        grey = tiny_grey(image).astype(np.int16)
        changes.append(0.0 if previous is None else float(np.abs(grey - previous).mean()))
        previous = grey
    window = np.convolve(changes, np.ones(count), mode="valid")
    return int(np.argmax(window))


def video_frames(video: Path, count: int, start: int = 0):
    """`count` frames of a video from frame `start`, as (timestamp_ms, BGR frame)."""
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    for index in range(count):
        ok, image = capture.read()
        if not ok:
            return
        yield 1 + round(index * 1000 / fps), image


def contact_sheet(video: Path, model: str, settings: RefineSettings, out: Path, frame_index: int = 200) -> Path:
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    image = capture.read()[1]
    with open_segmenter(model, RunningMode.IMAGE, "person") as segmenter:
        person = segmenter.segment(image).masks["person"]
    with open_segmenter("hair", RunningMode.IMAGE, "hair") as segmenter:
        hair = segmenter.segment(image).masks["hair"]
    size = (image.shape[1], image.shape[0])
    raw = cv2.convertScaleAbs(cv2.resize(person, size, interpolation=cv2.INTER_LINEAR), alpha=255.0)
    alpha = Refiner(settings)(person, image)
    hair_alpha = Refiner(settings)(hair, image)
    tiles = {
        "input": image,
        "raw mask": cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR),
        "refined mask": cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR),
        "blur": Blur(strength=60).prepare().apply(image, {"person": alpha}, 0),
        "replace": Replace(colour=(120, 90, 40)).prepare().apply(image, {"person": alpha}, 0),
        "hair tint": HairTint(colour=(200, 40, 200), strength=80).prepare().apply(image, {"hair": hair_alpha, "person": alpha}, 0),
    }
    labelled = []
    for name, tile in tiles.items():
        tile = cv2.resize(tile, (480, 270), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, name, (10, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(tile, name, (10, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
        labelled.append(tile)
    sheet = cv2.vconcat([cv2.hconcat(labelled[0:3]), cv2.hconcat(labelled[3:6])])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "contact_sheet.png"
    cv2.imwrite(str(path), sheet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--out", type=Path, default=Path("out/quality"))
    parser.add_argument("--model", default="selfie_landscape")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    settings = RefineSettings()
    video = args.shared / "testdata" / "webcam_desk_960x540.mp4"
    flicker = measure_flicker(video, args.model, settings, args.frames)
    hair = measure_hair_kept(args.shared / "evaldata" / "hair_celebamaskhq", args.model, settings)
    tint = measure_tint(args.shared / "evaldata" / "hair_celebamaskhq", args.shared / "testdata" / "stills", args.model, settings)
    street = cv2.imread(str(args.shared / "testdata" / "stills" / "woman-5883428_1280.jpg"))
    hair_every = SegmentationSettings().hair_every
    moving = {
        "street pan+zoom 10 s": measure_moving_tint(pan_zoom_frames(street), args.model, settings, hair_every),
        "street fast pan+zoom 2 s": measure_moving_tint(pan_zoom_frames(street, seconds=2.0), args.model, settings, hair_every),
        "desk clip 10 s": measure_moving_tint(video_frames(video, 300), args.model, settings, hair_every),
    }
    fastest = fastest_window(video)
    gating = {
        "desk clip 10 s": measure_gating(video_frames(video, 300), args.model, settings),
        f"desk clip, fastest 2 s (from frame {fastest})": measure_gating(video_frames(video, 60, fastest), args.model, settings),
        "street fast pan+zoom 2 s": measure_gating(pan_zoom_frames(street, seconds=2.0), args.model, settings),
    }
    sheet = contact_sheet(video, args.model, settings, args.out)
    print(f"model {args.model}, refine {settings}")
    print(f"{'measure':34} {'raw':>8} {'refined':>8}")
    print(f"{'flicker (flip-backs per px-frame)':34} {flicker['raw']:8.5f} {flicker['refined']:8.5f}   over {flicker['frames']} frames")
    print(f"{'hair kept (share of GT hair)':34} {hair['raw']:8.4f} {hair['refined']:8.4f}")
    print(f"{'hair_tint IoU with GT hair':34} {tint['iou'][0]:8.4f} {tint['iou'][1]:8.4f}   (hair mask alone vs confined)")
    print(f"{'tint outside the person':34} {'pixels':>8} {'weight':>8}")
    for name, (pixels, weight) in tint["outside"].items():
        print(f"{'':34} {pixels:8.4f} {weight:8.4f}   {name}")
    print(f"moving, hair model every {hair_every}th frame: tint outside the person (pixels, weight: mean / worst frame); hair IoU vs every frame")
    for name, m in moving.items():
        print(
            f"  {name:32} {m['outside_mean']:.4f} / {m['outside_worst']:.4f}   {m['weight_outside_mean']:.4f} / "
            f"{m['weight_outside_worst']:.4f}   IoU {m['iou_vs_every_frame']:.4f}   ({m['frames']} frames)"
        )
    still_every = SegmentationSettings().still_every
    print(f"motion-gated person model (still_every {still_every}) vs every frame: model runs, flicker gated / every, lag (mask disagreement: mean / worst)")
    for name, m in gating.items():
        print(f"  {name:44} runs {m['runs_share']:.0%}   flicker {m['flicker_gated']:.5f} / {m['flicker_every']:.5f}"
              f"   lag {m['lag_mean']:.4f} / {m['lag_worst']:.4f}")
    print(f"contact sheet: {sheet}")
    report = {"model": args.model, "flicker": flicker, "hair_kept": hair, "tint": tint, "moving_tint": moving, "gating": gating}
    (args.out / "quality.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
