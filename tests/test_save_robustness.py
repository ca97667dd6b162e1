"""Save and live-edit robustness (#22) on real YAML files: what a socket or page edit may never change."""

from __future__ import annotations

from pathlib import Path

import pytest

from bgfx.config_edit import ConfigEditor
from bgfx.errors import CommandError

FILE = "live:\n  web:\n    enabled: true\n    host: 127.0.0.1\neffects:\n  - type: blur\n"


@pytest.mark.parametrize("setting", ["host=0.0.0.0", "port=80", "allow_remote=true", "enabled=false"])
def test_the_pages_exposure_cannot_be_set_live(tmp_path: Path, setting: str) -> None:
    path = tmp_path / "bgfx.yaml"
    path.write_text(FILE)
    editor = ConfigEditor(path, tmp_path / "unused.yaml")
    key, _, value = setting.partition("=")
    with pytest.raises(CommandError, match=rf"live\.web\.{key}: .*config file at start only"):
        editor.set(None, f"live.web.{key}", value)
    config, draft = editor.set(None, "live.watch_config", "false")  # the rest of live stays editable
    assert config.live.watch_config is False and "host: 127.0.0.1" in draft
    assert path.read_text() == FILE
