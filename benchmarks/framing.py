"""Auto-framing (#19) on clips made from the shared footage, measured on what is sent.

The clips (1280x720, 30 fps, made at run time from ../shared/testdata, never stored):
- off_centre: the desk video pasted into a larger canvas (edges replicated, no black), the person's
  upper body at 75 % of the width and the head top at 26 % of the height;
- desk: the desk video as it is, scaled to 720p (upper body at 66 % of the width);
- across: the desk video in a wide canvas seen through a 720p window that slides, so the person
  moves across the picture, then stays;
- two: two portraits side by side, 80 px of plain grey between them;
- nobody: a rocket on its launch pad (scikit-image's photo), no one in it;
- still: one desk frame again and again with sensor noise (the person sits perfectly still).

The output is measured by an independent segmentation (selfie_square, IMAGE mode, a model other than the
pipeline's) of the frames sent: the upper body's centre (the mask's centroid over the top quarter of the
height below the head top), the head top, and the picture's frame-to-frame shift (phase correlation).
The cost (printed first): the framing stage's own CPU time per 720p frame (its StageClock section, which is
time.process_time), split into frames where the window moved and frames where it was settled, and the whole
render (framing + blur chain) against the same chain without framing on the same frames and masks, the two
alternated frame by frame in one run; medians, OpenCV on one thread. The masks come with their refinements
(`last_refined`), so the stage scales each from its guide-size alpha as it does in the pipeline. The framed picture is scaled back to the
frame's size before the chain, so the chain costs the same either way: the difference is the stage's.

Usage (under flock /tmp/bgfx-bench.lock, from the checkout): python -m benchmarks.framing [--shared ../shared] [--cost]
"""

from __future__ import annotations

import argparse
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgfx.vision.effects import Chain, ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.frame import Frame
from bgfx.vision.framing_settings import FramingSettings
from bgfx.vision.framing_stage import FramingStage
from bgfx.vision.models import LocatedModel, load_catalog
from bgfx.vision.pipeline import Pipeline, SegmentationSettings, last_refined
from bgfx.vision.refine import Refined
from bgfx.vision.segmentation import Segmenter, SegmenterOptions
from bgfx.vision.timing import StageClock

SIZE = (1280, 720)
FPS = 30
STEP_MS = 33
SETTLED_AFTER = 90  # frames (3 s): from then on a clip counts as settled
BLUR = ChainItem("blur", True, Blur())
FOLLOW = FramingSettings(mode="follow")
GREY = 128  # the plain background the two portraits stand on


def desk(shared: Path, count: int, start: int = 0) -> list[np.ndarray]:
    """`count` frames of the desk video from frame `start`, 960x540 BGR."""
    capture = cv2.VideoCapture(str(shared / "testdata" / "webcam_desk_960x540.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            raise RuntimeError("cannot decode the desk video")
        frames.append(image)
    capture.release()
    return frames


def pasted(image: np.ndarray, size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    """image placed at (x, y) in a canvas of size (w, h), the canvas filled by replicating its edges."""
    x, y = at
    height, width = image.shape[:2]
    return cv2.copyMakeBorder(image, y, size[1] - height - y, x, size[0] - width - x, cv2.BORDER_REPLICATE)


def off_centre(shared: Path, count: int) -> list[np.ndarray]:
    return shifted(shared, count, (320, 180))


def shifted(shared: Path, count: int, at: tuple[int, int]) -> list[np.ndarray]:
    """The desk video pasted at (x, y) into a 1280x720 canvas (its edges replicated)."""
    return [pasted(image, SIZE, at) for image in desk(shared, count)]


def desk_720p(shared: Path, count: int) -> list[np.ndarray]:
    return [cv2.resize(image, SIZE, interpolation=cv2.INTER_LINEAR) for image in desk(shared, count)]


def across(shared: Path, count: int, moving: int) -> list[np.ndarray]:
    """The person moves right to left across 640 px during the first `moving` frames, then stays."""
    clip = []
    for index, image in enumerate(desk(shared, count)):
        wide = pasted(cv2.resize(image, SIZE), (SIZE[0] + 640, SIZE[1]), (320, 0))
        x = round(640 * min(1.0, index / moving))
        clip.append(np.ascontiguousarray(wide[:, x : x + SIZE[0]]))
    return clip


def still(shared: Path, count: int, noise: float = 2.0) -> list[np.ndarray]:
    """One desk frame (in the off-centre canvas) `count` times with Gaussian sensor noise of `noise` grey levels."""
    base = pasted(desk(shared, 1, 300)[0], SIZE, (320, 180)).astype(np.float32)
    rng = np.random.default_rng(0)
    return [np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def two(shared: Path, count: int, gap: int = 80) -> list[np.ndarray]:
    """Two portraits, each 560x720 cut round its person, `gap` px apart on a plain grey canvas. The gap is there
    so the judge tells them apart by a margin: edge to edge (the doctor's coat touching the girl's hair) the
    judge's head blobs are 39 px apart, 121 px with the gap. Lower down its mask joins the bodies even so,
    which is why people() counts on the top half."""
    canvas = np.full((SIZE[1], SIZE[0], 3), GREY, np.uint8)
    x = (SIZE[0] - 2 * 560 - gap) // 2
    for name, centre in (("doctor-5871743_640.jpg", 0.40), ("girl-919048_1280.jpg", 0.54)):
        image = cv2.imread(str(shared / "testdata" / "stills" / name))
        scaled = cv2.resize(image, (round(image.shape[1] * 720 / image.shape[0]), 720))
        left = int(np.clip(centre * scaled.shape[1] - 280, 0, scaled.shape[1] - 560))
        canvas[:, x : x + 560] = scaled[:, left : left + 560]
        x += 560 + gap
    return [canvas] * count


def nobody(shared: Path, count: int) -> list[np.ndarray]:
    """A rocket on its launch pad at dusk (scikit-image's photo), no one in it, 1280x720. (The stills' lake
    is no good here: the person model takes most of a featureless lake for a person.)"""
    from skimage import data

    return [cv2.resize(cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2BGR), SIZE, interpolation=cv2.INTER_LINEAR)] * count


@dataclass(frozen=True, slots=True)
class Measured:
    """Per frame sent: the upper body's centre offset from the middle (fraction of the width, signed), the head
    top (fraction of the height; nan: nobody), the shift from the frame before (px), and the stage's zoom."""

    offset: np.ndarray
    head: np.ndarray
    shift: np.ndarray
    zoom: np.ndarray
    sizes: set[tuple[int, int, int]]
    last: np.ndarray  # the last frame sent, (H, W, 3) uint8


def run(clip: list[np.ndarray], framing: FramingSettings, judge: Segmenter, every: int = 1) -> Measured:
    """The clip through a VIDEO pipeline (blur chain, framing as given), each `every`th frame sent judged."""
    offsets, heads, shifts, zooms, sizes = [], [], [], [], set()
    previous = None
    with Pipeline((BLUR,), SegmentationSettings(), framing=framing) as pipeline:
        for index, image in enumerate(clip):
            out, _ = pipeline.process(Frame(image, 1 + index * STEP_MS))
            sizes.add(out.shape)
            zooms.append(pipeline.framing.zoom)
            grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float32)
            shifts.append(0.0 if previous is None else float(np.hypot(*cv2.phaseCorrelate(previous, grey)[0])))
            previous = grey
            offset, head = upper_body(judge, out) if index % every == 0 else (np.nan, np.nan)
            offsets.append(offset)
            heads.append(head)
    return Measured(np.array(offsets), np.array(heads), np.array(shifts), np.array(zooms), sizes, out)


def input_shift(clip: list[np.ndarray]) -> np.ndarray:
    """The input's own frame-to-frame shift (px), measured as the output's is."""
    greys = [cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32) for image in clip]
    return np.array([0.0] + [float(np.hypot(*cv2.phaseCorrelate(a, b)[0])) for a, b in zip(greys, greys[1:])])


def upper_body(judge: Segmenter, image: np.ndarray) -> tuple[float, float]:
    """(centre offset, head top) of the person in a (H, W, 3) picture, by the judge; (nan, nan) with nobody."""
    height, width = image.shape[:2]
    mask = cv2.resize(judge.segment(image).masks["person"], (width, height)) > 0.5
    rows = np.flatnonzero(mask.sum(axis=1) >= 3)
    if rows.size == 0:
        return np.nan, np.nan
    band = mask[rows[0] : rows[0] + height // 4]
    return float(np.nonzero(band)[1].mean() / width - 0.5), float(rows[0] / height)


def people(judge: Segmenter, image: np.ndarray, least: float = 0.02, top: float = 0.5) -> list[tuple[int, int]]:
    """(x0, x1) of each person the judge finds in a (H, W, 3) picture: mask blobs over `least` of the frame in its
    top `top` of the height. Heads and shoulders, not the whole mask: lower down, the bodies of people sitting
    side by side (arms, a coat's hem) touch, and one blob would count two people as one; the top part is also
    the part framing keeps whole (the upper body, bgfx.vision.framing.UPPER_BODY), so a cut shows there."""
    height, width = image.shape[:2]
    mask = (cv2.resize(judge.segment(image).masks["person"], (width, height)) > 0.5).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(mask[: round(height * top)]))
    blobs = [stats[i] for i in range(1, count) if stats[i][cv2.CC_STAT_AREA] >= least * width * height]
    return sorted((int(s[cv2.CC_STAT_LEFT]), int(s[cv2.CC_STAT_LEFT] + s[cv2.CC_STAT_WIDTH])) for s in blobs)


def judge_segmenter(shared: Path) -> Segmenter:
    entry = load_catalog().get("selfie_square")
    return Segmenter(LocatedModel(name="selfie_square", path=shared / "models" / entry.file, entry=entry), SegmenterOptions())


@dataclass(frozen=True, slots=True)
class Cost:
    """CPU ms per 720p frame (medians): the framing stage alone while following and once settled, and the
    whole render (framing + chain) against the same chain on the same frames and masks without framing."""

    following: float
    settled: float
    framed: float
    unframed: float
    frames: tuple[int, int]  # (following, settled) frames timed


Refinements = tuple[dict[str, np.ndarray], dict[str, Refined | None]]  # one frame's masks, and what they came from


def refined_masks(clip: list[np.ndarray]) -> tuple[list[Frame], list[Refinements]]:
    """The clip's frames and their refined masks (with the refinements the framing stage scales them from), made
    once by the real segmenter, whose pipeline is then closed so no MediaPipe thread adds to the process CPU
    time measured afterwards."""
    with Pipeline((BLUR,), SegmentationSettings()) as pipeline:
        frames = [Frame(image, 1 + index * STEP_MS) for index, image in enumerate(clip)]
        return frames, [(pipeline.masks(frame, pipeline.segment(frame)), last_refined(pipeline)) for frame in frames]


def timed_render(stage: FramingStage, chain: Chain, frame: Frame, masks: Refinements) -> tuple[float, float]:
    """(whole render, framing stage alone) CPU ms of one frame rendered as Pipeline.render does."""
    clock = StageClock()
    start = time.process_time()
    stage.run(chain, frame, masks[0], clock, sources=masks[1])
    return 1000 * (time.process_time() - start), clock.cpu.get("framing", 0.0)


def median_ms(values: list[float]) -> float:
    """The median of CPU ms figures; nan when none were timed (a clip that never settles)."""
    return float(np.median(values)) if values else float("nan")


def cost(clip: list[np.ndarray], passes: int = 4) -> Cost:
    """The clip `passes` times, each from a fresh framing (so it follows, then settles), every frame rendered
    framed (follow) and unframed (mode off, own chain) in turn, the order swapped each frame."""
    frames, masks = refined_masks(clip)
    following, settled, framed, unframed = [], [], [], []
    for _ in range(passes):
        on, off = FramingStage(FOLLOW), FramingStage(FramingSettings())
        with closing(Chain((BLUR,))) as on_chain, closing(Chain((BLUR,))) as off_chain:
            for index, (frame, mask) in enumerate(zip(frames, masks)):
                first_on = index % 2 == 0
                if not first_on:
                    unframed.append(timed_render(off, off_chain, frame, mask)[0])
                total, alone = timed_render(on, on_chain, frame, mask)
                if first_on:
                    unframed.append(timed_render(off, off_chain, frame, mask)[0])
                framed.append(total)
                (following if on.following else settled).append(alone)
    return Cost(median_ms(following), median_ms(settled), median_ms(framed), median_ms(unframed),
                (len(following), len(settled)))


def print_cost(clips: dict[str, list[np.ndarray]]) -> None:
    """The cost table (#19: at most 1 CPU ms per 720p frame beyond the chain it frames)."""
    print(f"{'clip':11} {'stage following':>15} {'stage settled':>13} {'framed':>7} {'unframed':>8} {'difference':>10}"
          "   (CPU ms per 720p frame, medians; blur chain)")
    for name in ("off_centre", "desk"):
        figures = cost(clips[name])
        print(f"{name:11} {figures.following:15.2f} {figures.settled:13.2f} {figures.framed:7.2f} {figures.unframed:8.2f} "
              f"{figures.framed - figures.unframed:+10.2f}   ({figures.frames[0]} following, {figures.frames[1]} settled frames)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--cost", action="store_true", help="only the CPU cost table, not the judged clips")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clips = {"off_centre": off_centre(args.shared, 180), "desk": desk_720p(args.shared, 180),
             "across": across(args.shared, 240, 120), "still": still(args.shared, 150)}
    print_cost(clips)
    if args.cost:
        return
    print(f"{'clip':11} {'frames':>6} {'centre ±8%':>10} {'head 3-25%':>10} {'input |c|':>9} {'shift px':>8} {'input px':>8} {'zoom max':>8}")
    with judge_segmenter(args.shared) as judge:
        for name, clip in clips.items():
            start = SETTLED_AFTER + (120 if name == "across" else 0)
            measured, base = run(clip, FOLLOW, judge, every=3), run(clip[start::3], FramingSettings(), judge)
            offset, head = measured.offset[start:], measured.head[start:]
            judged = ~np.isnan(offset)
            centred = np.mean(np.abs(offset[judged]) <= 0.08)
            headroom = np.mean((head[judged] >= 0.03) & (head[judged] <= 0.25))
            print(f"{name:11} {judged.sum():6d} {centred:10.0%} {headroom:10.0%} {np.nanmean(np.abs(base.offset)):9.1%} "
                  f"{measured.shift[start + 1:].mean():8.2f} {input_shift(clip)[start + 1:].mean():8.2f} {measured.zoom.max():8.2f}")


if __name__ == "__main__":
    main()
