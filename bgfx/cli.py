"""`bgfx` command line: parses arguments, calls the modules, turns errors into one line and an exit status.

No traceback reaches a user: every BgfxError becomes `bgfx: error: ...` on
stderr with its exit status (78 for config errors, so systemd does not restart
into the same bad config).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bgfx.errors import BgfxError, ConfigError
from bgfx.live.control.commands import USAGE_FILE
from bgfx.live.memory import keep_large_buffers
from bgfx.live.signals import install_signal_flags
from bgfx.live.sinks import SINKS

if TYPE_CHECKING:  # a command imports the engines it runs (OpenCV, MediaPipe): `bgfx ctl` loads neither
    from bgfx.live.settings import Config

log = logging.getLogger("bgfx")


# flag → (section, key) of the config it overrides; every command reads its flags through `overrides`.
_OVERRIDING_FLAGS = {
    "input": ("capture", "device"), "sink": ("output", "sink"), "output": ("output", "path"),
    "device": ("output", "device"), "backend": ("output", "backend"), "model": ("segmentation", "model"),
}


def overrides(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    """The config values given as flags: section → key → raw value (validated like the file's)."""
    values: dict[str, dict[str, object]] = {}
    for flag, (section, key) in _OVERRIDING_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            values.setdefault(section, {})[key] = str(value) if isinstance(value, Path) else value
    return values


def load_config(path: Path | None, values: dict[str, dict[str, Any]] | None = None) -> Config:
    from bgfx import config

    return config.load(path, values)


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config, overrides(args))


def cmd_segment(args: argparse.Namespace) -> int:
    from bgfx.offline import SegmentRequest, segment_images

    request = SegmentRequest(
        images=tuple(args.images), out_dir=args.out, model=args.model,
        category_mask=args.category_mask, confidence_masks=args.confidence_masks,
        overlay=args.overlay, refine=load_config(args.config) if args.refine else None,
        locale=args.locale, rotation=args.rotation,
    )
    written = segment_images(request)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    from bgfx.offline import process_photos, process_video
    from bgfx.output_files import is_image

    pairs = _process_pairs(args.paths, args.out)
    if args.alpha_out and len(pairs) > 1:
        raise ConfigError("--alpha-out goes with one input and one output")
    config = _config(args)
    photos = [(source, target) for source, target in pairs if is_image(source)]
    if photos:
        process_photos(photos, config, alpha_out=args.alpha_out)
        print(f"wrote {len(photos)} picture{'s' if len(photos) > 1 else ''}: {', '.join(str(t) for _, t in photos)}")
    for source, target in pairs:
        if not is_image(source):
            frames = process_video(source, target, config, alpha_out=args.alpha_out, progress=not args.quiet,
                                   signals=args.signals)
            print(f"wrote {frames} frames to {target}" + (f" and the alpha to {args.alpha_out}" if args.alpha_out else ""))
    return 0


def _process_pairs(paths: list[Path], out: Path | None) -> list[tuple[Path, Path]]:
    """`INPUT OUTPUT`, or `INPUT... --out DIR` (each output named like its input, in DIR)."""
    if out is None:
        if len(paths) != 2:
            raise ConfigError(f"process takes INPUT OUTPUT, or INPUT... --out DIR; got {len(paths)} paths and no --out")
        return [(paths[0], paths[1])]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot be the output folder ({e.strerror}); choose another") from None
    return [(path, out / path.name) for path in paths]


def cmd_models(args: argparse.Namespace) -> int:
    from bgfx.vision import models
    from bgfx.vision.segmentation import verify_model

    catalog = models.load_catalog()
    if args.models_command == "list":
        print(f"{'name':18} {'state':9} {'input':8} labels / location")
        for entry in catalog.entries.values():
            state, where = _model_state(entry)
            labels = ", ".join(entry.labels)
            print(f"{entry.name:18} {state:9} {entry.input_hw[0]}x{entry.input_hw[1]:<4} {labels}\n{'':37}{where}")
        print("searched: " + ", ".join(str(d) for d in models.search_dirs()))
        return 0
    if args.models_command == "pull":
        names = list(catalog.entries) if args.all else args.names
        if not names:
            raise ConfigError("models pull: name the models to download, or give --all")
        failed = 0
        for name in names:
            entry = catalog.get(name)
            present = models.find(entry)
            if present and not args.force and _model_state(entry)[0] == "present":
                print(f"{name}: already present at {present}")
                continue
            try:
                path = models.fetch(entry, models.user_model_dir(), verify=verify_model)
                print(f"{name}: downloaded to {path}")
            except BgfxError as e:
                print(f"{name}: failed: {e}", file=sys.stderr)
                failed += 1
        return 1 if failed else 0
    if args.models_command == "import":
        outcomes = models.import_dir(args.directory, catalog, verify=verify_model)
        for name, outcome in outcomes:
            print(f"{name}: {outcome}")
        if not outcomes:
            print(f"no catalog model files found in {args.directory}", file=sys.stderr)
            return 1
        return 0
    from bgfx.bench import bench_models

    print(bench_models(catalog, image=args.image, video=args.video, frames=args.frames))
    return 0


def _model_state(entry) -> tuple[str, str]:
    """("present", path), ("missing", the pull command) or ("corrupt", the problem and its fix)."""
    from bgfx.errors import ModelError
    from bgfx.vision import models

    path = models.find(entry)
    if path is None:
        return "missing", f"(bgfx models pull {entry.name})"
    try:
        models.check_catalog_copy(path, entry)
    except ModelError as e:
        return "corrupt", str(e)
    return "present", str(path)


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from bgfx.bench import bench_pipeline, format_report

    config = _config(args)
    size = tuple(int(v) for v in args.size.lower().split("x")) if args.size else None
    report = bench_pipeline(args.video, config, frames=args.frames, size=size, live=args.mode == "live")
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import platformdirs

    from bgfx.config_edit import ConfigEditor
    from bgfx.live.daemon import RunOptions, run

    path, values = args.config or _user_config(), overrides(args)
    editor = ConfigEditor(path, platformdirs.user_config_path("bgfx") / "config.yaml", values)
    return run(RunOptions(load=editor.load, config_path=path, max_frames=args.max_frames,
                          signals=args.signals, editor=editor))


def cmd_web(args: argparse.Namespace) -> int:
    """Print the control page's address (with this start's token) and open it in the browser."""
    import json
    import webbrowser

    from bgfx.live.control.socket_server import ControlError, runtime_dir

    where = runtime_dir() / "web.json"
    try:
        page = json.loads(where.read_text())
    except (OSError, ValueError):
        raise ControlError(f"no control page: is `bgfx run` running, with live.web.enabled? ({where} is missing)") from None
    url = f"{page['url']}?token={page['token']}"
    print(url)
    if not args.no_open:
        webbrowser.open(url)
    return 0


def _user_config() -> Path | None:
    """~/.config/bgfx/config.yaml when it exists; else the shipped default is used."""
    import platformdirs

    path = platformdirs.user_config_path("bgfx") / "config.yaml"
    return path if path.is_file() else None


def cmd_ctl(args: argparse.Namespace) -> int:
    import json

    from bgfx.live.control.socket_server import request, socket_path

    answer = request(socket_path(), " ".join(args.words))
    data = answer.get("data")
    if data is not None:  # a query's answer: JSON, or a flat one (status) as aligned lines
        if args.json or any(isinstance(value, (dict, list)) for value in data.values()):
            print(json.dumps(data))
        else:
            for key, value in data.items():
                print(f"{key:18} {value}")
        return 0
    print(answer.get("message", ""), file=sys.stdout if answer.get("ok") else sys.stderr)
    return 0 if answer.get("ok") else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    from bgfx.doctor import report, run_checks

    checks = run_checks(args.config or _user_config(), overrides(args))
    print(report(checks))
    failed = [c for c in checks if c.level == "FAIL"]
    print(f"\n{len(failed)} problem(s) block `bgfx run`" if failed else "\nnothing blocks `bgfx run`")
    return 1 if failed else 0


def cmd_cameras(args: argparse.Namespace) -> int:
    from bgfx.live.cameras.listing import as_json, as_text, list_all

    listing = list_all()
    print(as_json(listing) if args.json else as_text(listing))
    return 0


def cmd_service(args: argparse.Namespace) -> int:
    from bgfx import service

    if args.service_command == "status":
        running, text = service.status()
        print(text)
        try:
            cmd_ctl(argparse.Namespace(words=["status"], json=False))
        except BgfxError as e:
            print(e)
        return 0 if running else 3  # as `systemctl status` says of a unit that is not running
    for line in (service.install() if args.service_command == "install" else service.uninstall()):
        print(line)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    import platformdirs

    target = args.path or platformdirs.user_config_path("bgfx") / "config.yaml"
    if target.exists() and not args.force:
        raise ConfigError(f"{target} exists already; give --force to overwrite it")
    from bgfx.config import default_path
    from bgfx.service import write_private

    try:  # the user's own settings: 0600 in a 0700 folder, whatever the umask
        write_private(target, default_path().read_text(encoding="utf-8"), 0o600, 0o700)
    except OSError as e:
        raise ConfigError(f"{target}: cannot be written ({e.strerror}); choose another --path") from None
    print(f"wrote {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bgfx", description="Background effects for a Linux virtual camera.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (debug)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_file_commands, _model_commands, _live_commands, _setup_commands):
        add(sub)
    return parser


def _file_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("segment", help="segment still images (IMAGE mode) into mask PNGs")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--model", default="selfie_landscape", help="catalog name or .tflite path")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--category-mask", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--confidence-masks", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--overlay", action="store_true", help="also write the masks coloured over the image")
    p.add_argument("--refine", action="store_true", help="write the refined person mask (guided upsampling)")
    p.add_argument("--config", type=Path, help="config for --refine's settings (default: the shipped one)")
    p.add_argument("--locale", default="en", help="display-name locale of the labels")
    p.add_argument("--rotation", type=int, choices=(0, 90, 180, 270), default=0)
    p.set_defaults(func=cmd_segment)

    p = sub.add_parser("process", help="apply the effect chain to photos (IMAGE mode) or videos (VIDEO mode)",
                       description="bgfx process INPUT OUTPUT, or bgfx process INPUT... --out DIR. A photo "
                       "(.png .jpg .webp .bmp .tif) becomes a picture of the type OUTPUT's extension names; a video "
                       "becomes .mp4, .mkv, .mov, .avi or .webm. Outputs appear only when complete.")
    p.add_argument("paths", metavar="PATH", nargs="+", type=Path, help="INPUT OUTPUT, or inputs with --out")
    p.add_argument("--out", type=Path, help="write each output into this folder, named like its input")
    p.add_argument("--config", type=Path)
    p.add_argument("--model", help="person model (overrides the config)")
    p.add_argument("--alpha-out", type=Path, help="also write the final person alpha (a grey video, or a picture)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_process)


def _model_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, download, import or benchmark models")
    msub = p.add_subparsers(dest="models_command", required=True)
    msub.add_parser("list", help="models by name, present or missing, and where")
    pull = msub.add_parser("pull", help="download models (verified) into the user model folder")
    pull.add_argument("names", nargs="*")
    pull.add_argument("--all", action="store_true")
    pull.add_argument("--force", action="store_true", help="download even when present")
    imp = msub.add_parser("import", help="copy verified model files from a folder")
    imp.add_argument("directory", type=Path)
    mb = msub.add_parser("bench", help="latency per frame of every present model")
    mb.add_argument("--image", type=Path, help="a photo (fitted to 1280x720)")
    mb.add_argument("--video", type=Path, help="a video for LIVE_STREAM mode")
    mb.add_argument("--frames", type=int, default=60)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("bench", help="time the live path per stage on a video file")
    p.add_argument("--input", dest="video", metavar="VIDEO", type=Path, required=True)
    p.add_argument("--config", type=Path)
    p.add_argument("--model")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--size", help="resize frames to WxH first, e.g. 1280x720")
    p.add_argument("--mode", choices=("video", "live"), default="video", help="segmentation running mode")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)


def _live_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="the live daemon: camera → effects → virtual camera")
    p.add_argument("--config", type=Path, help="default: ~/.config/bgfx/config.yaml, else the shipped default")
    p.add_argument("--input", help="camera (/dev/videoN or index) or a video file, looped (overrides capture.device)")
    p.add_argument("--sink", choices=tuple(SINKS), help="; ".join(f"{k.name}: {k.about}" for k in SINKS.values()))
    p.add_argument("--output", type=Path, help="the file sink's path")
    p.add_argument("--device", help="virtual camera device, e.g. /dev/video10")
    p.add_argument("--backend", help="pyvirtualcam backend")
    p.add_argument("--model", help="person model (overrides the config)")
    p.add_argument("--max-frames", type=int, help="stop after sending this many frames")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ctl", help="control a running daemon (status, model NAME, toggle EFFECT, ...)",
                       epilog="commands:\n" + USAGE_FILE.read_text(encoding="utf-8"), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("words", nargs="+", help="a command and its argument (listed below)")
    p.add_argument("--json", action="store_true", help="status as one JSON object")
    p.set_defaults(func=cmd_ctl)

    p = sub.add_parser("web", help="open the control page of the running daemon (prints its address)")
    p.add_argument("--no-open", action="store_true", help="print the address only")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("doctor", help="check camera, virtual camera, models, config and hotkeys; explain fixes")
    p.add_argument("--config", type=Path)
    p.add_argument("--input", help="camera or video file to check instead of capture.device")
    p.add_argument("--sink", choices=tuple(SINKS), help="the sink to check instead of output.sink")
    p.add_argument("--backend", help="pyvirtualcam backend to check instead of v4l2loopback")
    p.add_argument("--device", help="virtual camera device")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("cameras", help="list the cameras (V4L2 and PipeWire): formats, sizes, rates, controls, "
                       "and the capture.device value of each")
    p.add_argument("--json", action="store_true", help="the listing as one JSON object")
    p.set_defaults(func=cmd_cameras)


def _setup_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("service", help="the systemd user unit")
    ssub = p.add_subparsers(dest="service_command", required=True)
    ssub.add_parser("install", help="write the unit with this bgfx's path, reload and enable it")
    ssub.add_parser("uninstall", help="disable and remove the unit")
    ssub.add_parser("status", help="the unit's state and the daemon's own status")
    p.set_defaults(func=cmd_service)

    p = sub.add_parser("config", help="config files")
    csub = p.add_subparsers(dest="config_command", required=True)
    init = csub.add_parser("init", help="write a commented copy of the default config")
    init.add_argument("--path", type=Path, help="default: ~/.config/bgfx/config.yaml")
    init.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_config)


_WITHOUT_OPENCV = ("ctl", "web", "service")  # talk to the daemon or systemd: no OpenCV to quieten, a fast start


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Before anything slow (MediaPipe's import, the model load): an early SIGHUP or SIGTERM is never fatal.
    args.signals = install_signal_flags(reload=args.command == "run") if args.command in ("run", "process") else None
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command not in _WITHOUT_OPENCV:
        try:
            import cv2
        except ImportError as e:  # a machine without a desktop's X and GL libraries (a server, a container)
            print(f"bgfx: error: OpenCV cannot load: {e}; a desktop has these libraries, elsewhere install them: "
                  "sudo apt install libgl1 libxcb1 libglib2.0-0", file=sys.stderr)  # fmt: skip
            return 69  # EX_UNAVAILABLE
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_DEBUG if args.verbose else cv2.utils.logging.LOG_LEVEL_ERROR)
    if args.command in ("run", "process", "bench", "models"):
        keep_large_buffers()
    try:
        return args.func(args)
    except BgfxError as e:
        print(f"bgfx: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
