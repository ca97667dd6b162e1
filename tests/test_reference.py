"""The generated references match the schemas, and config/default.yaml spells out every schema default."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import yaml

from bgfx import config, reference
from bgfx.vision.effects import EFFECTS

DEFAULT_YAML = Path(__file__).resolve().parent.parent / "config" / "default.yaml"


def test_the_committed_references_are_the_generated_ones():
    for path, expected in reference.targets().items():
        assert path.read_text(encoding="utf-8") == expected, (
            f"{path} is out of date: run `python -m bgfx.reference` and commit it"
        )


def test_the_reference_lists_every_field_and_verb():
    text = reference.configuration_reference() + reference.command_reference()
    for name, schema in config._SECTIONS.items():
        for field in dataclasses.fields(schema):
            assert f"`{name}.{field.name}" in text
    for name in EFFECTS:
        assert f"### `{name}`" in text
    for verb in reference.TABLE:
        assert f"| `{verb.name}` |" in text


def test_splicing_replaces_only_the_generated_part():
    text = f"intro\n\n{reference.BEGIN}\nold\n{reference.END}\nafter\n"
    assert reference.spliced(text, "new\n") == f"intro\n\n{reference.BEGIN}\nnew\n{reference.END}\nafter\n"
    assert reference.spliced("intro\n", "new\n") == f"intro\n\n{reference.BEGIN}\nnew\n{reference.END}\n"


def _leaf_keys(schema: type, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    hints = typing.get_type_hints(schema)
    keys = []
    for field in dataclasses.fields(schema):
        if not field.init or field.name.startswith("_"):
            continue
        if dataclasses.is_dataclass(hints[field.name]):
            keys += _leaf_keys(hints[field.name], (*prefix, field.name))
        else:
            keys.append((*prefix, field.name))
    return keys


def _lookup(root: object, path: tuple[str, ...]) -> object:
    for part in path:
        root = getattr(root, part)
    return root


def test_default_yaml_names_every_schema_field():
    raw = yaml.safe_load(DEFAULT_YAML.read_text(encoding="utf-8"))
    missing = []
    for section, schema in config._SECTIONS.items():
        for key in _leaf_keys(schema, (section,)):
            node = raw
            for part in key:
                node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
            if node is KeyError:
                missing.append(".".join(key))
    assert missing == [], f"config/default.yaml lacks {missing}"


def test_default_yaml_values_are_the_dataclass_defaults():
    loaded = config.load(DEFAULT_YAML)
    differing = []
    for section, schema in config._SECTIONS.items():
        defaults = schema()
        for key in _leaf_keys(schema, (section,)):
            want, got = _lookup(defaults, key[1:]), _lookup(getattr(loaded, section), key[1:])
            if want != got:
                differing.append(f"{'.'.join(key)}: dataclass {want!r}, default.yaml {got!r}")
    assert differing == []
