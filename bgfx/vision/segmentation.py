"""The one module that imports MediaPipe: `Segmenter` in IMAGE, VIDEO and LIVE_STREAM modes.

MediaPipe's internals change between releases, so everything else in bgfx
sees only numpy masks named by label. Every model that can find people yields
a `person` mask: the single-label selfie models call it `selfie`, DeepLab-v3
has a `person` class, and the multiclass selfie model's person is everything
but `background`.

In LIVE_STREAM mode `submit` returns at once; MediaPipe's thread calls back
with the result, which is copied out of MediaPipe's buffers (freed after the
callback returns) into a slot that keeps only the newest. MediaPipe drops
frames while busy, which is what a live camera wants.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.metadata import schema_py_generated as tflite_schema
from mediapipe.tasks.python import BaseOptions, vision

from bgfx.errors import ModelError
from bgfx.vision.frame import Box, Frame, Segmentation
from bgfx.vision.models import CatalogEntry, LocatedModel
from bgfx.vision.resize import shrink
from bgfx.vision.native_log import NativeStderrToLog

log = logging.getLogger(__name__)

PERSON = "person"
_SELFIE_LABEL = "selfie"


class RunningMode(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"
    LIVE_STREAM = "live_stream"


_UNDO_ROTATION = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}

_MP_MODES = {
    RunningMode.IMAGE: vision.RunningMode.IMAGE,
    RunningMode.VIDEO: vision.RunningMode.VIDEO,
    RunningMode.LIVE_STREAM: vision.RunningMode.LIVE_STREAM,
}


@dataclass(frozen=True, slots=True)
class SegmenterOptions:
    """What to ask of MediaPipe; the defaults are MediaPipe's own.

    rotation_degrees: how far (clockwise, multiple of 90) MediaPipe turns the image so the
        person stands upright for the model; masks still come back aligned with the image given.
    wanted: labels (model labels or `person`) to copy out; None copies all.
    at_model_size: feed the model a frame scaled (aspect kept) just to cover its
        input size, and get masks back at that size (the live path: cheap, and
        refinement upsamples them); False feeds the full image and gets masks at
        its size (the still-image CLI).
    """

    running_mode: RunningMode = RunningMode.IMAGE
    output_confidence_masks: bool = True
    output_category_mask: bool = False
    display_names_locale: str = "en"
    rotation_degrees: int = 0
    wanted: frozenset[str] | None = None
    at_model_size: bool = True


@dataclass(frozen=True, slots=True)
class ModelInfo:
    input_hw: tuple[int, int]
    labels: tuple[str, ...]


def provided_masks(labels: tuple[str, ...]) -> frozenset[str]:
    """Mask names a model with these labels yields (its labels, plus `person` where derivable)."""
    names = {PERSON if label == _SELFIE_LABEL else label for label in labels}
    if len(labels) > 2 and "background" in names:
        names.add(PERSON)
    return frozenset(names)


def input_hw_of(path: Path) -> tuple[int, int]:
    """(height, width) of a .tflite model's first input tensor, read from the flatbuffer."""
    buffer = path.read_bytes()
    try:
        model = tflite_schema.Model.GetRootAsModel(buffer, 0)
        graph = model.Subgraphs(0)
        shape = graph.Tensors(graph.Inputs(0)).ShapeAsNumpy()
        return int(shape[1]), int(shape[2])
    except Exception as e:  # a truncated flatbuffer raises anything from struct errors to IndexError
        raise ModelError(f"{path}: not a readable TFLite model ({type(e).__name__}); re-download it") from None


def inspect_model(path: Path) -> ModelInfo:
    """Load the file as an ImageSegmenter; raise ModelError if it is not one."""
    input_hw = input_hw_of(path)
    options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(path)))
    try:
        with NativeStderrToLog(), vision.ImageSegmenter.create_from_options(options) as segmenter:
            labels = tuple(segmenter.labels)
    except Exception as e:  # MediaPipe raises ValueError, RuntimeError, FileNotFoundError (no metadata), ...
        raise ModelError(f"{path}: not a usable MediaPipe segmenter: {e}; re-download or replace it") from None
    if not labels:
        raise ModelError(f"{path}: the model has no label metadata, so its masks cannot be named")
    return ModelInfo(input_hw=input_hw, labels=labels)


def verify_model(path: Path, entry: CatalogEntry | None) -> None:
    """The `Verify` hook of bgfx.vision.models: the file loads and has the catalog's input size."""
    info = inspect_model(path)
    if entry is not None and info.input_hw != entry.input_hw:
        raise ModelError(
            f"{path}: input size {info.input_hw[0]}x{info.input_hw[1]} differs from the "
            f"{entry.input_hw[0]}x{entry.input_hw[1]} expected of {entry.name!r}"
        )


def _crop(image: np.ndarray, box: Box | None) -> np.ndarray:
    return image if box is None else image[box[1] : box[3], box[0] : box[2]]


def cover_size(frame_wh: tuple[int, int], input_hw: tuple[int, int]) -> tuple[int, int]:
    """The smallest (w, h) with the frame's aspect that covers the model input in both axes."""
    w, h = frame_wh
    scale = max(input_hw[1] / w, input_hw[0] / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


class Segmenter:
    """One MediaPipe ImageSegmenter in one running mode. Use as a context manager.

    Results are `Segmentation`s of float32 (h, w) confidences named by label.
    """

    def __init__(self, model: LocatedModel, options: SegmenterOptions = SegmenterOptions()) -> None:
        self.name = model.name
        self.options = options
        self.input_hw = input_hw_of(model.path)
        self._slot_lock = threading.Lock()
        self._latest: Segmentation | None = None
        self._submitted: collections.deque[tuple[int, float, Box | None]] = collections.deque(maxlen=64)
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=300)
        self.submitted = 0
        self.delivered = 0
        self._last_ts = -1
        mp_options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(model.path)),
            running_mode=_MP_MODES[options.running_mode],
            output_confidence_masks=options.output_confidence_masks,
            output_category_mask=options.output_category_mask,
            display_names_locale=options.display_names_locale,
            result_callback=self._on_result if options.running_mode is RunningMode.LIVE_STREAM else None,
        )
        try:
            with NativeStderrToLog():
                self._segmenter = vision.ImageSegmenter.create_from_options(mp_options)
        except Exception as e:  # MediaPipe raises ValueError, RuntimeError, FileNotFoundError (no metadata), ...
            if "cannot open shared object file" in str(e):  # its C library links EGL and GLES: not the model's fault
                raise ModelError(f"MediaPipe cannot load: {e}; a desktop has these libraries, elsewhere install "
                                 "them: sudo apt install libegl1 libgles2") from None  # fmt: skip
            raise ModelError(f"{model.path}: cannot load as a MediaPipe segmenter: {e}") from None
        self.labels: tuple[str, ...] = tuple(self._segmenter.labels)
        self.provides = provided_masks(self.labels)
        if options.wanted is not None:
            try:
                self.require(options.wanted)
            except ModelError:
                # Never leave a MediaPipe segmenter to the garbage collector: its __del__ may run on
                # MediaPipe's own dispatcher thread, and close() there waits on itself forever.
                self._segmenter.close()
                raise
        self._processing = (
            vision.ImageProcessingOptions(rotation_degrees=options.rotation_degrees)
            if options.rotation_degrees
            else None
        )

    def require(self, wanted: frozenset[str]) -> None:
        """Raise ModelError naming what is missing when the model cannot give `wanted`."""
        missing = sorted(set(wanted) - self.provides)
        if missing:
            hint = " (choose selfie_landscape, selfie_square, selfie_multiclass or deeplab_v3)" if PERSON in missing else ""
            hint += " (choose hair or selfie_multiclass)" if "hair" in missing else ""
            raise ModelError(
                f"model {self.name!r} gives masks {', '.join(sorted(self.provides))}; "
                f"it cannot give {', '.join(missing)}{hint}"
            )

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._segmenter.close()

    def _mp_image(self, image: np.ndarray, rgb: bool) -> mp.Image:
        if self.options.at_model_size:
            size = cover_size((image.shape[1], image.shape[0]), self.input_hw)
            if size != (image.shape[1], image.shape[0]):
                image = shrink(image, size) if size[0] < image.shape[1] else cv2.resize(image, size)
        if image.ndim == 3 and image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2RGB if rgb else cv2.COLOR_BGRA2RGB)
        elif not rgb:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))

    def _own(self, view: np.ndarray, interpolation: int) -> np.ndarray:
        """A (h, w) copy of a MediaPipe mask, in the orientation of the image that was given.

        With a rotation, MediaPipe returns the upright mask squeezed into the
        input's shape: stretch it back to upright proportions, then turn it back.
        """
        mask = np.array(view.reshape(view.shape[0], view.shape[1]))
        rotation = self.options.rotation_degrees % 360
        if rotation in (90, 270):
            mask = cv2.resize(mask, (mask.shape[0], mask.shape[1]), interpolation=interpolation)
        if rotation:
            mask = cv2.rotate(mask, _UNDO_ROTATION[rotation])
        return mask

    def _convert(self, result: vision.ImageSegmenterResult, timestamp_ms: int, box: Box | None = None) -> Segmentation:
        """Copy MediaPipe's masks into numpy arrays we own, naming them by label."""
        wanted = self.options.wanted
        masks: dict[str, np.ndarray] = {}
        confidences = result.confidence_masks or []
        for label, mask in zip(self.labels, confidences, strict=False):  # none when not asked for
            key = PERSON if label == _SELFIE_LABEL else label
            if wanted is None or key in wanted or (key == "background" and PERSON in wanted):
                masks[key] = self._own(mask.numpy_view(), cv2.INTER_LINEAR).astype(np.float32, copy=False)
        if PERSON not in masks and PERSON in self.provides and "background" in masks:
            masks[PERSON] = 1.0 - masks["background"]
        if wanted is not None:
            masks = {k: v for k, v in masks.items() if k in wanted}
        category = None
        if result.category_mask is not None:
            category = self._own(result.category_mask.numpy_view(), cv2.INTER_NEAREST).astype(np.uint8, copy=False)
        return Segmentation(masks=masks, timestamp_ms=timestamp_ms, labels=self.labels, category=category, box=box)

    def segment(self, image: np.ndarray, *, rgb: bool = False, box: Box | None = None) -> Segmentation:
        """IMAGE mode: segment one (H, W, 3|4) uint8 image, BGR unless rgb; only `box` of it when given."""
        result = self._segmenter.segment(self._mp_image(_crop(image, box), rgb), image_processing_options=self._processing)
        return self._convert(result, 0, box)

    def segment_for_video(
        self, image: np.ndarray, timestamp_ms: int, *, rgb: bool = False, box: Box | None = None
    ) -> Segmentation:
        """VIDEO mode: timestamps must increase strictly, as MediaPipe's graph requires."""
        if timestamp_ms <= self._last_ts:
            raise ValueError(
                f"segment_for_video: timestamp {timestamp_ms} ms is not after the previous "
                f"{self._last_ts} ms; VIDEO mode needs strictly increasing timestamps"
            )
        self._last_ts = timestamp_ms
        result = self._segmenter.segment_for_video(
            self._mp_image(_crop(image, box), rgb), timestamp_ms, image_processing_options=self._processing
        )
        return self._convert(result, timestamp_ms, box)

    def submit(self, frame: Frame, box: Box | None = None) -> None:
        """LIVE_STREAM mode: hand the frame (only `box` of it when given) to MediaPipe and return at once."""
        timestamp_ms = max(self._last_ts + 1, frame.timestamp_ms)
        self._last_ts = timestamp_ms
        self.submitted += 1
        self._submitted.append((timestamp_ms, time.monotonic(), box))
        self._segmenter.segment_async(
            self._mp_image(_crop(frame.image, box), False), timestamp_ms, image_processing_options=self._processing
        )

    def _on_result(self, result: vision.ImageSegmenterResult, _image: mp.Image, timestamp_ms: int) -> None:
        """MediaPipe's thread: copy the result into the latest-only slot. Never raises."""
        try:
            sent, box = next(((t, box) for ts, t, box in reversed(self._submitted) if ts == timestamp_ms), (None, None))
            segmentation = self._convert(result, timestamp_ms, box)
            latency = (time.monotonic() - sent) * 1000.0 if sent is not None else 0.0
            with self._slot_lock:
                self._latest = segmentation
                self.latencies_ms.append(latency)
                self.delivered += 1
        except Exception:
            log.exception("segmentation result for %d ms could not be copied; dropped", timestamp_ms)

    def latest(self) -> Segmentation | None:
        """The newest LIVE_STREAM result (its submit-to-callback latency is in `latencies_ms`)."""
        with self._slot_lock:
            return self._latest
