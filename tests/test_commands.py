"""The command table: parsing, help, the bounded queue, `ask`, and hotkeys checked against the table at load."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bgfx import config
from bgfx.errors import CommandError, ConfigError
from bgfx.live.control.commands import Asker, Command, CommandQueue
from bgfx.live.control.verbs import TABLE, VERBS, parse_command, usage


def test_verbs_parse_with_and_without_their_argument() -> None:
    assert parse_command("model deeplab_v3") == Command("model", "deeplab_v3")
    assert parse_command("  toggle   blur ") == Command("toggle", "blur")
    assert parse_command("next-preset") == Command("next-preset")
    assert str(Command("preset", "plain")) == "preset plain" and str(Command("pause")) == "pause"
    assert {verb.name for verb in TABLE if verb.argument} == {"model", "toggle", "preset", "set", "order"}
    assert parse_command("set effects.blur.strength=30") == Command("set", "effects.blur.strength=30")


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty command; commands: status, model NAME, next-model"),
    ("blurr", "unknown command 'blurr'; commands: status, model NAME"),
    ("model", "model takes one NAME, got 0 words: `model NAME`"),
    ("toggle blur hair", "toggle takes one EFFECT, got 2 words"),
    ("pause now", "pause takes nothing after it, got 'now'"),
])
def test_user_errors_say_what_would_work(text: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert str(caught.value).startswith(message)


def test_a_huge_command_is_quoted_short() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("x" * 100_000)
    assert f"unknown command '{'x' * 100}…'" in str(caught.value) and len(str(caught.value)) < 600
    with pytest.raises(CommandError) as caught:
        parse_command("y" * 100)
    assert f"unknown command '{'y' * 100}';" in str(caught.value)  # 100 characters are quoted whole


def test_help_lists_every_verb_once_with_its_argument() -> None:
    lines = usage().splitlines()
    assert len(lines) == len(TABLE) == len(VERBS)
    assert any(line.startswith("toggle EFFECT ") and "on or off" in line for line in lines)
    assert [line.split()[0] for line in lines] == [verb.name for verb in TABLE]


def test_the_queue_refuses_when_full_rather_than_blocking() -> None:
    queue = CommandQueue(size=2)
    assert queue.put(Command("pause")) and queue.put(Command("resume"))
    assert queue.put(Command("reload")) is False
    assert [command for command, _ in queue.drain()] == [Command("pause"), Command("resume")]
    assert queue.drain() == []


def _loop_answering(queue: CommandQueue, stop: threading.Event) -> threading.Thread:
    """A stand-in live loop: answers each command with its own text."""

    def run() -> None:
        while not stop.is_set():
            for command, reply in queue.drain():
                if command.verb == "settings":
                    reply.set(True, "", {"effects": [{"name": "blur"}]})
                else:
                    reply.set(command.verb != "reload", f"did {command}")
            stop.wait(0.01)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_ask_answers_status_at_once_and_commands_after_the_loop_applied_them() -> None:
    queue, stop = CommandQueue(), threading.Event()
    asker = Asker(queue, lambda: {"state": "running", "fps_out": 30.0}, VERBS)
    assert asker.ask("status") == {"ok": True, "message": "", "data": {"state": "running", "fps_out": 30.0}}
    assert queue.drain() == []  # status never reaches the loop
    assert asker.ask("bogus")["ok"] is False and "unknown command 'bogus'" in asker.ask("bogus")["message"]
    _loop_answering(queue, stop)
    try:
        assert asker.ask("toggle blur") == {"ok": True, "message": "did toggle blur"}
        assert asker.ask("reload") == {"ok": False, "message": "did reload"}
        assert asker.ask("settings") == {"ok": True, "message": "", "data": {"effects": [{"name": "blur"}]}}  # as data
    finally:
        stop.set()


def test_ask_says_when_the_loop_does_not_answer_or_the_queue_is_full() -> None:
    queue = CommandQueue(size=1)
    asker = Asker(queue, dict, VERBS, timeout_s=0.2)
    answer = asker.ask("pause")
    assert answer["ok"] is False and "no answer within 0 s" in answer["message"]
    answer = asker.ask("resume")  # the unanswered pause still fills the queue
    assert answer == {"ok": False, "message": "the daemon is busy (command queue full); try again"}


def test_a_closed_queue_answers_waiting_and_later_senders_at_once() -> None:
    queue = CommandQueue()
    asker = Asker(queue, dict, VERBS, timeout_s=60)  # an answer that waited for the timeout would hold the test a minute
    waiting: list[dict] = []
    sender = threading.Thread(target=lambda: waiting.append(asker.ask("pause")), daemon=True)
    sender.start()
    while not queue._queue.qsize():  # the pause is queued, its sender waiting
        sender.join(0.01)
    queue.close()
    sender.join(10)
    assert waiting == [{"ok": False, "message": "bgfx is stopping"}]
    assert asker.ask("resume") == {"ok": False, "message": "bgfx is stopping"}  # later senders: answered, not queued
    assert queue.put(Command("reload")) and queue.drain() == []


def test_hotkeys_must_name_a_verb_that_changes_something(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text('hotkeys: {"<ctrl>+<alt>+s": status, "<ctrl>+<alt>+x": blurr, "<ctrl>+<alt>+b": toggle blur, '
                    '"<ctrl>+<alt>+g": settings}\n')
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = str(caught.value)
    assert "3 errors" in message
    assert "hotkeys.<ctrl>+<alt>+s: status has no effect from a hotkey" in message
    assert "hotkeys.<ctrl>+<alt>+g: settings has no effect from a hotkey" in message
    assert "hotkeys.<ctrl>+<alt>+x: unknown command 'blurr'" in message
