"""The effect chain: a registry of effect schemas keyed by YAML name, and `Chain`, which runs their runtimes.

An effect's schema is a frozen dataclass of its parameters (what the config
module validates against; field metadata `range` gives a numeric range, `parse`
a converter of the raw YAML value) with a ClassVar `needs` (mask names) and a
`prepare()` that returns its runtime. The runtime holds what costs to set up or
must be released (buffers, a decoded background, an open video) and has
`apply(image, masks, timestamp_ms)` and `close()`. `apply` gets the frame
(H, W, 3) uint8 BGR and masks by name, each (H, W) uint8 alpha 0..255 at frame
size, and returns a new (H, W, 3) uint8 image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping, Protocol

import cv2
import numpy as np

from bgfx.errors import CommandError
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.denoise import Denoise
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.effects.light import Light
from bgfx.vision.effects.replace import Replace
from bgfx.vision.effects.simple import Desaturate, Mirror
from bgfx.vision.effects.studio_light import StudioLight
from bgfx.vision.timing import StageClock, stage

Masks = Mapping[str, np.ndarray]


class EffectRuntime(Protocol):
    def apply(self, image: np.ndarray, masks: Masks, timestamp_ms: int) -> np.ndarray: ...

    def close(self) -> None: ...


class Effect(Protocol):
    needs: ClassVar[frozenset[str]]

    def prepare(self) -> EffectRuntime: ...


EFFECTS: dict[str, type] = {
    "blur": Blur,
    "replace": Replace,
    "hair_tint": HairTint,
    "desaturate": Desaturate,
    "mirror": Mirror,
    "light": Light,
    "denoise": Denoise,
    "studio_light": StudioLight,
}


@dataclass(frozen=True, slots=True)
class ChainItem:
    """One configured effect: its name (unique in the chain, for toggling), start state and schema."""

    name: str
    enabled: bool
    effect: Effect


def needs_of(items: tuple[ChainItem, ...], enabled: Mapping[str, bool] | None = None) -> frozenset[str]:
    """The masks the enabled effects of `items` need; enabled: name → on (default: each item's start state)."""
    on = enabled if enabled is not None else {item.name: item.enabled for item in items}
    return frozenset().union(*(item.effect.needs for item in items if on[item.name]))


class Chain:
    """An ordered list of prepared effects, each enabled or not at runtime (hotkeys toggle them).

    Owns the runtimes: `close()` releases them (a background video's decoder).
    """

    def __init__(self, items: tuple[ChainItem, ...]) -> None:
        self.items = items
        self.enabled = {item.name: item.enabled for item in items}
        self._runtimes: list[EffectRuntime] = []
        try:
            for item in items:
                self._runtimes.append(item.effect.prepare())
        except BaseException:
            self.close()
            raise

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.items)

    @property
    def needs(self) -> frozenset[str]:
        """The union of the masks the enabled effects need."""
        return needs_of(self.items, self.enabled)

    def toggled(self, name: str) -> dict[str, bool]:
        """The enabled map with one effect flipped (not applied); CommandError listing the names if unknown."""
        if name not in self.enabled:
            raise CommandError(f"unknown effect {name!r}; effects: {', '.join(self.names) or 'none'}")
        return {**self.enabled, name: not self.enabled[name]}

    def camera_meter(self) -> EffectRuntime | None:
        """The first enabled runtime that meters the face for the camera's exposure (`meters_camera`: light with
        auto and camera on), whose `reading`, `target_grey` and `camera_changed()` the live daemon uses; None if none."""
        for item, runtime in zip(self.items, self._runtimes):
            if self.enabled[item.name] and getattr(runtime, "meters_camera", False):
                return runtime
        return None

    def apply(self, image: np.ndarray, masks: Masks, timestamp_ms: int, clock: StageClock | None = None) -> np.ndarray:
        """Run the enabled effects in order; `clock` (if given) gets each effect's time as `effect:NAME`."""
        for item, runtime in zip(self.items, self._runtimes):
            if not self.enabled[item.name]:
                continue
            with stage(clock, f"effect:{item.name}"):
                image = runtime.apply(image, masks, timestamp_ms)
            if getattr(item.effect, "mirrors", False):
                masks = {name: cv2.flip(mask, 1) for name, mask in masks.items()}
        return image

    def close(self) -> None:
        for runtime in self._runtimes:
            runtime.close()
        self._runtimes = []
