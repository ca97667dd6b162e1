"""Save and live-edit robustness (#22) on real YAML files: what a socket or page edit may never change."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from bgfx.config_edit import ConfigEditor
from bgfx.errors import CommandError
from bgfx.live.control.background import Background, Deferred
from bgfx.live.control.commands import Reply
from tests.conftest import VIDEO
from tests.support.daemon import RunningDaemon

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


def _edited(tmp_path: Path, name: str = "bgfx.yaml") -> tuple[Path, ConfigEditor, str]:
    path = tmp_path / name
    path.write_text(FILE)
    editor = ConfigEditor(path, tmp_path / "unused.yaml")
    _, draft = editor.set(None, "effects.blur.strength", "35")
    return path, editor, draft


def test_a_save_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "bgfx.yaml"
    real.write_text(FILE)
    link = tmp_path / "bgfx.yaml"
    link.symlink_to(real)
    editor = ConfigEditor(link, tmp_path / "unused.yaml")
    _, draft = editor.set(None, "effects.blur.strength", "35")
    assert editor.save(draft) == str(real)
    assert link.is_symlink() and "strength: 35" in real.read_text()
    assert sorted(p.name for p in dotfiles.iterdir()) == ["bgfx.yaml"]  # no temporary left beside it


def test_a_read_only_config_is_never_overwritten(tmp_path: Path) -> None:
    path, editor, draft = _edited(tmp_path)
    path.chmod(0o444)
    with pytest.raises(CommandError, match=r"bgfx\.yaml: the config file is read-only; make it writable"):
        editor.save(draft)
    assert path.read_text() == FILE


def test_a_file_edited_on_disk_since_the_edits_began_is_not_overwritten(tmp_path: Path) -> None:
    path, editor, draft = _edited(tmp_path)
    mine = FILE.replace("127.0.0.1", "localhost")
    path.write_text(mine)  # the user's own edit in an editor, with the watch off
    with pytest.raises(CommandError, match="changed on disk since the live edits began; nothing saved"):
        editor.save(draft)
    assert path.read_text() == mine
    _, fresh = editor.set(None, "effects.blur.strength", "35")  # after a revert the edits start from the file again
    editor.save(fresh)
    assert "localhost" in path.read_text() and "strength: 35" in path.read_text()
    _, again = editor.set(fresh, "effects.blur.strength", "40")  # our own save is the new base: saving on works
    editor.save(again)
    assert "strength: 40" in path.read_text()


def test_an_edit_is_checked_on_the_files_own_values_not_the_command_lines(tmp_path: Path) -> None:
    """Under --input, capture.device comes from the flag; an edit that breaks the file's own must still be refused."""
    path = tmp_path / "bgfx.yaml"
    path.write_text(FILE)
    editor = ConfigEditor(path, tmp_path / "unused.yaml", {"capture": {"device": "/tmp/clip.mp4"}})
    with pytest.raises(CommandError, match=r"capture\.device: must be a string"):
        editor.set(None, "capture.device.x", "1")
    assert path.read_text() == FILE



def test_a_flood_of_edits_of_one_key_runs_the_newest_once_and_answers_every_sender() -> None:
    """2,000 `set` of one key while the worker is busy: one run (the newest value), 2,000 answers; other keys and
    jobs without a group still run each; the queue stays bounded."""
    gate, ran = threading.Event(), []
    background = Background(capacity=8)
    try:
        def job(name: str, coalesce: str | None, wait: bool = False) -> Deferred:
            return Deferred("edit", lambda: (gate.wait(10) if wait else None, ran.append(name)) and name,
                            lambda result: result, coalesce=coalesce)

        background.submit(job("busy", None, wait=True), Reply())
        replies = [Reply() for _ in range(2000)]
        for value, reply in enumerate(replies):
            background.submit(job(f"strength={value}", "set effects.blur.strength"), reply)
        background.submit(job("size=3", "set refine.size"), Reply())
        background.submit(job("model a", None), Reply())
        background.submit(job("model b", None), Reply())
        gate.set()
        deadline, outcomes = time.monotonic() + 10, []
        while len(outcomes) < 5 and time.monotonic() < deadline:
            outcomes += background.collect()
            time.sleep(0.01)
        assert ran == ["busy", "strength=1999", "size=3", "model a", "model b"]
        flood = next(o for o in outcomes if o.result == "strength=1999")
        assert flood.deferred.replies == replies  # every sender is answered, oldest first
        with pytest.raises(CommandError, match="busy"):
            gate.clear()
            background.submit(job("busy again", None, wait=True), Reply())
            for n in range(9):
                background.submit(job(f"other {n}", None), Reply())
    finally:
        gate.set()
        background.close()


def _live_strength(daemon: RunningDaemon) -> int:
    answer = daemon.ctl("settings")
    assert answer.returncode == 0, answer.stderr
    settings = json.loads(answer.stdout)
    return next(item["params"]["strength"]["value"] for item in settings["effects"] if item["name"] == "blur")


def _ctl_ok(daemon: RunningDaemon, *words: str) -> str:
    answer = daemon.ctl(*words)
    assert answer.returncode == 0, f"{words}: {answer.stderr}"
    return answer.stdout


@pytest.mark.e2e
def test_an_edit_right_after_save_survives_the_watch_seeing_the_save(tmp_path: Path) -> None:
    config = tmp_path / "bgfx.yaml"
    config.write_text("effects:\n  - type: blur\n    strength: 50\n")
    daemon = RunningDaemon(tmp_path, ["--config", str(config), "--input", str(VIDEO), "--backend", "fakecam"])
    try:
        daemon.wait_for("the config watch", lambda: "saved changes are applied" in daemon.log())
        for round, (saved, after) in enumerate([(11, 22), (33, 44), (55, 66)], start=1):
            _ctl_ok(daemon, "set", f"effects.blur.strength={saved}")
            _ctl_ok(daemon, "save")
            _ctl_ok(daemon, "set", f"effects.blur.strength={after}")  # before the watch's settle time has passed
            daemon.wait_for("the watch's look at the save", lambda: daemon.log().count("unchanged since bgfx") >= round)
            assert _live_strength(daemon) == after and f"strength: {saved}" in config.read_text()
        config.write_text("effects:\n  - type: blur\n    strength: 7\n")  # a real change on disk is still applied
        daemon.wait_for("the reload of the change", lambda: "reloaded" in daemon.log())
        assert _live_strength(daemon) == 7
    finally:
        assert daemon.stop() == 0


@pytest.mark.e2e
def test_a_daemon_started_on_the_default_keeps_to_the_file_it_saved(tmp_path: Path) -> None:
    saved_file = Path(os.environ["XDG_CONFIG_HOME"]) / "bgfx" / "config.yaml"
    daemon = RunningDaemon(tmp_path, ["--input", str(VIDEO), "--backend", "fakecam"])
    try:
        daemon.wait_for("the control socket", lambda: daemon.ctl("status").returncode == 0, timeout=90)
        _ctl_ok(daemon, "set", "effects.blur.strength=9")
        assert str(saved_file) in _ctl_ok(daemon, "save")
        _ctl_ok(daemon, "revert")  # the saved file, not the shipped default
        assert _live_strength(daemon) == 9
        _ctl_ok(daemon, "set", "refine.radius=3")
        _ctl_ok(daemon, "save")  # a second save keeps the first one's value
        text = saved_file.read_text()
        assert "strength: 9" in text and "radius: 3" in text
        daemon.wait_for("the watch on the saved file", lambda: "watching" in daemon.log() and str(saved_file) in daemon.log())
        saved_file.write_text(text.replace("strength: 9", "strength: 4"))  # the user edits the file bgfx saved
        daemon.wait_for("the reload of the user's edit", lambda: _live_strength(daemon) == 4)
        time.sleep(1.0)
        assert "strength: 4" in saved_file.read_text()  # never written back
    finally:
        assert daemon.stop() == 0
