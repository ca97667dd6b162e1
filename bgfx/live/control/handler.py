"""The verbs' effects on the running state: the config, the pipeline, pause and the preset.

Owned by the live loop's thread: `apply_pending` runs between frames, so a
command never races a frame. A command that cannot be done is answered with
its reason and changes nothing; nothing a command does can stop the loop.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Callable

from bgfx.errors import BgfxError, CommandError
from bgfx.live.control.commands import VERBS, Command, CommandQueue
from bgfx.live.settings import Config
from bgfx.vision.effects import ChainItem
from bgfx.vision.pipeline import Pipeline

log = logging.getLogger(__name__)

PipelineFactory = Callable[[Config, tuple[ChainItem, ...]], Pipeline]
COMMANDS_PER_TURN = 8


class CommandHandler:
    """config: the running config (its output section is the one the sink was opened with);
    load: reads and validates the config file (ConfigError); build: a live pipeline for a config and chain;
    adopt(old, new): applies what a reload changed beyond the pipeline."""

    def __init__(
        self, config: Config, pipeline: Pipeline, commands: CommandQueue, *, load: Callable[[], Config],
        build: PipelineFactory, adopt: Callable[[Config, Config], None],
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.paused = False
        self.preset = "default"
        self._commands = commands
        self._load, self._build, self._adopt = load, build, adopt

    def apply_pending(self) -> int:
        """Apply every queued command and answer it; returns how many there were.

        Reloads queued back to back (a SIGHUP flood, an editor's burst of saves) read the file once; at most
        COMMANDS_PER_TURN are applied per frame, so a burst of commands delays the picture by little.
        """
        pending = self._commands.drain(COMMANDS_PER_TURN)
        outcome = (False, "")
        for index, (command, reply) in enumerate(pending):
            if not (command.verb == "reload" and index > 0 and pending[index - 1][0].verb == "reload"):
                outcome = self.apply(command)
            if reply is not None:
                reply.set(*outcome)
        return len(pending)

    def apply(self, command: Command) -> tuple[bool, str]:
        verb = VERBS[command.verb]
        try:
            if verb.handler is None:
                raise CommandError(f"{verb.name} is answered by the control socket, not the live loop")
            message = verb.handler(self, command.argument)
        except BgfxError as e:
            log.error("%s: %s", command, e)
            return False, str(e)
        except Exception as e:  # a bug must not stop the camera: report it and keep the running state
            log.exception("%s failed", command)
            return False, f"{command} failed ({type(e).__name__}: {e}); the running state is kept"
        log.info("%s: %s", command, message)
        return True, message

    def switch_model(self, name: str) -> str:
        self.pipeline.set_model(name)
        return f"model {name}"

    def step_model(self, step: int) -> str:
        return self.switch_model(_cycle(self.config.segmentation.models, self.pipeline.person_model, step, "models"))

    def toggle(self, name: str) -> str:
        return f"{name} {'on' if self.pipeline.toggle(name) else 'off'}"

    def choose_preset(self, name: str) -> str:
        names = self.config.preset_names
        if name not in names:
            raise CommandError(f"unknown preset {name!r}; presets: {', '.join(names)}")
        self.pipeline.set_chain(self.config.chain(name))
        self.preset = name
        return f"preset {name}"

    def step_preset(self, step: int) -> str:
        return self.choose_preset(_cycle(self.config.preset_names, self.preset, step, "presets"))

    def set_paused(self, paused: bool | None) -> str:
        self.paused = not self.paused if paused is None else paused
        return "paused" if self.paused else "resumed"

    def reload(self) -> str:
        """Apply the config file again; an invalid one is reported and the running one kept."""
        new = self._load()  # ConfigError: reported, nothing changed
        preset = self.preset if self.preset in new.preset_names else "default"
        pipeline = self._build(new, new.chain(preset))  # ModelError, InputError: reported, nothing changed
        old_pipeline, self.pipeline = self.pipeline, pipeline
        old_pipeline.close()
        old, self.config = self.config, replace(new, output=self.config.output)
        self.preset = preset
        self._adopt(old, new)
        return f"reloaded {new.source}"

    def close(self) -> None:
        self.pipeline.close()


def _cycle(names: tuple[str, ...], current: str, step: int, what: str) -> str:
    """The name `step` places after `current` in `names`, wrapping; the first (or last) if current is not there."""
    if not names:
        raise CommandError(f"no {what} to cycle through; list some in the config")
    index = names.index(current) if current in names else (-1 if step > 0 else 0)
    return names[(index + step) % len(names)]
