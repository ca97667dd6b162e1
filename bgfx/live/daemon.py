"""`bgfx run`: camera → LIVE_STREAM segmentation → refinement → effects → the sink.

The main thread owns every stateful part and `_loop` reads top to bottom:
apply pending commands → (on demand: wait while nobody reads) → read a frame →
compose it → send it → ping the watchdog → publish the status. The parts own
their state: `Feed` (camera, loss, backoff), `Output` (pacing, size, sink),
`CommandHandler` (config, pipeline, pause, preset), `StatusPublisher`. Other
threads only hand data over: MediaPipe's callback (a latest-only slot), the
front ends (a bounded command queue), signal handlers (a flag, or a command).
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from bgfx.errors import ConfigError
from bgfx.live.cameras.exposure import CameraExposure
from bgfx.live.capture import check_controls, is_camera
from bgfx.live.cards import Cards
from bgfx.live.control.commands import Asker, Command, CommandQueue
from bgfx.live.control.editing import Editor
from bgfx.live.control.front_ends import FrontEnds
from bgfx.live.control.handler import CommandHandler
from bgfx.live.control.verbs import VERBS
from bgfx.live.governor import STEPS, Governor
from bgfx.live.feed import Demand, Feed
from bgfx.live.notify import Notifier
from bgfx.live.output import Output
from bgfx.live.safe_frames import SafeFrames
from bgfx.live.settings import Config
from bgfx.live.signals import SignalFlags
from bgfx.live.sinks import open_sink
from bgfx.live.status import Stats, StatusPublisher
from bgfx.vision.effects import ChainItem
from bgfx.vision.frame import Frame
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.segmentation import RunningMode
from bgfx.vision.video import VideoFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """load: reads and validates the config (ConfigError); config_path: the file to watch (None: not watched);
    max_frames: stop after sending this many frames; signals: the flags SIGTERM/SIGINT/SIGHUP set;
    editor: makes and saves live edits of the config (`set`, `order`, `save`; None: not editable)."""

    load: Callable[[], Config]
    config_path: Path | None = None
    max_frames: int | None = None
    signals: SignalFlags = field(default_factory=SignalFlags)
    editor: Editor | None = None


def geometry(config: Config) -> tuple[tuple[int, int], float]:
    """Output (w, h) and rate: a video file's own, else the camera's as configured; output.size and .fps win."""
    capture, output = config.capture, config.output
    if is_camera(capture.device):
        return output.size or (capture.width, capture.height), output.fps or capture.fps
    probe = VideoFile(Path(capture.device).expanduser())
    probe.close()
    return output.size or probe.size, output.fps or probe.fps


def live_pipeline(config: Config, items: tuple[ChainItem, ...], download: bool = False) -> Pipeline:
    return Pipeline(items, config.segmentation, config.refine, mode=RunningMode.LIVE_STREAM, download=download,
                    framing=config.framing)


class Daemon:
    """Every part is built here, in the order they need each other (a part that fails to open closes those
    before it); `run` starts the front ends and loops until stopped, then closes them all in reverse."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.config = cfg = self._load()  # ConfigError before anything opens: exit 78, no READY
        _warn_passthrough(cfg)
        cv2.setNumThreads(cfg.live.opencv_threads)
        size, fps = geometry(cfg)
        self.commands = CommandQueue()
        self.notifier = Notifier()
        self.stats = Stats()
        self.status = StatusPublisher(self.notifier)
        self.signals = options.signals
        self.demand = Demand()
        self._person: np.ndarray | None = None  # the last refined person alpha (the control page's mask view)
        self._parts = ExitStack()
        try:
            self._open_parts(cfg, size, fps)
        except BaseException:
            self._parts.close()
            raise

    def _load(self) -> Config:
        """The config file, its capture.controls checked against the camera's own (at start and on reload)."""
        config = self.options.load()
        try:
            check_controls(config.capture.device, config.capture.controls)
        except ConfigError as e:
            raise ConfigError(f"{config.source}: {e}") from None
        return config

    def _open_parts(self, cfg: Config, size: tuple[int, int], fps: float) -> None:
        parts = self._parts
        self.front_ends = FrontEnds(self.commands, Asker(self.commands, lambda: self.status.latest, VERBS), self.options.config_path)
        self.front_ends.start_control()  # `bgfx ctl` answers while the model loads (or downloads)
        parts.callback(self.front_ends.stop)
        pipeline = live_pipeline(cfg, cfg.effects, download=True)  # the first run may download the model
        pipeline.pool.allow_download = False  # from now on a download would stall a switch: `bgfx models pull` instead
        self.handler = CommandHandler(cfg, pipeline, self.commands, load=self._load, build=live_pipeline, adopt=self._adopt,
                                      editor=self.options.editor)
        parts.callback(self.handler.close)
        self.output = Output(open_sink(cfg.output, size, fps), size, fps, paced=cfg.output.fps is not None,
                             stats=self.stats, notifier=self.notifier)
        parts.callback(self.output.close)
        self.feed = Feed(cfg.capture, 1.0 / fps, self.stats.fps_in)
        parts.callback(self.feed.release)
        self.governor = Governor(cfg.live.cpu_budget, fps)
        self.exposure = CameraExposure(cfg.capture.device, cfg.capture.fps, cfg.capture.controls)
        parts.callback(lambda: self.exposure.close())  # the one in force then (a reload may make another)
        self.cards = Cards(cfg.pause, size)
        self.safe = SafeFrames(cfg.live, self.cards)
        parts.callback(self.notifier.close)
        parts.callback(self.commands.close)  # first on the way out: a sender waits for no loop that has ended

    def run(self) -> int:
        with self._parts:
            self.front_ends.start(self.config)
            self._loop()
        return 0

    def _loop(self) -> None:
        limit = self.options.max_frames
        while not self.signals.stop and (limit is None or self.stats.frames_out < limit):
            if self.signals.take_reload():
                self.commands.put(Command("reload"))
            if self.handler.apply_pending():
                self._publish(force=True)
            if self._idle():
                continue
            paused = self.handler.paused
            if paused and self.handler.config.pause.release_camera:
                self.feed.idle()
                frame = None
            else:
                frame = self.feed.read()
            image = self._compose(frame, paused)
            self.exposure.steer(self.handler.pipeline.chain.camera_meter() if frame is not None else None)  # released: set back
            self.output.send(image, frame)
            if self.front_ends.preview.wanted():  # a control page is open
                self.front_ends.preview.offer(image, frame.image if frame else None, self._person)
            self.notifier.watchdog()
            self.governor.steer(self.handler.pipeline, self.stats.frames_out)
            self._publish()

    def _idle(self) -> bool:
        """On demand with no reader: camera closed, block on the sink's reader watch (no CPU). True while idle."""
        live = self.handler.config.live
        if not live.on_demand:
            return False
        readers = self.output.readers(0.0 if self.demand.active else 0.5)
        if self.demand.wanted(readers, time.monotonic(), live.release_after_s):
            return False
        self.feed.release()
        self.exposure.steer(None)  # the camera as found for whoever opens it next
        self.notifier.ready("idle: waiting for an application to open the virtual camera")
        self.notifier.watchdog()
        self._publish(force=True, state="idle")
        return True

    def _compose(self, frame: Frame | None, paused: bool) -> np.ndarray:
        """The picture to send: a card, the chain's composite on fresh masks, or a safe frame (never the room)."""
        if frame is None or paused:
            return self.cards.show("paused" if paused else "camera lost - reconnecting", self.feed.last_image)
        pipeline = self.handler.pipeline
        try:
            results = pipeline.segment(frame)
            age_ms = pipeline.mask_age_ms(frame, results)
            self.stats.aged(age_ms)
            if age_ms > self.handler.config.live.max_mask_age_ms:
                return self.safe.instead(frame)
            masks = pipeline.masks(frame, results)
            self._person = masks.get("person")
            return self.safe.remember(pipeline.render(frame, masks))
        except Exception:
            return self.safe.failed(frame)

    def _adopt(self, old: Config, new: Config) -> None:
        """Apply what a reload changed beyond the pipeline; name each key that waits for a restart."""
        cv2.setNumThreads(new.live.opencv_threads)
        self.governor.budget = new.live.cpu_budget
        if (old.capture.device, old.capture.fps, old.capture.controls) != (new.capture.device, new.capture.fps, new.capture.controls):
            self.exposure.close()  # the camera as found again before the new controls are set
            self.exposure = CameraExposure(new.capture.device, new.capture.fps, new.capture.controls)
        self.feed.reconfigure(new.capture)
        self.cards = Cards(new.pause, self.output.size, previous=self.cards)
        self.safe = SafeFrames(new.live, self.cards)
        _warn_passthrough(new)
        self.front_ends.adopt(old, new)
        for key in (f.name for f in fields(new.output)):
            before, after = getattr(old.output, key), getattr(new.output, key)
            if before != after:
                log.warning("output.%s: %r → %r applies on restart only (the output stays as it is)", key, before, after)

    def _publish(self, force: bool = False, state: str | None = None) -> None:
        h = self.handler
        state = state or ("paused" if h.paused else "camera-lost" if self.feed.lost else "running")
        camera = "open" if self.feed.is_open else "closed"
        if not self.status.due(force, (state, camera, self.output.readers_seen)):
            return
        self.status.publish(self.stats.snapshot(
            h.pipeline, state=state, preset=h.preset, camera=camera, readers=self.output.readers_seen,
            config=h.config.source, decode_errors=self.feed.decode_errors,
            effort=self.governor.level, effort_step=STEPS[self.governor.level].name,
        ), notify=not force)


def _warn_passthrough(config: Config) -> None:
    if config.live.stale == "passthrough":
        log.warning("live.stale: passthrough: with no fresh mask (start, a stall, an error) your room goes out "
                    "as the camera sees it; `blur` (the default) or `card` never show it")


def run(options: RunOptions) -> int:
    return Daemon(options).run()
