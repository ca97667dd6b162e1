"""Live edits of the config (the control page's sliders, reordering, Save), kept as YAML text with its comments.

The daemon keeps one draft: the config file's text with the edits made since
it was read (ruamel.yaml round-trip, so comments, order and quoting survive).
Every edit is validated as loading validates (the same `config.parse`, the
shipped default laid under the user's file), so an edit that `bgfx run` would
refuse is refused here with the same key path, and the draft stays as it was.
Save writes the draft atomically, keeping the file's mode; a config that was
the shipped default is saved as the user's own config file, private (0600).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from bgfx.atomic_file import write_text
from bgfx import config as config_module
from bgfx.errors import CommandError, ConfigError
from bgfx.live.settings import Config

log = logging.getLogger(__name__)

BACKGROUNDS = ("image", "video", "colour")
SECTIONS_SET = ("segmentation", "refine", "live", "pause", "capture", "framing")  # sections `set` may change (output waits for a restart)


class ConfigEditor:
    """path: the config file the daemon runs (None: the shipped default); save_to: where Save writes then."""

    def __init__(self, path: Path | None, save_to: Path, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self.save_to = path or save_to
        self.overrides = overrides or {}  # the command line's (--input ...): they apply to every edit, never saved
        self._yaml = YAML(typ="rt")
        self._yaml.preserve_quotes = True
        self._base: str | None = None  # sha256 of the file text the current edits started from
        self._known: str | None = None  # sha256 of the file as bgfx last read (load) or wrote (save) it

    def load(self) -> Config:
        """The config as `bgfx run` loads it, from the file in use: the one given, or after a first save of a
        daemon started on the shipped default, the file saved. Remembers the file's digest, so the file watch can
        tell bgfx's own write (or a touch) from a change."""
        self._known = _file_digest(self.path or config_module.default_path())
        return config_module.load(self.path, self.overrides)

    def changed_on_disk(self) -> bool:
        """The file differs from what bgfx last read or wrote (True when that is unknown)."""
        return self._known is None or _file_digest(self.path or config_module.default_path()) != self._known

    def original(self) -> str:
        """The text edits start from: the file as it is now."""
        return (self.path or config_module.default_path()).read_text(encoding="utf-8")

    def set(self, draft: str | None, key: str, value: str) -> tuple[Config, str]:
        """The draft with `key` (effects.NAME.PARAM or SECTION.KEY[.KEY]) set to `value` (YAML), validated."""
        document = self._document(draft)
        parsed = _scalar(value)
        parts = key.split(".")
        if parts[:2] == ["live", "web"]:
            raise CommandError(f"{key}: the control page's exposure (live.web) is read from the config file at start "
                               "only; edit the file and restart bgfx")
        if parts[0] == "effects" and len(parts) == 3:
            effect = _effect(document, parts[1])
            if parts[2] in BACKGROUNDS:  # replace takes exactly one of them: the new one replaces the others
                for other in BACKGROUNDS:
                    effect.pop(other, None)
            effect[parts[2]] = parsed
        elif parts[0] in SECTIONS_SET and len(parts) >= 2:
            node = document
            for part in parts[:-1]:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
                if not isinstance(node, dict):
                    raise CommandError(f"{key}: {part} is not a section")
            node[parts[-1]] = parsed
        else:
            raise CommandError(f"{key}: cannot be set live; use effects.NAME.PARAM or one of "
                               f"{', '.join(SECTIONS_SET)} followed by a key")  # fmt: skip
        return self._checked(document)

    def order(self, draft: str | None, names: list[str]) -> tuple[Config, str]:
        """The draft with the effects list in this order (every effect named once)."""
        document = self._document(draft)
        effects = document["effects"]
        by_name = {_name_of(item): item for item in effects}
        if sorted(names) != sorted(by_name):
            raise CommandError(f"order: name every effect once: {', '.join(by_name)}; got {', '.join(names)}")
        reordered = [by_name[name] for name in names]
        effects.clear()
        effects.extend(reordered)
        return self._checked(document)

    def save(self, draft: str | None) -> str:
        """Write the draft (or the original) to the config file; returns where.

        The file is written through a symlink (a dotfiles link stays a link), never over a read-only file or one
        edited on disk since the edits began, and only when the exact text loads as `bgfx run` would load it.
        """
        text = draft if draft is not None else self.original()
        target = Path(os.path.realpath(self.save_to))
        self._refuse_unsafe_save(target, text, draft is not None)
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_text(target, text, None if target.exists() else 0o600)  # the user's mode, or private
        except OSError as e:
            raise CommandError(f"{target}: cannot save ({e.strerror}); check the folder's permissions") from None
        self._base = self._known = _digest(text)
        self.path = self.save_to  # the saved file is the config from now on: reloads and revert read it
        return str(target)

    def _refuse_unsafe_save(self, target: Path, text: str, edited: bool) -> None:
        if target.exists() and not target.stat().st_mode & stat.S_IWUSR:
            raise CommandError(f"{target}: the config file is read-only; make it writable (chmod u+w) to save, "
                               "or keep the edits live only")
        if edited and self._base is not None and target.exists() and _digest(target.read_text(encoding="utf-8")) != self._base:
            raise CommandError(f"{target}: the file was changed on disk since the live edits began; nothing saved. "
                               "`bgfx ctl revert` takes the file's version, then edit again")
        self._parsed(text, {})  # the file must load on its own, without the command line's overrides

    def _document(self, draft: str | None) -> Any:
        """The draft as a round-trip document, with an effects list of its own (copied from the shipped default
        when the user's file has none, as loading lays it under)."""
        try:
            text = draft if draft is not None else self.original()
            if draft is None:
                self._base = _digest(text)
            _, sequence, offset = load_yaml_guess_indent(text)  # keep the file's own list indentation
            self._yaml.indent(mapping=2, sequence=sequence or 2, offset=offset or 0)
            document = self._yaml.load(text)
        except (OSError, YAMLError) as e:
            raise CommandError(f"the config file cannot be edited: {e}; fix it, then `bgfx ctl reload`") from None
        if document is None:
            document = self._yaml.load("{}")
        if document.get("effects") is None:
            document["effects"] = self._yaml.load(config_module.default_path().read_text(encoding="utf-8"))["effects"]
        return document

    def _checked(self, document: Any) -> tuple[Config, str]:
        stream = io.StringIO()
        self._yaml.dump(document, stream)
        text = stream.getvalue()
        self._parsed(text, {})  # valid on the file's own values: an override (--input) must not mask an error
        return self._parsed(text, self.overrides), text

    def _parsed(self, text: str, overrides: dict[str, dict[str, Any]]) -> Config:
        source = str(self.path or config_module.default_path())
        try:
            raw = yaml.safe_load(text)
            raw = config_module.with_shipped(raw) if isinstance(raw, dict) else raw
            return config_module.parse(raw, source, Path(source).resolve().parent, overrides)
        except (ConfigError, yaml.YAMLError) as e:
            raise CommandError(str(e).replace("\n", " ")) from None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str | None:
    """The sha256 of the file's text, None when it cannot be read (gone, unreadable, not UTF-8)."""
    try:
        return _digest(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _scalar(text: str) -> Any:
    """A value as YAML reads it ('40' → 40, '#2050E0' → the string, 'true' → True)."""
    if text.startswith("#"):
        return text  # YAML would read a colour as a comment
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _name_of(item: Any) -> str:
    return str(item.get("name", item.get("type")))


def _effect(document: Any, name: str) -> Any:
    for item in document["effects"]:
        if _name_of(item) == name:
            return item
    raise CommandError(f"no effect named {name!r}; effects: {', '.join(_name_of(item) for item in document['effects'])}")
