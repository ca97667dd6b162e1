import re
from pathlib import Path

import pytest

from bgfx import config
from bgfx.errors import ConfigError
from bgfx.vision.effects.blur import Blur


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bgfx.yaml"
    path.write_text(text)
    return path


def test_shipped_default_loads() -> None:
    cfg = config.load()
    assert cfg.segmentation.model == "selfie_landscape"
    assert [item.name for item in cfg.effects] == ["blur"] and isinstance(cfg.effects[0].effect, Blur)
    assert cfg.hotkeys["<ctrl>+<alt>+m"] == "next-model"
    assert set(cfg.presets) == {"blur", "grey-room", "plain", "dim-room"}
    assert [item.name for item in cfg.presets["dim-room"]] == ["light", "denoise", "studio_light", "blur"]


def test_every_error_of_a_file_at_once_with_key_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
effects:
  - type: blur
    strength: 0
    radius: 3
  - type: sparkle
  - type: replace
    image: nowhere.png
  - type: hair_tint
    colour: red
refine: {temporal: 2, sharpen: true}
capture: {fps: fast}
hotkeys: {"<ctrl>+x": fly away}
colours: {}
""",
    )
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: 10 errors:")
    for line in [
        "effects[0].strength: must be 1..100, got 0",
        "effects[0].radius: unknown key; allowed: strength, light_wrap",
        "effects[1].type: unknown effect 'sparkle'; valid: blur, replace, hair_tint, desaturate, mirror",
        f"effects[2].image: cannot read {tmp_path / 'nowhere.png'}",
        "effects[3].colour: must be '#RRGGBB' or [R, G, B]",
        "refine.temporal: must be 0.0..0.95, got 2",
        "refine.sharpen: unknown key",
        "capture.fps: must be a number, got str 'fast'",
        "hotkeys.<ctrl>+x: unknown command 'fly away'",
        "colours: unknown key; allowed: segmentation, refine",
    ]:
        assert line in message


def test_effect_names_are_unique_and_optional(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "effects: [{type: blur}, {type: blur, name: soft, strength: 20, enabled: false}]"))
    assert [(i.name, i.enabled) for i in cfg.effects] == [("blur", True), ("soft", False)]
    with pytest.raises(ConfigError, match=r"effects\[1\].name: 'blur' is used twice"):
        config.load(write(tmp_path, "effects: [{type: blur}, {type: blur}]"))


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "office.png"), np.zeros((32, 32, 3), np.uint8))
    cfg = config.load(write(tmp_path, "effects: [{type: replace, image: office.png, fit: contain}]"))
    assert cfg.effects[0].effect.image == tmp_path / "office.png"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("effects: [{type: blur}\n", r"not valid YAML at line 2"),
        ("- just\n- a list\n", "the top level must be a mapping of sections, got a list"),
        ("effects: {type: blur}", "effects: must be a list of effects, got a mapping"),
        ("output: {sink: screen}", "output.sink: must be one of virtualcam, pipewire, file, preview, null, got 'screen'"),
        ("live: {web: {host: 0.0.0.0}}", "live.web.host: '0.0.0.0' is not a loopback address; the control page listens"),
        ("live: {web: {port: 70000}}", "live.web.port: must be 0..65535, got 70000"),
        ("output: {node_name: 'my camera'}", "output.node_name: expected 1-64 letters, digits, '_', '.' or '-', got 'my camera'"),
        ("output: {node_description: 'a \\\"quoted\\\" name'}", "output.node_description: expected 1-128 printable characters without quotes"),
        ("live: {on_demand: 1}", "live.on_demand: must be true or false, got int 1"),
        ("effects: [{type: replace}]", r"effects\[0\]: background: give exactly one of image, video or colour, got none"),
    ],
)
def test_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: no such config file"):
        config.load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=f"{tmp_path}: no such config file .or not a regular file."):
        config.load(tmp_path)


@pytest.mark.parametrize("text", ["", "segmentation: {model: selfie_square}\n", "pause: {show: colour}\n",
                                  "hotkeys: {}\n", "effects:\n"])
def test_a_file_without_effects_keeps_the_shipped_chain(tmp_path: Path, text: str) -> None:
    cfg = config.load(write(tmp_path, text))
    assert [item.name for item in cfg.effects] == ["blur"]  # never an empty chain by omission
    assert set(cfg.presets) == {"blur", "grey-room", "plain", "dim-room"}


def test_an_explicitly_empty_chain_is_allowed_and_said(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = config.load(write(tmp_path, "effects: []\nhotkeys: {}\n"))
    assert cfg.effects == () and cfg.hotkeys == {}
    assert "no effects: the camera goes out as is" in caplog.text


@pytest.mark.parametrize(("combo", "message"), [
    ("<ctrl>+<alt>+space", "'space' is not a key.*did you mean <space>"),
    ("<ctrl>+<hyper>+b", "'<hyper>' is not a key"),
    ("<ctrl>+", ".* ends without a key"),
    ("<ctrl>+<CTRL>", ".* names a key twice"),
])
def test_hotkey_combinations_are_checked_at_load(tmp_path: Path, combo: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"hotkeys.{re.escape(combo)}: {message}"):
        config.load(write(tmp_path, f'hotkeys: {{"{combo}": toggle blur}}\n'))
    assert config.load(write(tmp_path, 'hotkeys: {"<ctrl>++": pause, "<ctrl>+<65>": resume, "<F5>": reload}\n'))


@pytest.mark.parametrize(("text", "message"), [
    ("segmentation: {model: nosuchmodel}\neffects: []\n", "segmentation.model: unknown model 'nosuchmodel'; choose one"),
    ("segmentation: {models: [selfie_square, nosuch]}\n", r"segmentation.models\[1\]: unknown model 'nosuch'"),
    ("segmentation: {models: []}\n", "segmentation.models: must list at least one model"),
    ("segmentation: {hair_model: hairy}\n", "segmentation.hair_model: unknown model 'hairy'"),
])
def test_model_names_are_checked_whatever_the_chain(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, text))
    assert config.load(write(tmp_path, "segmentation: {model: my/own.tflite}\n")).segmentation.model == "my/own.tflite"


def test_hostile_files_get_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"effects: [{type: blur}]\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(a bad byte on line 2\); save the file as UTF-8"):
        config.load(path)
    path.write_text("effects: [{type: [blur]}]\n")
    with pytest.raises(ConfigError, match=r"effects\[0\].type: unknown effect \['blur'\]"):
        config.load(path)
    path.write_text("effects: " + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        config.load(path)
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)) + "effects: [{type: replace, colour: *i}]\n"
    path.write_text(laughs)
    with pytest.raises(ConfigError, match="over 100000 values once its aliases"):
        config.load(path)
    path.write_text("effects: [{type: blur}]\n" + "#" * (1 << 20))
    with pytest.raises(ConfigError, match="over 1024 KiB, too large for a config file"):
        config.load(path)
    path.write_text(f"effects: [{{type: replace, colour: '{'#' * 50_000}'}}]\n")
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert len(str(caught.value)) < 500 and "effects[0].colour" in str(caught.value)
