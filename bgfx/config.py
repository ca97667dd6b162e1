"""YAML config → frozen dataclasses, with every error of a file reported at once.

`yaml.safe_load` once; each section is a frozen dataclass whose fields are the
schema (field metadata: `range` = (lo, hi), `choices` = allowed values, `parse`
= converter of the raw value), owned by the wing that uses it: segmentation,
refinement and effects by `bgfx.vision`, the rest by `bgfx.live.settings`.
Errors carry their key path (`effects[0].strength: must be 1..100, got 0`);
unknown keys are errors. Raw dicts never leave this module.
"""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from bgfx.errors import CommandError, ConfigError
from bgfx.live.control.verbs import VERBS, parse_command
from bgfx.live.control.hotkeys import check_combination
from bgfx.live.settings import (
    CaptureSettings,
    Config,
    LiveSettings,
    OutputSettings,
    PauseSettings,
)
from bgfx.shipped import shipped_file
from bgfx.vision.effects import EFFECTS, ChainItem
from bgfx.vision.models import is_path, load_catalog
from bgfx.vision.segmentation_settings import SegmentationSettings
from bgfx.vision.refine import RefineSettings
from bgfx.vision.framing_settings import FramingSettings

_SECTIONS: dict[str, type] = {
    "segmentation": SegmentationSettings,
    "refine": RefineSettings,
    "capture": CaptureSettings,
    "output": OutputSettings,
    "live": LiveSettings,
    "pause": PauseSettings,
    "framing": FramingSettings,
}
_TOP_KEYS = (*_SECTIONS, "effects", "presets", "hotkeys")


MAX_BYTES = 1 << 20  # a config file is a page of YAML; anything larger is a mistake or an attack
MAX_NODES = 100_000  # values after expanding YAML aliases (a "billion laughs" file expands to billions)
_FROM_SHIPPED = ("effects", "presets", "hotkeys")  # missing (or null) in a user's file: the shipped ones

log = logging.getLogger(__name__)


def default_path() -> Path:
    return shipped_file("default.yaml")


def load(path: Path | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    """Read and validate a config file (the shipped default when None); raise ConfigError with all errors.

    A user's file is laid over the shipped default: a section it leaves out is the default one, so a file
    without `effects:` still hides the room. overrides: section -> key -> raw value (the CLI's --model etc.).
    """
    path = Path(path or default_path())
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if isinstance(raw, dict) and path.resolve() != default_path().resolve():
        raw = with_shipped(raw)
    config = parse(raw, str(path), path.resolve().parent, overrides)
    if not config.effects:
        log.warning("%s: no effects: the camera goes out as is", path)
    return config


def with_shipped(raw: dict[str, Any]) -> dict[str, Any]:
    """A user's top level with the shipped default's effects, presets and hotkeys laid under it where it has
    none (or null): the one layering policy, for loading and for checking an edit before it is saved."""
    shipped = read_yaml(default_path())
    return {**raw, **{key: shipped[key] for key in _FROM_SHIPPED if raw.get(key) is None}}


def read_yaml(path: Path) -> Any:
    """The file's YAML as plain values; ConfigError (one line naming the file and the fix) for anything else."""
    try:
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file (or not a regular file); check the path")
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror}); check the path and its permissions") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: over {MAX_BYTES // 1024} KiB, too large for a config file; is it the right file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (a bad byte on line {line}); save the file as UTF-8") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {_short(str(getattr(e, 'problem', e)))}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    _check_expanded_size(raw, path)
    return raw


def _check_expanded_size(raw: Any, path: Path) -> None:
    """Count values as validation will see them (aliases expanded), without recursion; stop past MAX_NODES."""
    pending, seen = [raw], 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ConfigError(f"{path}: over {MAX_NODES} values once its aliases (&/*) are expanded; "
                              "a config file needs far fewer")
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def parse(raw: Any, source: str, base_dir: Path, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    errors: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {_kind(raw)}")
    for key in raw:
        if key not in _TOP_KEYS:
            errors.append(f"{_short(str(key))}: unknown key; allowed: {', '.join(_TOP_KEYS)}")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        section_raw = raw.get(name) or {}
        if isinstance(section_raw, dict):
            section_raw = {**section_raw, **(overrides or {}).get(name, {})}
        sections[name] = build(cls, section_raw, name, errors, base_dir)
    if sections["segmentation"] is not None:
        check_models(sections["segmentation"], errors)
    effects = build_chain(raw.get("effects", []), "effects", errors, base_dir)
    presets = build_presets(raw.get("presets") or {}, errors, base_dir)
    hotkeys = build_hotkeys(raw.get("hotkeys") or {}, errors)
    if errors:
        listing = "\n".join(f"  {_short(e, 300)}" for e in errors)
        raise ConfigError(f"{source}: {len(errors)} error{'s' if len(errors) > 1 else ''}:\n{listing}")
    return Config(source=source, effects=effects, presets=presets, hotkeys=hotkeys, **sections)


def check_models(settings: SegmentationSettings, errors: list[str]) -> None:
    """Every model named must be a catalog name or a .tflite path, whatever the chain needs now."""
    names = load_catalog().entries
    for key, name in [("model", settings.model), ("hair_model", settings.hair_model),
                      *((f"models[{i}]", model) for i, model in enumerate(settings.models))]:
        if not is_path(name) and name not in names:
            errors.append(f"segmentation.{key}: unknown model {_short(name)!r}; choose one of {', '.join(names)} "
                          "or give the path of a .tflite segmenter")
    if not settings.models:
        errors.append("segmentation.models: must list at least one model (next-model cycles through them)")


def build_presets(raw: Any, errors: list[str], base_dir: Path) -> dict[str, tuple[ChainItem, ...]]:
    if not isinstance(raw, dict):
        errors.append(f"presets: must be a mapping of name to effect list, got {_kind(raw)}")
        return {}
    return {str(name): build_chain(chain, f"presets.{name}", errors, base_dir) for name, chain in raw.items()}


def build_chain(raw: Any, path: str, errors: list[str], base_dir: Path) -> tuple[ChainItem, ...]:
    """An effect list: each item {type: NAME, name?: str, enabled?: bool, ...parameters}."""
    if not isinstance(raw, list):
        errors.append(f"{path}: must be a list of effects, got {_kind(raw)}")
        return ()
    items: list[ChainItem] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a mapping with a `type`, got {_kind(item)}")
            continue
        params = dict(item)
        kind = params.pop("type", None)
        name = params.pop("name", kind)
        enabled = params.pop("enabled", True)
        if not isinstance(kind, str) or kind not in EFFECTS:
            got = "nothing" if kind is None else _short(repr(kind))
            errors.append(f"{where}.type: unknown effect {got}; valid: {', '.join(EFFECTS)}")
            continue
        if not isinstance(name, str) or not name:
            errors.append(f"{where}.name: must be a non-empty string, got {_kind(name)}")
            continue
        if name in seen:
            errors.append(f"{where}.name: {name!r} is used twice; give each effect of a chain its own name")
        seen.add(name)
        if not isinstance(enabled, bool):
            errors.append(f"{where}.enabled: must be true or false, got {_kind(enabled)}")
        effect = build(EFFECTS[kind], params, where, errors, base_dir)
        if effect is not None:
            items.append(ChainItem(name=name, enabled=bool(enabled), effect=effect))
    return tuple(items)


def build_hotkeys(raw: Any, errors: list[str]) -> dict[str, str]:
    if not isinstance(raw, dict):
        errors.append(f"hotkeys: must map key combinations to commands, got {_kind(raw)}")
        return {}
    hotkeys = {}
    for combo, command in raw.items():
        where = f"hotkeys.{_short(str(combo))}"
        try:
            check_combination(str(combo))
        except ValueError as e:
            errors.append(f"{where}: {e}")
            continue
        try:
            verb = parse_command(str(command)).verb
            if VERBS[verb].query:
                raise CommandError(f"{verb} has no effect from a hotkey; bind it to a command that changes something")
        except CommandError as e:
            errors.append(f"{where}: {e}")
            continue
        hotkeys[str(combo)] = str(command)
    return hotkeys


def build(cls: type, raw: Any, path: str, errors: list[str], base_dir: Path) -> Any:
    """Construct dataclass `cls` from a raw mapping, appending 'path.key: problem' lines to errors."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{path}: must be a mapping, got {_kind(raw)}")
        return None
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
    hints = typing.get_type_hints(cls)
    before = len(errors)
    for key in raw:
        if key not in fields:
            errors.append(f"{path}.{key}: unknown key; allowed: {', '.join(fields) or 'none'}")
    values = {}
    for name, f in fields.items():
        if name not in raw:
            continue
        if dataclasses.is_dataclass(hints[name]):  # a nested section, e.g. live.web
            nested = build(hints[name], raw[name], f"{path}.{name}", errors, base_dir)
            if nested is not None:
                values[name] = nested
            continue
        try:
            values[name] = _convert(raw[name], hints[name], f.metadata, base_dir)
        except ValueError as e:
            errors.append(f"{path}.{name}: {e}")
    if len(errors) > before:
        return None
    try:
        return cls(**values)
    except ValueError as e:  # a constructor's own check; "key: problem" points at that key
        key, separator, problem = str(e).partition(": ")
        errors.append(f"{path}.{key}: {problem}" if separator and key in fields else f"{path}: {e}")
        return None


def _convert(value: Any, hint: Any, metadata: Any, base_dir: Path) -> Any:
    if "parse" in metadata:
        return None if value is None else metadata["parse"](value)
    converted = _convert_type(value, hint, base_dir)
    if "choices" in metadata and converted not in metadata["choices"]:
        raise ValueError(f"must be one of {', '.join(map(str, metadata['choices']))}, got {_short(repr(value))}")
    if "range" in metadata and converted is not None:
        low, high = metadata["range"]
        if not low <= converted <= high:
            raise ValueError(f"must be {low}..{high}, got {_short(str(value))}")
    return converted


def _convert_type(value: Any, hint: Any, base_dir: Path) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert_type(value, inner, base_dir)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"must be one of {', '.join(map(str, args))}, got {_short(repr(value))}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"must be a list, got {_kind(value)}")
        return tuple(_convert_type(v, args[0], base_dir) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {_kind(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, got {_kind(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number, got {_kind(value)}")
        return float(value)
    if hint is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {_kind(value)}")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be a file path, got {_kind(value)}")
        path = Path(value).expanduser()
        return path if path.is_absolute() else base_dir / path
    raise TypeError(f"config schema uses an unsupported type {hint!r}")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return f"{type(value).__name__} {_short(repr(value))}"


def _short(text: str, limit: int = 100) -> str:
    """User text quoted in an error, cut to `limit` characters: a huge value never makes a huge message."""
    return text if len(text) <= limit else text[:limit] + "…"
