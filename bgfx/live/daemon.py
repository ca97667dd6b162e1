"""`bgfx run`: camera → LIVE_STREAM segmentation → refinement → effects → virtual camera.

The main thread owns every stateful part (capture, pipeline, sink) and `_loop`
reads top to bottom: apply pending commands → read a frame → submit it → take
the newest masks → refine → apply the chain → send → notify the watchdog.
Other threads only hand data over: MediaPipe's callback (latest-only slot),
hotkeys and the control socket (a bounded command queue), signal handlers
(flags). Errors after start-up are logged and the last good state goes on.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from bgfx import config as config_module
from bgfx.live.capture import Source, VideoFile, is_camera, open_source
from bgfx.live.cards import card
from bgfx.live.control.commands import Command, CommandQueue
from bgfx.live.control.socket_server import ControlServer, socket_path
from bgfx.live.control.config_watch import ConfigWatch, ReaderWatch
from bgfx.errors import BgfxError, CaptureError
from bgfx.vision.frame import Frame
from bgfx.live.control.hotkeys import Hotkeys
from bgfx.live.notify import Notifier
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.segmentation import RunningMode
from bgfx.live.sinks import Sink, open_sink
from bgfx.live.status import Stats

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 10.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Command-line overrides of the config for `bgfx run`."""

    config_path: Path | None = None
    input: str | None = None
    sink: str | None = None
    output_path: Path | None = None
    device: str | None = None
    backend: str | None = None
    model: str | None = None
    max_frames: int | None = None


def load_config(options: RunOptions) -> config_module.Config:
    overrides: dict[str, dict[str, object]] = {"capture": {}, "output": {}, "segmentation": {}}
    for section, key, value in (
        ("capture", "device", options.input), ("output", "sink", options.sink),
        ("output", "path", str(options.output_path) if options.output_path else None),
        ("output", "device", options.device), ("output", "backend", options.backend),
        ("segmentation", "model", options.model),
    ):
        if value is not None:
            overrides[section][key] = value
    return config_module.load(options.config_path, overrides)


class Daemon:
    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.config = load_config(options)  # ConfigError before anything opens: exit 78, no READY
        self.commands = CommandQueue()
        self.notifier = Notifier()
        self.stopping = False
        self.paused = False
        self.preset = "default"
        self.source: Source | None = None
        self.sink: Sink | None = None
        self.pipeline: Pipeline | None = None
        self.watch: ReaderWatch | None = None
        self.hotkeys: Hotkeys | None = None
        self.config_watch: ConfigWatch | None = None
        self.last_frame: np.ndarray | None = None
        self.camera_lost = False
        self._retry_at = 0.0
        self._backoff = 0.5
        self._idle_since: float | None = None
        self._active = False  # on demand: a reader holds the virtual camera
        self.stats = Stats()
        self._snapshot: dict = {"state": "starting"}
        self._published = 0.0
        self._next_send = 0.0
        self._pause_image: np.ndarray | None = None

    # ----------------------------------------------------------------- wiring
    def _build_pipeline(self, cfg: config_module.Config, items=None, download: bool = True) -> Pipeline:
        seg = cfg.segmentation
        return Pipeline(
            items if items is not None else cfg.effects, person_model=seg.model, hair_model=seg.hair_model,
            hair_every=seg.hair_every, mode=RunningMode.LIVE_STREAM, refine=cfg.refine,
            rotation_degrees=seg.rotation, locale=seg.locale, download=download,
        )

    def _open_source(self) -> Source:
        c = self.config.capture
        return open_source(c.device, width=c.width, height=c.height, fps=c.fps, fourcc=c.fourcc)

    def _geometry(self) -> tuple[tuple[int, int], float]:
        """Output size and rate: a file's own, else the camera's as configured."""
        c = self.config.capture
        if not is_camera(c.device):
            probe = VideoFile(Path(c.device).expanduser())
            probe.close()
            return probe.size, self.config.output.fps or probe.fps
        return (c.width, c.height), self.config.output.fps or c.fps

    def run(self) -> int:
        cfg = self.config
        cv2.setNumThreads(cfg.live.opencv_threads)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGHUP, lambda *_: self.commands.put(Command("reload")))
        self.size, self.fps = self._geometry()
        control = ControlServer(socket_path(), self.commands, lambda: self._snapshot)
        try:
            self.pipeline = self._build_pipeline(cfg)
            self.sink = open_sink(
                cfg.output.sink, self.size, self.fps, device=cfg.output.device,
                backend=cfg.output.backend, path=cfg.output.path,
            )
            if cfg.live.on_demand:
                self.watch = ReaderWatch(Path(cfg.output.device or "/dev/video10"))
            control.start()
            if cfg.live.watch_config and self.options.config_path is not None:
                self.config_watch = ConfigWatch(self.options.config_path, self.commands)
                self.config_watch.start()
            self.pipeline.allow_download = False
            self.hotkeys = Hotkeys(cfg.hotkeys, self.commands)
            self.hotkeys.start()
            self._loop()
        finally:
            control.stop()
            self._release()
        return 0

    def _on_stop(self, *_: object) -> None:
        self.stopping = True

    def _release(self) -> None:
        for closer in (self.hotkeys and self.hotkeys.stop, self.config_watch and self.config_watch.stop,
                       self.source and self.source.close,
                       self.sink and self.sink.close, self.pipeline and self.pipeline.close,
                       self.watch and self.watch.close, self.notifier.close):
            if closer:
                try:
                    closer()
                except Exception:
                    log.exception("while releasing")
        self.source = None

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        limit = self.options.max_frames
        while not self.stopping and (limit is None or self.stats.frames_out < limit):
            self._apply_commands()
            if self._idle():
                continue
            frame = self._read()
            image = self._compose(frame)
            self._send(image, frame)
            self.notifier.watchdog()
            self._publish()

    def _idle(self) -> bool:
        """On demand with no reader: camera closed, block on inotify (no CPU). True while idle."""
        if self.watch is None:
            return False
        readers = self.watch.poll(0.0 if self._active else 0.5)
        now = time.monotonic()
        if readers > 0:
            if not self._active:
                log.info("on demand: a reader opened %s; starting the camera", self.watch.node)
            self._active, self._idle_since = True, None
            return False
        if self._active:
            self._idle_since = self._idle_since or now
            if now - self._idle_since < self.config.live.release_after_s:
                return False
            log.info("on demand: no reader for %.1f s; camera released", now - self._idle_since)
            self._active = False
            if self.source is not None:
                self.source.close()
                self.source = None
        self.notifier.ready("idle: waiting for an application to open the virtual camera")
        self.notifier.watchdog()
        self._publish(force=True, state="idle")
        return True

    def _read(self) -> Frame | None:
        """The next camera frame, or None while it is lost (reconnecting with backoff) or released by pause."""
        if self.paused and self.config.pause.release_camera:
            if self.source is not None:
                self.source.close()
                self.source = None
            time.sleep(1.0 / self.fps)
            return None
        if self.source is None:
            now = time.monotonic()
            if now < self._retry_at:
                time.sleep(1.0 / self.fps)
                return None
            try:
                self.source = self._open_source()
            except CaptureError as e:
                self._lost(f"{e}")
                return None
            if self.camera_lost:
                log.info("camera back: %s", self.config.capture.device)
            self.camera_lost, self._backoff = False, 0.5
        try:
            frame = self.source.read()
        except CaptureError as e:
            self.source.close()
            self.source = None
            self._lost(str(e))
            return None
        if frame is not None:
            self.stats.fps_in.tick()
            self.last_frame = frame.image
        return frame

    def _lost(self, reason: str) -> None:
        if not self.camera_lost:
            log.warning("camera lost (%s); sending a card and retrying", reason)
        self.camera_lost = True
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)
        time.sleep(1.0 / self.fps)

    def _compose(self, frame: Frame | None) -> np.ndarray:
        if frame is None or self.paused:
            caption = "paused" if self.paused else "camera lost - reconnecting"
            return self._card(caption)
        assert self.pipeline is not None
        try:
            results = self.pipeline.segment(frame)
            if self.pipeline.mask_age_ms(frame, results) > self.config.live.max_mask_age_ms:
                return self._card("") if self.config.live.stale == "card" else np.array(frame.image)
            masks = self.pipeline.masks(frame, results)
            return self.pipeline.render(frame, masks)
        except Exception:
            log.exception("frame %d ms: processing failed; sending it unprocessed", frame.timestamp_ms)
            return np.array(frame.image)

    def _card(self, caption: str) -> np.ndarray:
        p = self.config.pause
        if p.show == "image" and self._pause_image is None and p.image is not None:
            self._pause_image = cv2.imread(str(p.image))
        return card(self.size, p.show, last_frame=self.last_frame, image=self._pause_image, colour=p.colour, caption=caption)

    def _send(self, image: np.ndarray, frame: Frame | None) -> None:
        now = time.monotonic()
        if self.config.output.fps and now < self._next_send:
            return  # output slower than input: drop to the output rate
        self._next_send = max(self._next_send + 1.0 / self.fps, now)
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        assert self.sink is not None
        try:
            self.sink.send(image)
        except Exception as e:
            log.error("sink: %s", e)
            return
        self.stats.sent(frame.timestamp_ms if frame is not None else None)
        self.notifier.ready(f"sending {self.size[0]}x{self.size[1]} at {self.fps:g} fps")

    # -------------------------------------------------------------- commands
    def _apply_commands(self) -> None:
        for command, reply in self.commands.drain():
            try:
                message = self._apply(command)
                ok = True
            except (BgfxError, KeyError) as e:
                message, ok = (e.args[0] if isinstance(e, KeyError) else str(e)), False
                log.error("%s: %s", command, message)
            else:
                log.info("%s: %s", command, message)
            if reply is not None:
                reply.set(ok, message)
            self._publish(force=True)

    def _apply(self, command: Command) -> str:
        assert self.pipeline is not None
        verb, arg = command.verb, command.argument
        if verb in ("model", "next-model", "previous-model"):
            name = arg or self._cycle(self.config.segmentation.models, self.pipeline.person_model, verb)
            self.pipeline.set_model(name)
            return f"model {name}"
        if verb == "toggle":
            state = self.pipeline.toggle(arg or "")
            return f"{arg} {'on' if state else 'off'}"
        if verb in ("preset", "next-preset"):
            names = ["default", *self.config.presets]
            name = arg or self._cycle(tuple(names), self.preset, verb)
            if name not in names:
                raise KeyError(f"no preset {name!r}; presets: {', '.join(names)}")
            self.pipeline.set_chain(self.config.effects if name == "default" else self.config.presets[name])
            self.preset = name
            return f"preset {name}"
        if verb in ("pause", "resume", "toggle-pause"):
            self.paused = {"pause": True, "resume": False}.get(verb, not self.paused)
            return "paused" if self.paused else "resumed"
        if verb == "reload":
            return self._reload()
        raise KeyError(f"{verb} is not applied by the live loop")

    @staticmethod
    def _cycle(names: tuple[str, ...], current: str, verb: str) -> str:
        step = -1 if verb.startswith("previous") else 1
        index = names.index(current) if current in names else -step
        return names[(index + step) % len(names)]

    def _reload(self) -> str:
        """Apply the config file again; an invalid one is reported and the running one kept."""
        new = load_config(self.options)  # ConfigError: reported, nothing changed
        items = new.effects if self.preset == "default" else new.presets.get(self.preset, new.effects)
        pipeline = self._build_pipeline(new, items, download=False)  # ModelError: reported, nothing changed
        old, self.pipeline = self.pipeline, pipeline
        if old is not None:
            old.close()
        if new.capture != self.config.capture and self.source is not None:
            self.source.close()
            self.source = None
        if new.output != self.config.output:
            log.warning("output settings change on restart only (the virtual camera stays as it is)")
        if new.hotkeys != self.config.hotkeys and self.hotkeys is not None:
            self.hotkeys.stop()
            self.hotkeys = Hotkeys(new.hotkeys, self.commands)
            self.hotkeys.start()
        self.config = replace(new, output=self.config.output)
        if self.preset not in ("default", *new.presets):
            self.preset = "default"
        return f"reloaded {new.source}"

    # ---------------------------------------------------------------- status
    def _publish(self, force: bool = False, state: str | None = None) -> None:
        now = time.monotonic()
        if not force and now - self._published < 0.5:
            return
        self._published = now
        assert self.pipeline is not None
        if state is None:
            state = "paused" if self.paused else "camera-lost" if self.camera_lost else "running"
        self._snapshot = self.stats.snapshot(
            self.pipeline, state=state, preset=self.preset, camera="open" if self.source is not None else "closed",
            readers=self.watch.readers if self.watch else None, config=self.config.source,
        )
        if not force:
            self.notifier.send(f"STATUS={state}: in {self._snapshot['fps_in']} fps, out {self._snapshot['fps_out']} fps")


def run(options: RunOptions) -> int:
    return Daemon(options).run()
