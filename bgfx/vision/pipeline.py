"""One frame's path: segmentation (only the models the enabled effects need) → refinement → chain.

Shared by `bgfx process` and `bgfx bench` (VIDEO mode, synchronous) and the
live daemon (LIVE_STREAM mode: `segment` submits and returns the newest
results that have arrived). A model or chain change builds the new segmenters
beside the old ones and swaps only when they load, so a bad switch leaves the
running state untouched.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Iterator

import numpy as np

from bgfx.vision.effects import Chain, ChainItem
from bgfx.errors import ModelError
from bgfx.vision.frame import Frame, Segmentation
from bgfx.vision.models import Catalog, load_catalog, locate
from bgfx.vision.refine import Refiner, RefineSettings
from bgfx.vision.segmentation import RunningMode, Segmenter, SegmenterOptions, inspect_model, provided_masks, verify_model

log = logging.getLogger(__name__)


class StageClock:
    """Wall and process-CPU milliseconds per stage name, for the frame being processed."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + (time.perf_counter() - wall) * 1000.0
            self.cpu[name] = self.cpu.get(name, 0.0) + (time.process_time() - cpu) * 1000.0


def _stage(clock: StageClock | None, name: str) -> AbstractContextManager[None]:
    """Time a stage only when someone asked for the figures (the live loop does not)."""
    return clock.stage(name) if clock is not None else nullcontext()


class Pipeline:
    """Segmenters keyed by model name, a Refiner per mask, and the effect chain.

    person_model: catalog name or path of the model that gives `person`;
    hair_model: the one that gives `hair` (unless the person model gives it too);
    hair_every: run the hair model on every Nth frame, reusing its last mask between.
    download: fetch a missing catalog model (else ModelError names `bgfx models pull`).
    """

    def __init__(
        self,
        items: tuple[ChainItem, ...],
        *,
        person_model: str,
        hair_model: str = "hair",
        hair_every: int = 1,
        mode: RunningMode = RunningMode.VIDEO,
        refine: RefineSettings = RefineSettings(),
        rotation_degrees: int = 0,
        locale: str = "en",
        catalog: Catalog | None = None,
        download: bool = True,
    ) -> None:
        self.mode = mode
        self.catalog = catalog or load_catalog()
        self.person_model = person_model
        self.hair_model = hair_model
        self.hair_every = hair_every
        self.refine_settings = refine
        self.rotation_degrees = rotation_degrees
        self.locale = locale
        self.chain = Chain(items)
        self.allow_download = download  # the live daemon turns this off once streaming: a download would stall it
        self.segmenters: dict[str, Segmenter] = {}
        self._mask_source: dict[str, str] = {}
        self._refiners: dict[str, Refiner] = {}
        self._last: dict[str, Segmentation] = {}
        self._frame_count = 0
        self._rebuild(self.chain, person_model)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for segmenter in self.segmenters.values():
            segmenter.close()
        self.segmenters = {}

    @property
    def needs(self) -> frozenset[str]:
        return self.chain.needs

    def _open(self, model: str, wanted: frozenset[str]) -> Segmenter:
        located = locate(model, self.catalog, verify=verify_model, download=self.allow_download)
        options = SegmenterOptions(
            running_mode=self.mode,
            wanted=wanted,
            rotation_degrees=self.rotation_degrees,
            display_names_locale=self.locale,
        )
        return Segmenter(located, options)

    def _plan(self, needs: frozenset[str], person_model: str) -> dict[str, frozenset[str]]:
        """Model name → masks to take from it, for the masks the chain needs."""
        plan: dict[str, set[str]] = {}
        for mask in sorted(needs):
            if mask == "person":
                plan.setdefault(person_model, set()).add(mask)
            elif mask == "hair":
                person_labels = self._labels_of(person_model)
                source = person_model if person_labels is not None and "hair" in provided_masks(person_labels) else self.hair_model
                plan.setdefault(source, set()).add(mask)
            else:
                raise ModelError(f"no model known to bgfx gives a {mask!r} mask")
        return {model: frozenset(masks) for model, masks in plan.items()}

    def _labels_of(self, model: str) -> tuple[str, ...] | None:
        entry = self.catalog.entries.get(model)
        return entry.labels if entry else None

    def _rebuild(self, chain: Chain, person_model: str) -> None:
        """Open the segmenters the chain needs (new ones first); swap only when all load."""
        plan = self._plan(chain.needs, person_model)
        opened: dict[str, Segmenter] = {}
        try:
            for model, wanted in plan.items():
                current = self.segmenters.get(model)
                if current is not None and current.options.wanted == wanted:
                    continue
                opened[model] = self._open(model, wanted)
        except BaseException:
            for segmenter in opened.values():
                segmenter.close()
            raise
        old, old_source = self.segmenters, self._mask_source
        self.segmenters = {model: opened.get(model) or old[model] for model in plan}
        self._mask_source = {mask: model for model, masks in plan.items() for mask in masks}
        for mask, model in self._mask_source.items():
            previous = old_source.get(mask)
            if previous is not None and previous != model and previous in self._last and model not in self._last:
                self._last[model] = self._last[previous]  # show the old mask until the new model answers
        for model, segmenter in old.items():
            if self.segmenters.get(model) is not segmenter:
                segmenter.close()
        self._last = {model: result for model, result in self._last.items() if model in self.segmenters}
        self._refiners = {mask: self._refiners.get(mask) or Refiner(self.refine_settings) for mask in self._mask_source}
        self.chain = chain
        self.person_model = person_model

    def set_model(self, person_model: str) -> None:
        """Switch the person model; the old one stays when the new one fails to load (ModelError)."""
        if "person" not in self.chain.needs:  # nothing will load it now: check it before accepting it
            located = locate(person_model, self.catalog, verify=verify_model, download=self.allow_download)
            info = inspect_model(located.path)
            if "person" not in provided_masks(info.labels):
                raise ModelError(f"model {person_model!r} gives masks {', '.join(sorted(provided_masks(info.labels)))}; it cannot give person")
        self._rebuild(self.chain, person_model)
        if "person" in self._refiners:
            self._refiners["person"].reset()

    def set_chain(self, items: tuple[ChainItem, ...]) -> None:
        self._rebuild(Chain(items), self.person_model)

    def toggle(self, name: str) -> bool:
        """Flip an effect; opens or closes segmenters so only needed models run."""
        chain = Chain(self.chain.items)
        chain.enabled = dict(self.chain.enabled)
        state = chain.toggle(name)
        self._rebuild(chain, self.person_model)
        return state

    def segment(self, frame: Frame, clock: StageClock | None = None) -> dict[str, Segmentation]:
        """Segment with every model the chain needs; VIDEO: synchronous; LIVE_STREAM: submit, then newest.

        Returns model name → its newest Segmentation (models without a result yet are absent).
        """
        count = self._frame_count
        self._frame_count += 1
        with _stage(clock, "segmentation"):
            for model, segmenter in self.segmenters.items():
                cadence = self.hair_every if "person" not in segmenter.options.wanted else 1
                due = count % cadence == 0 or model not in self._last
                if self.mode is RunningMode.LIVE_STREAM:
                    if due:
                        segmenter.submit(frame)
                    result, _latency = segmenter.latest()
                    if result is not None:
                        self._last[model] = result
                elif due:
                    self._last[model] = segmenter.segment_for_video(frame.image, frame.timestamp_ms)
        return dict(self._last)

    def mask_age_ms(self, frame: Frame, results: dict[str, Segmentation]) -> float:
        """Age of the oldest mask the chain needs, relative to this frame (inf when one is missing)."""
        ages = [
            frame.timestamp_ms - results[model].timestamp_ms if model in results else float("inf")
            for model in set(self._mask_source.values())
        ]
        return max(ages, default=0.0)

    def masks(self, frame: Frame, results: dict[str, Segmentation], clock: StageClock | None = None) -> dict[str, np.ndarray]:
        """Refine each needed mask to frame size: mask name → (H, W) uint8 alpha."""
        refined = {}
        with _stage(clock, "refine"):
            for mask, model in self._mask_source.items():
                segmentation = results.get(model)
                if segmentation is not None:
                    refined[mask] = self._refiners[mask](segmentation.masks[mask], frame.image)
        return refined

    def render(self, frame: Frame, masks: dict[str, np.ndarray], clock: StageClock | None = None) -> np.ndarray:
        """Apply the chain; until every mask it needs exists (a live stream's first frames), pass the frame through."""
        if not self.chain.needs <= masks.keys():
            return np.array(frame.image)
        if clock is None:
            return self.chain.apply(frame.image, masks, frame.timestamp_ms)
        timings: dict[str, tuple[float, float]] = {}
        with clock.stage("effects"):
            image = self.chain.apply(frame.image, masks, frame.timestamp_ms, timings)
        for name, (wall, cpu) in timings.items():
            clock.wall[f"effect:{name}"] = wall
            clock.cpu[f"effect:{name}"] = cpu
        return image

    def process(self, frame: Frame, clock: StageClock | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All three stages for one frame: (output image, refined masks)."""
        masks = self.masks(frame, self.segment(frame, clock), clock)
        return self.render(frame, masks, clock), masks
