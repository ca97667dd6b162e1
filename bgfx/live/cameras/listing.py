"""`bgfx cameras` (and `bgfx doctor`'s camera check): every camera here, and the `capture.device` that selects it.

V4L2 nodes (/dev/video*) are asked through the ioctl layer (`v4l2`) for their
formats, frame sizes and rates, and their controls (`controls`); v4l2loopback
devices (bgfx's own output among them) are named as outputs, not cameras, and
metadata nodes (a UVC camera's second node) are left out. PipeWire camera nodes
come from `pw-dump` (Video/Source, bgfx's own sink node left out, as the
PipeWire input never takes it). No camera, or no PipeWire session, is one line
each, never an error.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import shutil
import subprocess
from dataclasses import dataclass

from bgfx.live.cameras import v4l2
from bgfx.live.cameras.controls import ControlInfo, query
from bgfx.live.cameras.pipewire_source import camera_nodes

LOOPBACK_DRIVER = "v4l2 loopback"


@dataclass(frozen=True, slots=True)
class Format:
    """One pixel format: fourcc (MJPG, YUYV), V4L2's description, and its sizes as (width, height, fps rates)."""

    fourcc: str
    description: str
    sizes: tuple[tuple[int, int, tuple[float, ...]], ...]


@dataclass(frozen=True, slots=True)
class V4l2Camera:
    device: str
    card: str
    driver: str
    bus: str
    formats: tuple[Format, ...]
    controls: tuple[ControlInfo, ...]


@dataclass(frozen=True, slots=True)
class PipeWireNode:
    """device: the capture.device value (pipewire:NODE); v4l2: the V4L2 node PipeWire reads it from, if any."""

    device: str
    description: str
    mjpeg: bool
    formats: tuple[str, ...]
    v4l2: str | None


@dataclass(frozen=True, slots=True)
class Listing:
    """notes: one line each for what could not be listed (no camera, no PipeWire session, a node not readable)."""

    cameras: tuple[V4l2Camera, ...]
    outputs: tuple[str, ...]
    pipewire: tuple[PipeWireNode, ...]
    notes: tuple[str, ...]


def _fourcc(code: int) -> str:
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip()


def _rates(fd: int, pixel_format: int, width: int, height: int) -> tuple[float, ...]:
    rates = []
    for answer in v4l2.enumerate_all(fd, v4l2.VIDIOC_ENUM_FRAMEINTERVALS, v4l2.FrameInterval,
                                     pixel_format=pixel_format, width=width, height=height):
        fraction = answer.interval.discrete if answer.type == v4l2.FRMIVAL_DISCRETE else answer.interval.stepwise.min
        if fraction.numerator:
            rates.append(round(fraction.denominator / fraction.numerator, 2))
    return tuple(rates)


def formats(fd: int) -> tuple[Format, ...]:
    """ENUM_FMT, then ENUM_FRAMESIZES and ENUM_FRAMEINTERVALS of each (a stepwise size as its largest)."""
    found = []
    for desc in v4l2.enumerate_all(fd, v4l2.VIDIOC_ENUM_FMT, v4l2.FormatDesc, type=v4l2.BUF_TYPE_VIDEO_CAPTURE):
        sizes = []
        for answer in v4l2.enumerate_all(fd, v4l2.VIDIOC_ENUM_FRAMESIZES, v4l2.FrameSize, pixel_format=desc.pixelformat):
            if answer.type == v4l2.FRMSIZE_DISCRETE:
                width, height = answer.size.discrete.width, answer.size.discrete.height
            else:
                width, height = answer.size.stepwise.max_width, answer.size.stepwise.max_height
            sizes.append((width, height, _rates(fd, desc.pixelformat, width, height)))
        found.append(Format(_fourcc(desc.pixelformat), v4l2.text(desc.description), tuple(sizes)))
    return tuple(found)


def _node(device: str) -> V4l2Camera | str | None:
    """The camera at `device`; "output" for a loopback or output-only node; None for a metadata node."""
    with v4l2.opened(device) as fd:
        cap = v4l2.Capability()
        v4l2.ioctl(fd, v4l2.VIDIOC_QUERYCAP, cap)
        caps = cap.device_caps if cap.capabilities & v4l2.CAP_DEVICE_CAPS else cap.capabilities
        card = v4l2.text(cap.card)
        if v4l2.text(cap.driver) == LOOPBACK_DRIVER or caps & v4l2.CAP_VIDEO_OUTPUT and not caps & v4l2.CAP_VIDEO_CAPTURE:
            return f"{device}: an output ({v4l2.text(cap.driver)} \"{card}\"), not a camera"
        if not caps & (v4l2.CAP_VIDEO_CAPTURE | v4l2.CAP_VIDEO_CAPTURE_MPLANE):
            return None  # a metadata node (caps META_CAPTURE), or a codec
        return V4l2Camera(device, card, v4l2.text(cap.driver), v4l2.text(cap.bus_info), formats(fd),
                          tuple(query(fd).values()))


def _v4l2_nodes() -> tuple[list[V4l2Camera], list[str], list[str]]:
    cameras, outputs, notes = [], [], []
    paths = sorted(v4l2.DEV.glob("video*"), key=lambda p: (len(p.name), p.name))
    for path in paths:
        device = f"/dev/{path.name}"
        try:
            node = _node(device)
        except OSError as e:
            group = "; add yourself to the video group" if e.errno == errno.EACCES else ""
            notes.append(f"{device}: cannot be asked ({e.strerror}){group}")
            continue
        if isinstance(node, V4l2Camera):
            cameras.append(node)
        elif node is not None:
            outputs.append(node)
    if not cameras:
        notes.append("V4L2: no camera (no /dev/video* node that captures)" + (" besides outputs" if outputs else ""))
    return cameras, outputs, notes


def _pipewire_nodes(env: dict[str, str] | None) -> tuple[list[PipeWireNode], list[str]]:
    if shutil.which("pw-dump", path=(env or {}).get("PATH")) is None:
        return [], ["PipeWire: pw-dump is not installed (package pipewire-bin or pipewire), so PipeWire cameras are not listed"]
    try:
        result = subprocess.run(["pw-dump", "--no-colors"], capture_output=True, timeout=10, env=env)
        dump = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        dump = None
    if not isinstance(dump, list):
        return [], ["PipeWire: no session answers (pw-dump failed), so PipeWire cameras are not listed"]
    nodes = []
    for props in camera_nodes(dump):
        nodes.append(PipeWireNode(f"pipewire:{props.get('node.name')}", str(props.get("node.description", "")),
                                  bool(props["bgfx.mjpeg"]), tuple(props.get("bgfx.formats", ())),
                                  props.get("api.v4l2.path")))
    return nodes, [] if nodes else ["PipeWire: no camera node"]


def list_all(env: dict[str, str] | None = None) -> Listing:
    """Every V4L2 node and PipeWire camera node; `env` for pw-dump (a test's private session)."""
    cameras, outputs, notes = _v4l2_nodes()
    pipewire, pipewire_notes = _pipewire_nodes(env)
    return Listing(tuple(cameras), tuple(outputs), tuple(pipewire), tuple(notes + pipewire_notes))


def as_json(listing: Listing) -> str:
    return json.dumps(dataclasses.asdict(listing))


def _size_text(size: tuple[int, int, tuple[float, ...]]) -> str:
    width, height, rates = size
    return f"{width}x{height}" + (f"@{'/'.join(f'{rate:g}' for rate in rates)}" if rates else "")


def camera_lines(camera: V4l2Camera) -> list[str]:
    """A V4L2 camera as text: heading with its capture.device, a line per format, then its controls."""
    lines = [f"{camera.device}: {camera.card} ({camera.driver}, {camera.bus})  capture.device: {camera.device}"]
    for fmt in camera.formats:
        lines.append(f"  {fmt.fourcc} ({fmt.description}): {', '.join(_size_text(size) for size in fmt.sizes)}")
    if camera.controls:
        lines.append("  controls (capture.controls):")
    for info in camera.controls:
        state = " (set by an automatic mode now)" if info.inactive else " (read-only)" if info.read_only else ""
        lines.append(f"    {info.name:32} {info.kind:4} {info.choices()}; default {info.default}, now {info.value}{state}")
    return lines


def as_text(listing: Listing) -> str:
    lines: list[str] = []
    for camera in listing.cameras:
        lines += camera_lines(camera)
    lines += listing.outputs
    for node in listing.pipewire:
        same = f"; the same camera as {node.v4l2}" if node.v4l2 else ""
        kinds = ", ".join(node.formats) or ("MJPEG" if node.mjpeg else "raw")
        lines.append(f"{node.device}: {node.description} (PipeWire: {kinds}{same})  capture.device: {node.device}")
    return "\n".join(lines + list(listing.notes))


def summary(camera: V4l2Camera) -> str:
    """One line for doctor: the formats with their largest size and its rates."""
    best = [f"{fmt.fourcc} {_size_text(max(fmt.sizes, key=lambda s: s[0] * s[1]))}" for fmt in camera.formats if fmt.sizes]
    return f"{camera.device} {camera.card}: {', '.join(best) or 'no formats'}; {len(camera.controls)} controls"
