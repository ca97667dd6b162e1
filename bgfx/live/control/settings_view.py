"""The `settings` verb's answer: what runs now, as JSON a page can build its controls from.

Each effect of the running chain with its type, on/off state and parameters,
each parameter with what a control needs: its kind (int, float, colour, path,
choice, bool), its value and its range or choices, read from the schema's
field metadata, the same the config file is validated by; and the camera's own controls as it has them now
(`controls`: what capture.controls may set).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bgfx.live.cameras.controls import view as controls_view
from bgfx.live.capture import takes_controls
from bgfx.vision.effects import EFFECTS

if TYPE_CHECKING:
    from bgfx.live.settings import Config
    from bgfx.vision.pipeline import Pipeline

TYPE_OF = {cls: name for name, cls in EFFECTS.items()}


def describe(config: Config, pipeline: Pipeline, *, preset: str, paused: bool, unsaved: bool) -> dict:
    chain = pipeline.chain
    effects = [
        {"name": item.name, "type": TYPE_OF.get(type(item.effect), "?"), "enabled": chain.enabled[item.name],
         "params": parameters(item.effect)}
        for item in chain.items
    ]  # fmt: skip
    return {
        "source": config.source, "unsaved": unsaved, "paused": paused, "preset": preset,
        "presets": list(config.preset_names), "model": pipeline.person_model,
        "models": list(config.segmentation.models), "effects": effects,
        "refine": parameters(config.refine, skip=("enabled",)), "effect_types": list(EFFECTS),
        "controls": controls_view(device if takes_controls(device := config.capture.device) else None,
                                  config.capture.controls),
        "framing": parameters(config.framing), "framing_now": pipeline.framing.mode,
    }  # fmt: skip


def parameters(settings: Any, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """field → {kind, value, range | choices} of a frozen settings dataclass."""
    hints = typing.get_type_hints(type(settings))
    described = {}
    for field in dataclasses.fields(settings):
        if not field.init or field.name.startswith("_") or field.name in skip:
            continue
        described[field.name] = _control(hints[field.name], field.metadata, getattr(settings, field.name))
    return described


def _control(hint: Any, metadata: Any, value: Any) -> dict[str, Any]:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    inner = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
    if "range" in metadata:
        low, high = metadata["range"]
        return {"kind": "float" if isinstance(low, float) or inner is float else "int", "value": value, "range": [low, high]}
    if typing.get_origin(inner) is Literal:
        return {"kind": "choice", "value": value, "choices": list(typing.get_args(inner))}
    if isinstance(value, tuple) and len(value) == 3 and all(isinstance(part, int) for part in value):
        blue, green, red = value
        return {"kind": "colour", "value": f"#{red:02X}{green:02X}{blue:02X}"}
    if inner is bool:
        return {"kind": "bool", "value": value}
    if inner is Path or isinstance(value, Path):
        return {"kind": "path", "value": None if value is None else str(value)}
    if "parse" in metadata:  # a colour not given (replace with an image)
        return {"kind": "colour", "value": None}
    return {"kind": "text", "value": value if isinstance(value, (int, float, str)) or value is None else str(value)}
