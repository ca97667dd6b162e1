"""File work without a camera: `bgfx segment` (still images, IMAGE mode) and `bgfx process` (photos in IMAGE
mode, videos in VIDEO mode); every output is written safely (`bgfx.output_files`)."""

from __future__ import annotations

import logging
import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from bgfx.errors import CaptureError, InputError
from bgfx.live.settings import Config
from bgfx.live.signals import SignalFlags
from bgfx.live.sinks.file import VIDEO_FOURCC, FileSink
from bgfx.output_files import (
    IMAGE_SUFFIXES,
    Interrupted,
    OutputFile,
    check_video,
    is_image,
    read_photo,
    refuse_overlaps,
    write_image,
)
from bgfx.vision.frame import Frame
from bgfx.vision.imaging import check_size
from bgfx.vision.models import load_catalog, locate
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.refine import Refiner
from bgfx.vision.segmentation import (
    PERSON,
    RunningMode,
    Segmenter,
    SegmenterOptions,
    verify_model,
)
from bgfx.vision.video import VideoFile

log = logging.getLogger(__name__)

_PALETTE = np.array(
    [(0, 0, 0), (60, 180, 255), (255, 120, 40), (80, 220, 80), (220, 80, 220), (40, 40, 230), (230, 230, 60)],
    np.uint8,
)


@dataclass(frozen=True, slots=True)
class SegmentRequest:
    images: tuple[Path, ...]
    out_dir: Path
    model: str
    category_mask: bool = False
    confidence_masks: bool = True
    overlay: bool = False
    refine: Config | None = None
    locale: str = "en"
    rotation: int = 0


def _filename(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", label)


def overlay(image: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    """The image with each non-background label's most confident pixels tinted in its own colour."""
    names = [name for name in masks if name != "background"]
    if not names:
        return image.copy()
    stack = np.stack([masks[n] for n in names])
    winner = np.argmax(stack, axis=0)
    strength = np.max(stack, axis=0)
    colours = _PALETTE[1:][np.arange(len(names)) % (len(_PALETTE) - 1)]
    tint = colours[winner]
    weight = np.clip(strength * 0.6, 0, 0.6)[..., None]
    return (image * (1 - weight) + tint * weight).astype(np.uint8)


def segment_images(request: SegmentRequest) -> list[Path]:
    """Write category / confidence / overlay PNGs for each image; returns the files written."""
    images = [(path, read_photo(path)) for path in request.images]
    try:
        request.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{request.out_dir}: cannot be the output folder ({e.strerror}); choose another --out") from None
    located = locate(request.model, load_catalog(), verify=verify_model)
    options = SegmenterOptions(
        running_mode=RunningMode.IMAGE,
        output_category_mask=request.category_mask,
        output_confidence_masks=request.confidence_masks or request.overlay or request.refine is not None,
        display_names_locale=request.locale,
        rotation_degrees=request.rotation,
        at_model_size=request.refine is not None,
    )
    written: list[Path] = []
    with Segmenter(located, options) as segmenter:
        if request.refine is not None:
            segmenter.require(frozenset({PERSON}))
        for path, image in images:
            result = segmenter.segment(image)
            height, width = image.shape[:2]
            masks = {name: cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR) for name, m in result.masks.items()}
            outputs: dict[str, np.ndarray] = {}
            if request.category_mask and result.category is not None:
                outputs["category"] = cv2.resize(result.category, (width, height), interpolation=cv2.INTER_NEAREST)
            if request.confidence_masks:
                for name, mask in masks.items():
                    outputs[_filename(name)] = cv2.convertScaleAbs(mask, alpha=255.0)
            if request.refine is not None:
                refiner = Refiner(request.refine.refine)
                outputs[PERSON] = refiner(result.masks[PERSON], image)
            if request.overlay:
                outputs["overlay"] = overlay(image, masks)
            for suffix, array in outputs.items():
                target = request.out_dir / f"{path.stem}.{suffix}.png"
                refuse_overlaps(list(request.images), [*written, target])
                write_image(target, array)
                written.append(target)
    return written


def process_video(
    input_path: Path, output_path: Path, config: Config, *, alpha_out: Path | None = None, progress: bool = True,
    signals: SignalFlags | None = None,
) -> int:
    """Segment every frame (VIDEO mode), apply the chain, write the output (and the alpha); returns frames.

    Nothing is written under the output's name unless every frame was decoded, processed and written;
    an input that ends early, a full disk or a SIGINT/SIGTERM leave the targets as they were.
    """
    refuse_overlaps([input_path], [output_path, *([alpha_out] if alpha_out else [])])
    for target in (output_path, alpha_out):
        if target is not None and target.suffix.lower() not in VIDEO_FOURCC:
            raise InputError(f"{target}: a video is written as {', '.join(VIDEO_FOURCC)}; change the extension")
    try:
        source = VideoFile(input_path)
    except CaptureError as e:
        raise InputError(str(e)) from None
    try:
        check_size(*source.size, input_path)
        with ExitStack() as stack:
            pipeline = stack.enter_context(Pipeline(config.effects, config.segmentation, config.refine, mode=RunningMode.VIDEO,
                                                    framing=config.framing))
            outputs = [FileSink(stack.enter_context(OutputFile(output_path)), source.size, source.fps)]
            if alpha_out is not None:
                outputs.append(FileSink(stack.enter_context(OutputFile(alpha_out)), source.size, source.fps, grey=True))
            frames = _run_frames(source, pipeline, outputs, progress, signals, output_path)
            _check_complete(input_path, source.frame_count, frames)
            for sink, target in zip(outputs, (output_path, alpha_out)):
                sink.close()
                check_video(sink.path, frames, target)
    finally:
        source.close()
    return frames


def _run_frames(source: VideoFile, pipeline: Pipeline, outputs: list[FileSink], progress: bool,
                signals: SignalFlags | None, target: Path) -> int:
    """Frames through the pipeline into the sinks (closed if anything stops it); SIGINT/SIGTERM: Interrupted."""
    frames = 0
    try:
        with tqdm(total=source.frame_count or None, unit="frame", disable=not progress, desc=source.path.name) as bar:
            while (frame := source.read()) is not None:
                if signals is not None and signals.stop:
                    stopped = Interrupted(f"interrupted after {frames} frames: nothing was written to {target}")
                    stopped.exit_code = 128 + signals.stop_signal
                    raise stopped
                image, masks = pipeline.process(frame)
                outputs[0].send(image)
                if len(outputs) > 1:
                    outputs[1].send(masks.get(PERSON, np.zeros(frame.image.shape[:2], np.uint8)))
                frames += 1
                bar.update(1)
    except BaseException:
        for sink in outputs:
            sink.close()
        raise
    return frames


def _check_complete(input_path: Path, expected: int, decoded: int) -> None:
    """A video whose header promises more frames than decode is truncated or corrupt: say so, write nothing."""
    if decoded == 0:
        raise InputError(f"{input_path}: no frames could be decoded")
    if expected > 0 and decoded < expected - max(2, expected // 100):
        raise InputError(f"{input_path}: decoded {decoded} of {expected} frames: the video ends early "
                         "(truncated or corrupt); nothing was written")


def process_photos(pairs: list[tuple[Path, Path]], config: Config, *, alpha_out: Path | None = None) -> int:
    """Each (photo, output) in IMAGE mode, as a new picture (no smoothing carried over); returns photos written.

    Every output is checked against every input and other output before the first is read.
    """
    refuse_overlaps([source for source, _ in pairs], [target for _, target in pairs] + ([alpha_out] if alpha_out else []))
    for _, target in [*pairs, *([(None, alpha_out)] if alpha_out else [])]:
        if not is_image(target):
            raise InputError(f"{target}: a photo's output is a picture: {', '.join(IMAGE_SUFFIXES)}; change the extension")
    with Pipeline(config.effects, config.segmentation, config.refine, mode=RunningMode.IMAGE, framing=config.framing) as pipeline:
        for source, target in pairs:
            image = read_photo(source)
            pipeline.forget()
            output, masks = pipeline.process(Frame(image, 0))
            write_image(target, output)
            if alpha_out is not None:
                write_image(alpha_out, masks.get(PERSON, np.zeros(image.shape[:2], np.uint8)))
    return len(pairs)
