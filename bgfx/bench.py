"""Benchmarks that print figures: `bgfx bench` (the live path per stage) and `bgfx models bench`.

Speed is reported, never asserted. CPU is process CPU time (all threads,
MediaPipe's included) per frame: a live daemon pays in CPU, not wall time.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import cv2
import numpy as np

from bgfx.errors import CaptureError, InputError
from bgfx.live.settings import Config
from bgfx.vision.frame import Frame
from bgfx.vision.imaging import fit_image
from bgfx.vision.models import Catalog, LocatedModel, find
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.segmentation import RunningMode, Segmenter, SegmenterOptions
from bgfx.vision.timing import StageClock, monotonic_ms, percentiles
from bgfx.vision.video import VideoFile

_WARMUP = 10


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def decode(path: Path, frames: int, size: tuple[int, int] | None) -> tuple[list[np.ndarray], float]:
    """`frames` frames of a video (looping it if shorter), resized to size (w, h) if given; and its fps."""
    try:
        video = VideoFile(path, loop=True)
    except CaptureError as e:
        raise InputError(str(e)) from None
    try:
        images = [video.read_image() for _ in range(frames)]
    finally:
        video.close()
    resized = [cv2.resize(image, size, interpolation=cv2.INTER_AREA) if size else image for image in images]
    return resized, video.fps


def bench_pipeline(
    video: Path, config: Config, *, frames: int = 300, size: tuple[int, int] | None = None, live: bool = False
) -> dict:
    """Run segmentation → refinement → chain on decoded frames as fast as possible; figures per stage."""
    cv2.setNumThreads(config.live.opencv_threads)
    # At most 60 distinct frames are held (decoded outside the timed region) and cycled, so that
    # peak RSS reflects the pipeline rather than a buffer of decoded video.
    images, fps = decode(video, min(frames + _WARMUP, 60), size)
    mode = RunningMode.LIVE_STREAM if live else RunningMode.VIDEO
    walls: list[float] = []
    stage_wall: dict[str, list[float]] = {}
    stage_cpu: dict[str, float] = {}
    with Pipeline(config.effects, config.segmentation, config.refine, mode=mode) as pipeline:
        cpu_start = 0.0
        for index in range(frames + _WARMUP):
            image = images[index % len(images)]
            if index == _WARMUP:
                cpu_start = time.process_time()
            frame = Frame(image, int(index * 1000 / fps) + 1)
            clock = StageClock()
            start = time.perf_counter()
            pipeline.process(frame, clock)
            if index < _WARMUP:
                continue
            walls.append((time.perf_counter() - start) * 1000.0)
            for name, ms in clock.wall.items():
                stage_wall.setdefault(name, []).append(ms)
            for name, ms in clock.cpu.items():
                stage_cpu[name] = stage_cpu.get(name, 0.0) + ms
            for name in stage_wall.keys() - clock.wall.keys():  # an effect skipped this frame
                stage_wall[name].append(0.0)
        cpu_total = (time.process_time() - cpu_start) * 1000.0
        delivered = sum(s.delivered for s in pipeline.segmenters.values()) if live else None
    counted = len(walls)
    stages = {
        name: {
            **dict(zip(("wall_ms_median", "wall_ms_p95"), percentiles(values))),
            "cpu_ms_per_frame": stage_cpu.get(name, 0.0) / counted,
        }
        for name, values in stage_wall.items()
    }
    height, width = images[0].shape[:2]
    report = {
        "input": str(video),
        "size": f"{width}x{height}",
        "mode": mode.value,
        "model": config.segmentation.model,
        "effects": [item.name for item in config.effects if item.enabled],
        "frames": counted,
        **dict(zip(("wall_ms_median", "wall_ms_p95"), percentiles(walls))),
        "cpu_ms_per_frame": cpu_total / counted,
        "peak_rss_mib": peak_rss_mib(),
        "opencv_threads": config.live.opencv_threads,
        "stages": stages,
    }
    if delivered is not None:
        report["segmentations_delivered"] = delivered
    return report


def format_report(report: dict) -> str:
    lines = [
        f"{report['frames']} frames at {report['size']}, {report['mode']} mode, model {report['model']}, "
        f"effects {', '.join(report['effects']) or 'none'}",
        f"{'stage':22} {'wall median':>11} {'wall p95':>9} {'CPU/frame':>10}",
    ]
    for name, figures in report["stages"].items():
        lines.append(
            f"{name:22} {figures['wall_ms_median']:9.2f}ms {figures['wall_ms_p95']:7.2f}ms "
            f"{figures['cpu_ms_per_frame']:8.2f}ms"
        )
    lines.append(
        f"{'whole frame':22} {report['wall_ms_median']:9.2f}ms {report['wall_ms_p95']:7.2f}ms "
        f"{report['cpu_ms_per_frame']:8.2f}ms"
    )
    lines.append(f"peak RSS {report['peak_rss_mib']:.0f} MiB")
    return "\n".join(lines)


def _photo(image_path: Path | None) -> np.ndarray:
    if image_path is not None:
        image = cv2.imread(str(image_path))
        if image is None:
            raise InputError(f"{image_path}: not a readable image")
    else:  # a generated scene: latency hardly depends on content
        rng = np.random.default_rng(0)
        image = cv2.GaussianBlur(rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    return fit_image(image, (1280, 720), "cover", (0, 0, 0))


def _ms(values: list[float]) -> str:
    median, p95 = percentiles(values)
    return f"{median:10.2f}ms {p95:5.2f}ms"


def bench_models(catalog: Catalog, *, image: Path | None, video: Path | None, frames: int = 60) -> str:
    """Per present model: IMAGE mode on a 1280x720 photo (MediaPipe given the full frame), and
    LIVE_STREAM mode at 30 fps on a video (given a model-size frame, as the daemon does):
    median and p95 ms from submit to result."""
    photo = _photo(image)
    clips = decode(video, frames, (1280, 720))[0] if video else [photo] * frames
    rows = [f"{'model':18} {'input':8} {'IMAGE median':>12} {'p95':>7} {'LIVE median':>12} {'p95':>7} {'delivered':>9}"]
    for entry in catalog.entries.values():
        path = find(entry)
        if path is None:
            rows.append(f"{entry.name:18} missing (bgfx models pull {entry.name})")
            continue
        located = LocatedModel(entry.name, path, entry)
        image_ms = []
        with Segmenter(located, SegmenterOptions(at_model_size=False)) as segmenter:
            for index in range(frames + 3):
                start = time.perf_counter()
                segmenter.segment(photo)
                if index >= 3:
                    image_ms.append((time.perf_counter() - start) * 1000.0)
        with Segmenter(located, SegmenterOptions(running_mode=RunningMode.LIVE_STREAM)) as segmenter:
            start = time.monotonic()
            for index, picture in enumerate(clips):
                delay = start + index / 30.0 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                segmenter.submit(Frame(picture, monotonic_ms()))
            time.sleep(0.5)
            live_ms = list(segmenter.latencies_ms)
            delivered = f"{segmenter.delivered}/{segmenter.submitted}"
        rows.append(
            f"{entry.name:18} {entry.input_hw[0]}x{entry.input_hw[1]:<4} {_ms(image_ms)} {_ms(live_ms)} {delivered:>9}"
        )
    return "\n".join(rows)
