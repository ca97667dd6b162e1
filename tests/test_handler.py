"""The command handler on real pipelines: presets, model cycling, reload, and nothing that stops the loop."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from bgfx import config
from bgfx.live.control.commands import Command, CommandQueue, Reply
from bgfx.live.control.handler import CommandHandler
from bgfx.live.settings import Config
from bgfx.vision.effects import ChainItem
from bgfx.vision.pipeline import Pipeline
from bgfx.vision.segmenter_pool import SegmenterPool

pytestmark = pytest.mark.models

PRESETS = """
segmentation: {models: [selfie_landscape, selfie_square, deeplab_v3]}
effects: [{type: blur}]
presets:
  wall: [{type: replace, colour: "#00FF00"}]
  grey: [{type: desaturate}, {type: blur, strength: 20}]
hotkeys: {}
"""


def build(cfg: Config, items: tuple[ChainItem, ...]) -> Pipeline:
    return Pipeline(items, cfg.segmentation, cfg.refine)


@pytest.fixture()
def handler(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(PRESETS)
    adopted: list[tuple[Config, Config]] = []
    cfg = config.load(path)
    made = CommandHandler(cfg, build(cfg, cfg.effects), CommandQueue(), load=lambda: config.load(path), build=build,
                          adopt=lambda old, new: adopted.append((old, new)))
    made.file, made.adopted = path, adopted
    yield made
    made.close()


def settle(handler: CommandHandler, timeout_s: float = 30.0) -> None:
    """Let the loop turn until the handler's background work is done and finished (answered)."""
    deadline = time.monotonic() + timeout_s
    while not handler._background.idle() and time.monotonic() < deadline:
        time.sleep(0.005)
        handler.apply_pending()


def run(handler: CommandHandler, text: str) -> tuple[bool, str]:
    """Apply a command as the loop does and wait for its answer (after its background work, if any)."""
    verb, _, argument = text.partition(" ")
    reply = Reply()
    handler.apply(Command(verb, argument or None), reply)
    settle(handler)
    assert reply.wait(0.0), f"{text} was not answered"
    return reply.ok, reply.message


def test_settings_answers_with_data_not_a_json_string(handler: CommandHandler) -> None:
    reply = Reply()
    handler.apply(Command("settings"), reply)
    assert reply.ok and reply.message == "" and isinstance(reply.data, dict)
    assert [effect["name"] for effect in reply.data["effects"]] == list(handler.pipeline.chain.names)
    assert reply.data["preset"] == "default" and reply.data["paused"] is False


def test_presets_by_name_and_in_turn(handler: CommandHandler) -> None:
    assert run(handler, "preset wall") == (True, "preset wall")
    assert handler.pipeline.chain.names == ("replace",) and handler.preset == "wall"
    ok, message = run(handler, "preset beach")
    assert not ok and message == "unknown preset 'beach'; presets: default, wall, grey"
    assert handler.preset == "wall"
    assert [run(handler, "next-preset")[1] for _ in range(3)] == ["preset grey", "preset default", "preset wall"]
    assert handler.pipeline.chain.names == ("replace",)


def test_next_preset_steps_from_the_preset_in_flight_while_a_model_switch_ends(
    handler: CommandHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, real_prepare = threading.Event(), Pipeline.prepare
    monkeypatch.setattr(Pipeline, "prepare", lambda self, **kw: (kw.get("items") is None or gate.wait(20)) and real_prepare(self, **kw))
    model_reply, first, second = Reply(), Reply(), Reply()
    handler.apply(Command("next-model"), model_reply)
    handler.apply(Command("next-preset"), first)  # default → wall, held at the gate
    deadline = time.monotonic() + 30
    while not model_reply.wait(0.0) and time.monotonic() < deadline:
        handler.apply_pending()  # the model switch ends while the preset switch is still in flight
        time.sleep(0.005)
    assert model_reply.ok and not first.wait(0.0)
    handler.apply(Command("next-preset"), second)  # from wall (in flight), not from default (running)
    gate.set()
    settle(handler)
    assert (first.message, second.message) == ("preset wall", "preset grey") and handler.preset == "grey"


def test_models_in_turn_both_ways(handler: CommandHandler) -> None:
    assert run(handler, "previous-model") == (True, "model deeplab_v3")  # from the first back to the last
    assert run(handler, "next-model") == (True, "model selfie_landscape")
    assert run(handler, "next-model") == (True, "model selfie_square")
    assert handler.pipeline.person_model == "selfie_square" and set(handler.pipeline.segmenters) == {"selfie_square"}
    ok, message = run(handler, "model hair")
    assert not ok and "cannot give person" in message and handler.pipeline.person_model == "selfie_square"


def test_an_empty_model_cycle_is_an_answer_not_a_crash(handler: CommandHandler) -> None:
    handler.config = dataclasses.replace(handler.config, segmentation=dataclasses.replace(handler.config.segmentation, models=()))
    assert run(handler, "next-model") == (False, "no models to cycle through; list some in the config")


def test_pause_toggle_and_effects(handler: CommandHandler) -> None:
    assert run(handler, "toggle-pause") == (True, "paused") and handler.paused
    assert run(handler, "pause") == (True, "paused") and run(handler, "resume") == (True, "resumed")
    assert run(handler, "toggle blur") == (True, "blur off")
    assert run(handler, "toggle blurr") == (False, "unknown effect 'blurr'; effects: blur")


def test_reload_applies_a_good_file_keeps_the_preset_and_reports_a_bad_one(handler: CommandHandler) -> None:
    run(handler, "preset grey")
    old_pipeline, old_config = handler.pipeline, handler.config
    handler.file.write_text(PRESETS.replace("strength: 20", "strength: 90") + "output: {fps: 12}\n")
    ok, message = run(handler, "reload")
    assert ok and message == f"reloaded {handler.file}"
    assert handler.preset == "grey" and handler.pipeline is not old_pipeline and old_pipeline.segmenters == {}
    assert handler.pipeline.chain.items[1].effect.strength == 90
    assert handler.config.output == old_config.output  # the sink stays as opened; the daemon logs the key
    assert handler.adopted[0][0] is old_config and handler.adopted[0][1].output.fps == 12

    handler.file.write_text("effects: [{type: blur, strength: 0}]\n")
    ok, message = run(handler, "reload")
    assert not ok and "effects[0].strength: must be 1..100, got 0" in message
    assert handler.pipeline.chain.items[1].effect.strength == 90 and len(handler.adopted) == 1


def test_a_preset_gone_after_reload_falls_back_to_the_default(handler: CommandHandler) -> None:
    run(handler, "preset wall")
    handler.file.write_text("effects: [{type: desaturate}]\nhotkeys: {}\n")
    assert run(handler, "reload")[0]
    assert handler.preset == "default" and handler.pipeline.chain.names == ("desaturate",)


def test_reloads_queued_back_to_back_read_the_file_once_and_all_are_answered(handler: CommandHandler) -> None:
    loads = []
    real_load = handler._load
    handler._load = lambda: loads.append(1) or real_load()
    queue = handler._commands
    replies = [Reply() for _ in range(4)]
    for reply in replies[:3]:
        queue.put(Command("reload"), reply)
    queue.put(Command("toggle", "blur"), replies[3])
    assert handler.apply_pending() == 4
    assert replies[3].wait(0.0) and replies[3].message == "blur off"  # answered at once, the reloads run aside
    settle(handler)
    assert 1 <= len(loads) <= 2  # one may already run; every later one joins the one waiting
    assert [r.message for r in replies[:3]] == [f"reloaded {handler.file}"] * 3


def test_a_bug_in_a_command_is_answered_and_the_state_kept(handler: CommandHandler) -> None:
    def broken() -> Config:
        raise RuntimeError("boom")

    handler._load = broken
    pipeline = handler.pipeline
    ok, message = run(handler, "reload")
    assert not ok and message == "reload failed (RuntimeError: boom); the running state is kept"
    assert handler.pipeline is pipeline


def test_status_is_not_for_the_loop(handler: CommandHandler) -> None:
    ok, message = run(handler, "status")
    assert not ok and "answered by the control socket" in message


def test_slow_work_never_holds_up_the_loop(handler: CommandHandler, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real_load = handler._load
    handler._load = lambda: gate.wait(20) and real_load()  # a config file on a stalled disk
    reload_reply = Reply()
    assert handler.apply(Command("reload"), reload_reply) is None  # taken up, not yet answered
    assert handler.apply(Command("toggle", "blur")) == (True, "blur off")  # the loop goes on meanwhile
    handler.apply_pending()
    assert not reload_reply.wait(0.2)
    gate.set()
    settle(handler)
    assert reload_reply.ok and handler.pipeline.chain.enabled == {"blur": True}  # the file's chain, as reloaded

    real_open = SegmenterPool.open
    gate.clear()
    monkeypatch.setattr(SegmenterPool, "open", lambda self, *a: gate.wait(20) and real_open(self, *a))
    switch = Reply()
    handler.apply(Command("model", "selfie_square"), switch)
    handler.apply_pending()
    assert handler.pipeline.person_model == "selfie_landscape" and not switch.wait(0.2)  # the old model serves
    assert handler.apply(Command("next-model"), Reply()) is None  # steps on from the model being loaded
    gate.set()
    settle(handler)
    assert switch.ok and handler.pipeline.person_model == "deeplab_v3"
