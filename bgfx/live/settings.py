"""The daemon's settings: what `bgfx run` reads from the config file, as frozen dataclasses.

Each section's fields are its schema (field metadata: `range` = (lo, hi),
`choices` = allowed values, `parse` = converter of the raw value); `bgfx.config`
validates YAML against them. `Config` gathers every section, the vision wing's
among them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bgfx.live.cameras.controls import parse_controls
from bgfx.live.sinks import SINKS
from bgfx.live.sinks.pipewire import parse_description, parse_node_name
from bgfx.vision.effects import ChainItem
from bgfx.vision.imaging import parse_colour, picture_size
from bgfx.vision.segmentation_settings import SegmentationSettings
from bgfx.vision.refine import RefineSettings
from bgfx.vision.framing_settings import FramingSettings


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """device: /dev/videoN, a camera index, `pipewire` (the first PipeWire camera) or `pipewire:NODE`, or a video
    file (paced at its own rate, looped; an MJPEG one through the MJPEG camera path). controls: V4L2 camera
    controls by V4L2's names (`bgfx cameras` lists a camera's) → whole number, true/false or menu item, set at open
    and on reload (`bgfx.live.cameras.controls`); ignored, with a warning, for other inputs."""

    device: str = "/dev/video0"
    width: int = field(default=1280, metadata={"range": (16, 7680)})
    height: int = field(default=720, metadata={"range": (16, 4320)})
    fps: float = field(default=30.0, metadata={"range": (1.0, 240.0)})
    fourcc: str = "MJPG"
    controls: dict[str, int | bool | str] = field(default_factory=dict, metadata={"parse": parse_controls})

    def __post_init__(self) -> None:
        if self.controls is None:  # `controls:` left empty in the file
            object.__setattr__(self, "controls", {})


def parse_size(value: object) -> tuple[int, int]:
    """A frame size: "1280x720" or [1280, 720] → (width, height) in pixels, each 16..7680."""
    parts = value.lower().split("x") if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or len(parts) != 2:
        raise ValueError(f"must be WIDTHxHEIGHT (e.g. 1280x720) or [width, height], got {value!r}")
    try:
        width, height = (int(part) for part in parts)
    except (TypeError, ValueError):
        raise ValueError(f"must be whole numbers of pixels (e.g. 1280x720), got {value!r}") from None
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise ValueError(f"must be 16..7680 x 16..4320 pixels, got {width}x{height}")
    return width, height


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """sink: a registered sink kind (`bgfx.live.sinks.SINKS`); device: e.g. /dev/video10 (None = the first
    loopback device); backend: a pyvirtualcam backend name; path: the file sink's output; fps: None = the capture's;
    size: (width, height) sent, None = the capture's (capture at 1080p, send 720p: the composite is scaled once);
    node_name, node_description: the pipewire sink's node (what readers target, what apps list)."""

    sink: str = field(default="virtualcam", metadata={"choices": tuple(SINKS)})
    device: str | None = None
    backend: str | None = None
    path: Path | None = None
    fps: float | None = field(default=None, metadata={"range": (1.0, 240.0)})
    size: tuple[int, int] | None = field(default=None, metadata={"parse": parse_size})
    node_name: str = field(default="bgfx", metadata={"parse": parse_node_name})
    node_description: str = field(default="bgfx virtual camera", metadata={"parse": parse_description})


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The control page (`bgfx web`): enabled; host: where it listens, a loopback address unless allow_remote
    (a page that steers your camera must not be reachable from the network by accident); port: tried first,
    a free one when it is taken (0: always a free one)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = field(default=8790, metadata={"range": (0, 65535)})
    allow_remote: bool = False

    def __post_init__(self) -> None:
        if self.host not in LOOPBACK and not self.allow_remote:
            raise ValueError(
                f"host: {self.host!r} is not a loopback address; the control page listens on 127.0.0.1 or ::1 "
                "unless `allow_remote: true` says otherwise (anyone who reaches it steers your camera)"
            )


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """max_mask_age_ms: reuse the newest mask up to this age, then `stale`: blur (the last good picture for a
    moment, then the live frame blurred whole), card (the pause card) or passthrough (the camera as is);
    on_demand: keep the camera closed until an app reads the output; release_after_s: idle delay;
    watch_config: apply the config file when it is saved (as `bgfx ctl reload` does);
    opencv_threads: OpenCV's thread pool (1 costs least CPU per frame); cpu_budget: cores the daemon may
    spend before it steps its effort down (`bgfx.live.governor`; 0: no limit); web: the control page."""

    max_mask_age_ms: int = field(default=500, metadata={"range": (0, 60000)})
    stale: Literal["blur", "card", "passthrough"] = "blur"
    on_demand: bool = False
    release_after_s: float = field(default=5.0, metadata={"range": (0.0, 3600.0)})
    watch_config: bool = True
    opencv_threads: int = field(default=1, metadata={"range": (0, 64)})
    cpu_budget: float = field(default=0.25, metadata={"range": (0.0, 64.0)})
    web: WebSettings = WebSettings()


@dataclass(frozen=True, slots=True)
class PauseSettings:
    """What a paused (or camera-lost) stream shows: the blurred last frame, an image, or a colour (BGR)."""

    show: Literal["blur", "image", "colour"] = "blur"
    image: Path | None = None
    colour: tuple[int, int, int] = field(default=(40, 40, 40), metadata={"parse": parse_colour})
    release_camera: bool = True

    def __post_init__(self) -> None:
        if self.image is not None:
            try:
                picture_size(self.image)  # a FIFO would hang the loop, a bomb would fill memory: refused here
            except ValueError as e:
                raise ValueError(f"image: {e}") from None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated config file; `source` names the file (for messages)."""

    source: str
    segmentation: SegmentationSettings
    refine: RefineSettings
    effects: tuple[ChainItem, ...]
    presets: dict[str, tuple[ChainItem, ...]]
    capture: CaptureSettings
    output: OutputSettings
    live: LiveSettings
    pause: PauseSettings
    hotkeys: dict[str, str]
    framing: FramingSettings = FramingSettings()

    def chain(self, preset: str) -> tuple[ChainItem, ...]:
        """The effects of a preset by name (`default` is the `effects` list)."""
        return self.effects if preset == "default" else self.presets[preset]

    @property
    def preset_names(self) -> tuple[str, ...]:
        return ("default", *self.presets)
