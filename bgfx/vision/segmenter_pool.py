"""The segmenters a pipeline can run: which model gives which mask, opening them, and a few spares.

A model switched out or an effect toggled off leaves its segmenter among the
spares (at most MAX_SPARES, the oldest closed), so switching back costs nothing
and memory stays bounded however often people switch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bgfx.errors import ModelError
from bgfx.vision.models import Catalog, locate
from bgfx.vision.segmentation import (
    RunningMode,
    Segmenter,
    SegmenterOptions,
    inspect_model,
    provided_masks,
    verify_model,
)

if TYPE_CHECKING:
    from bgfx.vision.segmentation_settings import SegmentationSettings

MAX_SPARES = 2  # segmenters kept after an effect toggles off or the model switches (a few MB to ~30 MB each)
Key = tuple[str, frozenset[str]]  # (model, the masks taken from it)


class SegmenterPool:
    """download: fetch a missing catalog model (else ModelError names `bgfx models pull`)."""

    def __init__(self, catalog: Catalog, settings: SegmentationSettings, mode: RunningMode, download: bool) -> None:
        self.catalog = catalog
        self.settings = settings
        self.mode = mode
        self.allow_download = download
        self.spares: dict[Key, Segmenter] = {}

    def plan(self, needs: frozenset[str], person_model: str) -> dict[str, frozenset[str]]:
        """Model name → masks to take from it, for the masks the chain needs."""
        plan: dict[str, set[str]] = {}
        for mask in sorted(needs):
            if mask == "person":
                source = person_model
            elif mask == "hair":
                entry = self.catalog.entries.get(person_model)
                gives_hair = entry is not None and "hair" in provided_masks(entry.labels)
                source = person_model if gives_hair else self.settings.hair_model
            else:
                raise ModelError(f"no model known to bgfx gives a {mask!r} mask")
            plan.setdefault(source, set()).add(mask)
        return {model: frozenset(masks) for model, masks in plan.items()}

    def open(self, model: str, wanted: frozenset[str]) -> Segmenter:
        located = locate(model, self.catalog, verify=verify_model, download=self.allow_download)
        options = SegmenterOptions(
            running_mode=self.mode,
            wanted=wanted,
            rotation_degrees=self.settings.rotation,
            display_names_locale=self.settings.locale,
        )
        return Segmenter(located, options)

    def take(self, key: Key) -> Segmenter:
        """A spare for (model, masks), or a newly opened segmenter."""
        return self.spares.pop(key, None) or self.open(*key)

    def retire(self, model: str, segmenter: Segmenter) -> None:
        """Keep a segmenter no effect needs now among the spares (toggling back costs nothing); close the oldest."""
        self.spares[(model, segmenter.options.wanted)] = segmenter
        while len(self.spares) > MAX_SPARES:
            self.spares.pop(next(iter(self.spares))).close()

    def check_gives_person(self, person_model: str) -> None:
        """ModelError unless the model exists, loads and gives a person mask (checked without running it)."""
        located = locate(person_model, self.catalog, verify=verify_model, download=self.allow_download)
        provides = provided_masks(inspect_model(located.path).labels)
        if "person" not in provides:
            raise ModelError(f"model {person_model!r} gives masks {', '.join(sorted(provides))}; it cannot give person")

    def close(self) -> None:
        for segmenter in self.spares.values():
            segmenter.close()
        self.spares = {}
