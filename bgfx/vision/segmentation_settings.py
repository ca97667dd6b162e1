"""The person and hair models' settings, apart from the pipeline that runs them.

Loading a config reads this schema; it must not import MediaPipe (`bgfx.vision.segmentation`), so `bgfx ctl`
and config checks start without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class SegmentationSettings:
    """model: catalog name or .tflite path for the person mask; models: the cycle for next/previous-model;
    hair_model: the model that gives `hair`; hair_every: run it every Nth frame (~25 CPU ms a run);
    still_every: while the picture is still, the models run only every Nth frame (`bgfx.vision.motion`);
    motion_threshold: the mean grey change (0..255, of a 64x36 copy) above which the picture counts as moving;
    rotation: degrees the camera is turned (MediaPipe undoes it); locale: for label display names."""

    model: str = "selfie_landscape"
    models: tuple[str, ...] = ("selfie_landscape", "selfie_square", "deeplab_v3")
    hair_model: str = "hair"
    hair_every: int = field(default=4, metadata={"range": (1, 30)})
    still_every: int = field(default=6, metadata={"range": (1, 8)})
    motion_threshold: float = field(default=1.0, metadata={"range": (0.0, 255.0)})
    rotation: Literal[0, 90, 180, 270] = 0
    locale: str = "en"
