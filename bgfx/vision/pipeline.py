"""One frame's path: segmentation (only the models the enabled effects need) → refinement → chain.

Shared by `bgfx process` and `bgfx bench` (VIDEO mode, synchronous) and the
live daemon (LIVE_STREAM mode: `segment` submits and returns the newest
results that have arrived). A model or chain change builds the new segmenters
(and effect runtimes) beside the old ones and swaps only when they load, so a
bad switch leaves the running state untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from bgfx.vision.effects import Chain, ChainItem, needs_of
from bgfx.vision.frame import Box, Frame, Segmentation
from bgfx.vision.framing_settings import FramingSettings
from bgfx.vision.framing_stage import FramingStage
from bgfx.vision.head_crop import HeadCrop, moved, person_present
from bgfx.vision.motion import MotionGate
from bgfx.vision.models import Catalog, load_catalog
from bgfx.vision.refine import Refined, Refiner, RefineSettings
from bgfx.vision.segmentation import PERSON, RunningMode, Segmenter
from bgfx.vision.segmentation_settings import SegmentationSettings
from bgfx.vision.segmenter_pool import SegmenterPool
from bgfx.vision.timing import StageClock, stage

log = logging.getLogger(__name__)

HAIR_STILL_STRETCH = 3  # while still the hair model runs up to 3x less often (hair IoU against every frame on the
# desk clip 0.931; stretched as the person model's 6x, 0.919)

NOBODY = (1, 1)  # shape of the hair model's answer when nobody is in the picture: no hair


@dataclass(frozen=True, slots=True)
class Effort:
    """How hard the pipeline works (a CPU governor's step): the models at least every `still_every`-th frame
    while still and every `moving_every`-th while moving, the hair model `hair_factor` times less often, the edge
    guide at most `guide_width` px wide. The first field says what the step gives up, for status."""

    name: str
    still_every: int
    moving_every: int
    guide_width: int
    hair_factor: int


@dataclass
class Prepared:
    """A switch made ready off the frame thread: a new chain (runtimes prepared) or None to keep the running one,
    the person model, and the segmenters opened for it, keyed by (model, masks)."""

    chain: Chain | None
    person_model: str
    ready: dict[tuple[str, frozenset[str]], Segmenter]

    def discard(self) -> None:
        """Release what was prepared (a switch that will not be committed)."""
        for segmenter in self.ready.values():
            segmenter.close()
        if self.chain is not None:
            self.chain.close()


class Pipeline:
    """Segmenters keyed by model name, a Refiner per mask, and the effect chain (which it closes).
    download: fetch a missing catalog model (else ModelError names `bgfx models pull`)."""

    def __init__(
        self, items: tuple[ChainItem, ...], segmentation: SegmentationSettings = SegmentationSettings(),
        refine: RefineSettings = RefineSettings(), *, mode: RunningMode = RunningMode.VIDEO,
        catalog: Catalog | None = None, download: bool = True, framing: FramingSettings = FramingSettings(),
    ) -> None:
        self.mode = mode
        self.settings = segmentation
        self.pool = SegmenterPool(catalog or load_catalog(), segmentation, mode, download)
        self.person_model = segmentation.model
        self.refine_settings = refine
        self._configured_guide_width = refine.guide_width
        self.segmenters: dict[str, Segmenter] = {}
        self._mask_source: dict[str, str] = {}
        self._refiners: dict[str, Refiner] = {}
        self._last: dict[str, Segmentation] = {}
        self._frame_count = 0
        self._head = HeadCrop()
        self.gate = MotionGate(segmentation.still_every, segmentation.motion_threshold)
        self.framing = FramingStage(framing)  # between refinement and the chain (`render`)
        self.chain = Chain(items)
        try:
            self._rebuild(self.chain.needs, segmentation.model)
        except BaseException:
            self.chain.close()
            raise

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every segmenter (the spares too) and every effect runtime."""
        for segmenter in self.segmenters.values():
            segmenter.close()
        self.segmenters = {}
        self.pool.close()
        self.chain.close()

    def _rebuild(self, needs: frozenset[str], person_model: str, ready: dict | None = None) -> None:
        """Open the segmenters these needs call for (prepared, spare or new: new first); swap when all load; unused prepared: spares."""
        ready = dict(ready or {})
        plan = self.pool.plan(needs, person_model)
        opened: dict[str, Segmenter] = {}
        try:
            for model, wanted in plan.items():
                current = self.segmenters.get(model)
                if current is None or current.options.wanted != wanted:
                    key = (model, wanted)
                    opened[model] = ready.pop(key, None) or self.pool.take(key)
        except BaseException:
            for segmenter in [*opened.values(), *ready.values()]:
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
                self.pool.retire(model, segmenter)
        for (model, _), segmenter in ready.items():
            self.pool.retire(model, segmenter)
        self._last = {model: result for model, result in self._last.items() if model in self.segmenters}
        self._refiners = {mask: self._refiners.get(mask) or Refiner(self.refine_settings.for_mask(mask)) for mask in self._mask_source}
        self.person_model = person_model

    def prepare(self, *, items: tuple[ChainItem, ...] | None = None, person_model: str | None = None) -> Prepared:
        """Make a chain or model switch ready: prepare the effects, open the segmenters it will need.

        Safe on a background thread while frames run: it reads the running state and changes none of it.
        ModelError (and nothing opened) when a model cannot be loaded or cannot give what is needed.
        """
        chain = Chain(items) if items is not None else None
        ready: dict[tuple[str, frozenset[str]], Segmenter] = {}
        try:
            person = person_model or self.person_model
            needs = chain.needs if chain is not None else self.chain.needs
            if person_model is not None and "person" not in needs:
                self.pool.check_gives_person(person_model)  # nothing will load it now: check it before accepting it
            for model, wanted in self.pool.plan(needs, person).items():
                current = self.segmenters.get(model)
                fresh = current is None or current.options.wanted != wanted
                if fresh and (model, wanted) not in self.pool.spares:
                    ready[(model, wanted)] = self.pool.open(model, wanted)
        except BaseException:
            Prepared(chain, "", ready).discard()
            raise
        return Prepared(chain, person, ready)

    def commit(self, prepared: Prepared) -> None:
        """Swap in what `prepare` made ready (on the frame thread); the old chain is closed."""
        needs = prepared.chain.needs if prepared.chain is not None else self.chain.needs
        switched = prepared.person_model != self.person_model
        try:
            self._rebuild(needs, prepared.person_model, prepared.ready)
        except BaseException:
            if prepared.chain is not None:
                prepared.chain.close()
            raise
        if prepared.chain is not None:
            old, self.chain = self.chain, prepared.chain
            old.close()
        if switched and "person" in self._refiners:
            self._refiners["person"].reset()

    def set_effort(self, effort: Effort) -> None:
        """Work as `effort` says, never harder than configured; a changed guide width starts the refiners afresh."""
        self.gate.still_every = max(self.settings.still_every, effort.still_every)
        self.gate.moving_every = effort.moving_every
        self.gate.hair_factor = effort.hair_factor
        width = min(effort.guide_width, self._configured_guide_width)
        if width != self.refine_settings.guide_width:
            self.refine_settings = replace(self.refine_settings, guide_width=width)
            self._refiners = {mask: Refiner(self.refine_settings.for_mask(mask)) for mask in self._mask_source}

    def toggle(self, name: str) -> bool:
        """Flip an effect (CommandError if unknown); opens or closes segmenters so only needed models run."""
        enabled = self.chain.toggled(name)
        self._rebuild(needs_of(self.chain.items, enabled), self.person_model)
        self.chain.enabled = enabled
        return enabled[name]

    def segment(self, frame: Frame, clock: StageClock | None = None) -> dict[str, Segmentation]:
        """Segment with every model the chain needs (IMAGE, VIDEO: synchronous; LIVE_STREAM: submit, then newest):
        model name → newest Segmentation. The person model first; the hair model on a head crop every `hair_every`th
        frame, and not with nobody in the picture (its answer then: no hair, now)."""
        count = self._frame_count
        self._frame_count += 1
        with stage(clock, "segmentation"):
            due = self.mode is RunningMode.IMAGE or not self.segmenters or self.gate.due(frame.image, frame.timestamp_ms)
            hair_every = hair_cadence(self.settings.hair_every, self.gate)
            for model, segmenter in sorted(self.segmenters.items(), key=lambda item: PERSON not in item[1].options.wanted):
                if PERSON in segmenter.options.wanted:
                    run_model(self.mode, segmenter, frame, None, due or model not in self._last, self._last, model)
                else:
                    self._run_hair(model, segmenter, frame, count % hair_every == 0)
        return dict(self._last)

    def _run_hair(self, model: str, segmenter: Segmenter, frame: Frame, due: bool) -> None:
        """The hair model when `due` (its cadence); at once, on the whole frame, when the scene changed (a cut, or
        the person mask no longer the one the crop was found on)."""
        person = self._last.get(self.person_model)
        if person is None or not person_present(person.masks[PERSON]):
            self._last[model] = Segmentation({"hair": np.zeros(NOBODY, np.float32)}, frame.timestamp_ms)
            self._head.reset()
            return
        new_scene = self._head.forgot(person, self.gate.cut)
        due = due or new_scene or model not in self._last or self._last[model].shape == NOBODY
        if run_model(self.mode, segmenter, frame, self._head.for_run(), due, self._last, model):
            self._head.learn(self._last[model], person, frame.size)
            crop = self._head.for_run()
            if self.mode is RunningMode.IMAGE and self._last[model].box is None and crop is not None:
                self._last[model] = segmenter.segment(frame.image, box=crop)  # a photo: a second, closer look

    def forget(self) -> None:
        """Drop every mask and the refiners' memory: the next frame is a new picture (a photo), not the next of a stream."""
        self._last = {}
        self._frame_count = 0
        self._head.reset()
        self.gate.reset()
        for refiner in self._refiners.values():
            refiner.reset()

    def mask_age_ms(self, frame: Frame, results: dict[str, Segmentation]) -> float:
        """Age of the oldest mask the chain needs, relative to this frame (inf when one is missing)."""
        models = set(self._mask_source.values())
        return max((frame.timestamp_ms - results[m].timestamp_ms if m in results else float("inf") for m in models), default=0.0)

    def masks(self, frame: Frame, results: dict[str, Segmentation], clock: StageClock | None = None) -> dict[str, np.ndarray]:
        """Refine each needed mask to frame size: mask name → (H, W) uint8 alpha."""
        refined, still = {}, not self.gate.moving and self.gate.pan is None
        with stage(clock, "refine"):
            for mask, model in self._mask_source.items():
                segmentation = results.get(model)
                if segmentation is None:
                    continue
                own_run = PERSON not in self.segmenters[model].options.wanted  # the hair model's, with its crop
                box, shift = self._head.place(segmentation, frame.image) if own_run else self.gate.place(segmentation, frame.size)
                refined[mask] = refine_placed(self._refiners[mask], segmentation.masks[mask], frame.image, box, shift, still)
        return refined

    def render(self, frame: Frame, masks: dict[str, np.ndarray], clock: StageClock | None = None) -> np.ndarray:
        """Frame, then apply the chain; until every mask it needs exists (a live stream's start), pass the frame through."""
        if not self.chain.needs <= masks.keys():
            return np.array(frame.image)
        return self.framing.run(self.chain, frame, masks, clock, photo=self.mode is RunningMode.IMAGE, sources=last_refined(self))

    def process(self, frame: Frame, clock: StageClock | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All three stages for one frame: (output image, refined masks as the effects saw them, framed)."""
        masks = self.masks(frame, self.segment(frame, clock), clock)
        return self.render(frame, masks, clock), self.framing.shown(masks)


def hair_cadence(hair_every: int, gate: MotionGate) -> int:
    """Run the hair model every this many frames: `hair_every`, times the governor's factor, stretched while still."""
    return hair_every * gate.hair_factor * (1 if gate.moving else min(gate.still_every, HAIR_STILL_STRETCH))


def last_refined(pipeline: Pipeline) -> dict[str, Refined | None]:
    """Each mask's last refinement, its frame-size alpha with the guide-size one it was scaled from: the framing
    stage scales a mask that is one of these from its small alpha (a head crop's placed alpha is none of them)."""
    return {mask: refiner.last for mask, refiner in pipeline._refiners.items()}


def run_model(
    mode: RunningMode, segmenter: Segmenter, frame: Frame, box: Box | None, due: bool,
    results: dict[str, Segmentation], model: str,
) -> bool:
    """Run (LIVE_STREAM: submit) one model on the frame, or on `box` of it, when due, and put its new result in
    results[model] (in LIVE_STREAM the newest that arrived, if newer than the one there). True when one was."""
    if mode is RunningMode.LIVE_STREAM:
        if due:
            segmenter.submit(frame, box)
        result = segmenter.latest()
        if result is None or (model in results and result.timestamp_ms <= results[model].timestamp_ms):
            return False
    elif not due:
        return False
    elif mode is RunningMode.VIDEO:
        result = segmenter.segment_for_video(frame.image, frame.timestamp_ms, box=box)
    else:
        result = segmenter.segment(frame.image, box=box)
    results[model] = result
    return True


def refine_placed(
    refiner: Refiner, mask: np.ndarray, image: np.ndarray, box: Box | None, shift: tuple[int, int], still: bool = False
) -> np.ndarray:
    """A model mask refined to the frame's (H, W) uint8 alpha: a whole-frame mask moved by `shift` px first,
    a crop's mask refined inside `box` and zero outside it; still: the last alpha may be reused (`Refiner`)."""
    if box is None:
        return refiner(moved(mask, shift, (image.shape[1], image.shape[0])), image, still)
    alpha = np.zeros(image.shape[:2], np.uint8)
    alpha[box[1] : box[3], box[0] : box[2]] = refiner(mask, image[box[1] : box[3], box[0] : box[2]])
    return alpha
