"""File work without a camera: `bgfx segment` (still images, IMAGE mode) and `bgfx process` (videos, VIDEO mode)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from bgfx.errors import CaptureError, InputError
from bgfx.live.settings import Config
from bgfx.live.sinks.file import FileSink
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


def read_image(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 BGR; InputError naming the file when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if image is None:
        reason = "no such file" if not path.exists() else "not a readable image (PNG, JPEG, ...)"
        raise InputError(f"{path}: {reason}")
    return image


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
    images = [(path, read_image(path)) for path in request.images]
    request.out_dir.mkdir(parents=True, exist_ok=True)
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
                if not cv2.imwrite(str(target), array):
                    raise InputError(f"{target}: cannot write here; check the output folder")
                written.append(target)
    return written


def process_video(
    input_path: Path, output_path: Path, config: Config, *, alpha_out: Path | None = None, progress: bool = True
) -> int:
    """Segment every frame (VIDEO mode), apply the chain, write the output; returns frames written."""
    try:
        source = VideoFile(input_path)
    except CaptureError as e:
        raise InputError(str(e)) from None
    with Pipeline(config.effects, config.segmentation, config.refine, mode=RunningMode.VIDEO) as pipeline:
        sink = FileSink(output_path, source.size, source.fps)
        alpha_sink = FileSink(alpha_out, source.size, source.fps, grey=True) if alpha_out else None
        frames = 0
        try:
            with tqdm(total=source.frame_count or None, unit="frame", disable=not progress, desc=input_path.name) as bar:
                while (frame := source.read()) is not None:
                    image, masks = pipeline.process(frame)
                    sink.send(image)
                    if alpha_sink is not None:
                        alpha_sink.send(masks.get(PERSON, np.zeros(frame.image.shape[:2], np.uint8)))
                    frames += 1
                    bar.update(1)
        finally:
            sink.close()
            if alpha_sink is not None:
                alpha_sink.close()
            source.close()
    if frames == 0:
        raise InputError(f"{input_path}: no frames could be decoded")
    return frames
