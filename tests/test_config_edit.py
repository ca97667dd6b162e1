"""Live edits of a real config file: comments and order survive, bad edits are refused by key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bgfx.config_edit import ConfigEditor
from bgfx.errors import CommandError

FILE = """\
# my config
segmentation:
  model: selfie_landscape   # the fast one
effects:
  - type: blur      # soft
    strength: 60
  - type: replace
    name: wall
    colour: "#00FF00"
"""


@pytest.fixture()
def editor(tmp_path: Path) -> ConfigEditor:
    path = tmp_path / "bgfx.yaml"
    path.write_text(FILE)
    return ConfigEditor(path, tmp_path / "unused.yaml")


def test_an_edit_keeps_comments_order_and_indentation(editor: ConfigEditor) -> None:
    config, draft = editor.set(None, "effects.blur.strength", "25")
    assert config.effects[0].effect.strength == 25
    assert draft == FILE.replace("strength: 60", "strength: 25")
    config, draft = editor.order(draft, ["wall", "blur"])
    assert [item.name for item in config.effects] == ["wall", "blur"]
    assert draft.index("name: wall") < draft.index("# soft") and "# the fast one" in draft
    config, draft = editor.set(draft, "refine.threshold", "0.5")
    assert config.refine.threshold == 0.5 and draft.endswith("refine:\n  threshold: 0.5\n")


def test_a_background_replaces_the_others_and_a_bad_edit_names_its_key(editor: ConfigEditor, tmp_path: Path) -> None:
    image = tmp_path / "room.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    config, draft = editor.set(None, "effects.wall.image", str(image))
    assert config.effects[1].effect.image == image and "colour" not in draft
    with pytest.raises(CommandError, match=r"effects\[0\]\.strength: must be 1\.\.100, got 500"):
        editor.set(draft, "effects.blur.strength", "500")
    with pytest.raises(CommandError, match="no effect named 'blurr'; effects: blur, wall"):
        editor.set(draft, "effects.blurr.strength", "5")
    with pytest.raises(CommandError, match="output.sink: cannot be set live"):
        editor.set(draft, "output.sink", "file")
    with pytest.raises(CommandError, match="name every effect once"):
        editor.order(draft, ["blur"])


def test_save_writes_the_draft_privately_and_overrides_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bgfx.yaml"
    path.write_text(FILE)
    path.chmod(0o640)
    editor = ConfigEditor(path, tmp_path / "unused.yaml", {"capture": {"device": "/tmp/clip.mp4"}})
    config, draft = editor.set(None, "effects.blur.strength", "10")
    assert config.capture.device == "/tmp/clip.mp4"  # the command line still applies ...
    assert editor.save(draft) == str(path)
    assert "clip.mp4" not in path.read_text() and "strength: 10" in path.read_text()  # ... but is not saved
    assert path.stat().st_mode & 0o777 == 0o640 and [p.name for p in tmp_path.iterdir()] == ["bgfx.yaml"]  # its mode kept


def test_editing_the_shipped_default_saves_a_user_file_with_its_effects(tmp_path: Path) -> None:
    target = tmp_path / "config" / "bgfx" / "config.yaml"
    editor = ConfigEditor(None, target)
    config, draft = editor.set(None, "effects.blur.strength", "33")
    editor.save(draft)
    saved = yaml.safe_load(target.read_text())
    assert target.stat().st_mode & 0o777 == 0o600
    assert saved["effects"][0] == {"type": "blur", "strength": 33, "light_wrap": 0.0, "depth": 0}
    assert "# " in target.read_text()  # the shipped file's comments came along
