"""The effect chain: one `Effect` protocol, one registry keyed by YAML name, and `Chain`.

An effect is a frozen dataclass of its parameters (the constructor is the
schema the config module validates against; field metadata `range` gives a
numeric range, `parse` a converter for the raw YAML value). Preparation that
costs (loading and resizing a background) happens once, never per frame.
`apply` gets the frame (H, W, 3) uint8 BGR and masks by name, each (H, W)
uint8 alpha 0..255 at frame size, and returns a new (H, W, 3) uint8 image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Mapping, Protocol

import cv2
import numpy as np

from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.effects.replace import Replace
from bgfx.vision.effects.simple import Desaturate, Mirror

Masks = Mapping[str, np.ndarray]


class Effect(Protocol):
    needs: ClassVar[frozenset[str]]

    def apply(self, image: np.ndarray, masks: Masks, timestamp_ms: int) -> np.ndarray: ...


EFFECTS: dict[str, type] = {
    "blur": Blur,
    "replace": Replace,
    "hair_tint": HairTint,
    "desaturate": Desaturate,
    "mirror": Mirror,
}


@dataclass(frozen=True, slots=True)
class ChainItem:
    """One configured effect: its name (unique in the chain, for toggling) and start state."""

    name: str
    enabled: bool
    effect: Effect


class Chain:
    """An ordered list of effects, each enabled or not at runtime (hotkeys toggle them)."""

    def __init__(self, items: tuple[ChainItem, ...]) -> None:
        self.items = items
        self.enabled = {item.name: item.enabled for item in items}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.items)

    @property
    def needs(self) -> frozenset[str]:
        """The union of the masks the enabled effects need."""
        return frozenset().union(*(item.effect.needs for item in self.items if self.enabled[item.name]))

    def toggle(self, name: str) -> bool:
        """Flip one effect; returns its new state. Unknown names raise KeyError listing the valid ones."""
        if name not in self.enabled:
            raise KeyError(f"no effect named {name!r} in the chain; effects: {', '.join(self.names) or 'none'}")
        self.enabled[name] = not self.enabled[name]
        return self.enabled[name]

    def apply(
        self, image: np.ndarray, masks: Masks, timestamp_ms: int, timings: dict[str, tuple[float, float]] | None = None
    ) -> np.ndarray:
        """Run the enabled effects in order; `timings` (if given) gets (wall ms, CPU ms) per effect name."""
        for item in self.items:
            if not self.enabled[item.name]:
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            image = item.effect.apply(image, masks, timestamp_ms)
            if getattr(item.effect, "mirrors", False):
                masks = {name: cv2.flip(mask, 1) for name, mask in masks.items()}
            if timings is not None:
                timings[item.name] = ((time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0)
        return image
