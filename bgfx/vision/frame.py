"""The data that travels between stages: a captured `Frame` and a `Segmentation` of it.

Both are frozen and validate their shapes on construction, so a stage that
receives one never has to check again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels, end-exclusive


@dataclass(frozen=True, slots=True)
class Frame:
    """One camera image.

    image: (H, W, 3) uint8, BGR channel order (OpenCV's), made read-only here.
    timestamp_ms: monotonic milliseconds, strictly increasing along a stream
        (MediaPipe's VIDEO and LIVE_STREAM modes reject repeats).
    """

    image: np.ndarray
    timestamp_ms: int

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
            shape = getattr(image, "shape", type(image).__name__)
            raise ValueError(f"Frame.image: expected shape (H, W, 3), got {shape}")
        if image.dtype != np.uint8:
            raise ValueError(f"Frame.image: expected dtype uint8, got {image.dtype}")
        if image.shape[0] < 1 or image.shape[1] < 1:
            raise ValueError(f"Frame.image: expected a non-empty image, got shape {image.shape}")
        image.flags.writeable = False

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, in OpenCV's order."""
        return self.image.shape[1], self.image.shape[0]


@dataclass(frozen=True, slots=True)
class Segmentation:
    """The masks a model found in one frame.

    masks: label -> (h, w) float32 confidence in 0..1, all of one size: the size
        the model was fed (model size in the live path, the input size in the
        still-image CLI); refinement brings them to frame size.
    category: (h, w) uint8 label index per pixel (255 = no label, as MediaPipe
        gives it), or None when the category mask was not asked for.
    labels: the model's labels in index order (category values index this).
    timestamp_ms: of the frame the masks were computed from.
    box: (x0, y0, x1, y1) frame pixels of the crop the model was given (the hair model's head crop),
        the masks covering just that region; None when the model saw the whole frame.
    """

    masks: Mapping[str, np.ndarray]
    timestamp_ms: int
    labels: tuple[str, ...] = ()
    category: np.ndarray | None = None
    box: Box | None = None
    _shape: tuple[int, int] = field(init=False, repr=False, default=(0, 0))

    def __post_init__(self) -> None:
        shape: tuple[int, int] | None = None
        for label, mask in self.masks.items():
            if mask.ndim != 2 or mask.dtype != np.float32:
                raise ValueError(
                    f"Segmentation.masks[{label!r}]: expected (h, w) float32, got {mask.shape} {mask.dtype}"
                )
            if shape is not None and mask.shape != shape:
                raise ValueError(
                    f"Segmentation.masks[{label!r}]: expected shape {shape} like the others, got {mask.shape}"
                )
            shape = mask.shape
        if self.category is not None:
            if self.category.ndim != 2 or self.category.dtype != np.uint8:
                raise ValueError(
                    f"Segmentation.category: expected (h, w) uint8, got {self.category.shape} {self.category.dtype}"
                )
            if shape is not None and self.category.shape != shape:
                raise ValueError(
                    f"Segmentation.category: expected shape {shape} like the masks, got {self.category.shape}"
                )
            shape = self.category.shape
        if self.box is not None and not (0 <= self.box[0] < self.box[2] and 0 <= self.box[1] < self.box[3]):
            raise ValueError(f"Segmentation.box: expected (x0, y0, x1, y1) with 0 <= x0 < x1 and 0 <= y0 < y1, got {self.box}")
        object.__setattr__(self, "masks", MappingProxyType(dict(self.masks)))
        object.__setattr__(self, "_shape", shape or (0, 0))

    @property
    def shape(self) -> tuple[int, int]:
        """(h, w) of the masks."""
        return self._shape
