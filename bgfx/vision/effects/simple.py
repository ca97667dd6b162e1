"""Small effects users ask for next: `desaturate` the background, `mirror` the picture."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import cv2
import numpy as np

from bgfx.vision.effects.composite import Workspace, blend_into


@dataclass(frozen=True, slots=True)
class Desaturate:
    """Background towards grey; strength 1..100 (100 = fully grey). The person keeps colour."""

    needs: ClassVar[frozenset[str]] = frozenset({"person"})
    strength: int = field(default=100, metadata={"range": (1, 100)})

    def prepare(self) -> DesaturateRuntime:
        return DesaturateRuntime(self)


class DesaturateRuntime:
    def __init__(self, settings: Desaturate) -> None:
        self.settings = settings
        self._workspace = Workspace()

    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        share = self.settings.strength / 100.0
        if share < 1.0:
            grey = cv2.addWeighted(grey, share, image, 1.0 - share, 0.0)
        return blend_into(grey, image, masks["person"], self._workspace)

    def close(self) -> None:
        """Nothing held but memory."""


@dataclass(frozen=True, slots=True)
class Mirror:
    """Flip left-right, as people expect of a selfie view; the chain flips the masks after it too."""

    needs: ClassVar[frozenset[str]] = frozenset()
    mirrors: ClassVar[bool] = True

    def prepare(self) -> MirrorRuntime:
        return MirrorRuntime()


class MirrorRuntime:
    def apply(self, image: np.ndarray, masks: Mapping[str, np.ndarray], timestamp_ms: int) -> np.ndarray:
        return cv2.flip(image, 1)  # a SIMD copy; numpy copies a reversed view element by element

    def close(self) -> None:
        """Nothing held."""
