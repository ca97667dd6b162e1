"""The verbs' effects on the running state: the config, the pipeline, pause and the preset.

Owned by the live loop's thread: `apply_pending` runs between frames, so a
command never races a frame. What is slow (reading the config file, loading a
model, preparing a preset's backgrounds) runs on the `Background` worker while
frames go on with the running state; the swap happens here, between frames,
when the work is done, and only then is the command answered. A command that
cannot be done is answered with its reason and changes nothing; nothing a
command does can stop the loop.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from bgfx.errors import BgfxError, CommandError
from bgfx.live.control.background import Background, Deferred, Outcome
from bgfx.live.control.commands import Answer, Command, CommandQueue, Reply, declared, verb
from bgfx.live.control.editing import Editor, Edits
from bgfx.live.control.settings_view import describe

if TYPE_CHECKING:  # the types only: the handler's module loads no engine, so the table it declares is cheap
    from bgfx.live.settings import Config
    from bgfx.vision.effects import ChainItem
    from bgfx.vision.pipeline import Pipeline, Prepared

    PipelineFactory = Callable[[Config, tuple[ChainItem, ...]], Pipeline]

log = logging.getLogger(__name__)

COMMANDS_PER_TURN = 8


class CommandHandler:
    """config: the running config (its output section is the one the sink was opened with);
    load: reads and validates the config file (ConfigError); build: a live pipeline for a config and chain;
    adopt(old, new): applies what a reload changed beyond the pipeline."""

    def __init__(
        self, config: Config, pipeline: Pipeline, commands: CommandQueue, *, load: Callable[[], Config],
        build: PipelineFactory, adopt: Callable[[Config, Config], None], editor: Editor | None = None,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.paused = False
        self.preset = "default"
        self._commands = commands
        self._load, self.build, self.adopt = load, build, adopt
        self.edits = Edits(self, editor)
        self._background = Background()
        self._targets: dict[str, str] = {}  # "model"/"preset" → where a switch in flight goes (next-* steps from it)

    def apply_pending(self) -> int:
        """Finish the background work that is done, then apply up to COMMANDS_PER_TURN queued commands;
        returns how many commands were answered or taken up."""
        finished = [self._finish(outcome) for outcome in self._background.collect()]
        pending = self._commands.drain(COMMANDS_PER_TURN)
        for command, reply in pending:
            self.apply(command, reply)
        return len(finished) + len(pending)

    def apply(self, command: Command, reply: Reply | None = None) -> Answer | None:
        """Apply one command and answer `reply`; returns the answer, or None while its work runs in the background.
        A verb's method returns its message, its data (a query: the answer carries it) or work for the worker."""
        known = HANDLED.get(command.verb)
        try:
            if known is None:
                raise CommandError(f"{command.verb} is answered by the control socket, not the live loop")
            result: str | dict | Deferred = known.call(self.edits if known.owner is Edits else self, command.argument)
            if isinstance(result, Deferred):
                self._background.submit(result, reply)
                return None
            answer: Answer = (True, "", result) if isinstance(result, dict) else (True, result)
        except BgfxError as e:
            answer = (False, str(e))
        except Exception as e:  # a bug must not stop the camera: report it and keep the running state
            log.exception("%s failed", command)
            answer = (False, f"{command} failed ({type(e).__name__}: {e}); the running state is kept")
        log.log(logging.INFO if answer[0] else logging.ERROR, "%s: %s", command, answer[1])
        if reply is not None:
            reply.set(*answer)
        return answer

    def _finish(self, outcome: Outcome) -> tuple[bool, str]:
        deferred = outcome.deferred
        try:
            if outcome.error is not None:
                raise outcome.error
            answer = (True, deferred.finish(outcome.result))
        except BgfxError as e:
            answer = (False, str(e))
        except Exception as e:
            log.error("%s failed: %s: %s", deferred.key, type(e).__name__, e)
            answer = (False, f"{deferred.key} failed ({type(e).__name__}: {e}); the running state is kept")
        if not self._background.pending(deferred.key):
            self._targets.pop(deferred.key, None)  # that kind's switches are done; the other kind's may still run
        log.log(logging.INFO if answer[0] else logging.ERROR, "%s: %s", deferred.key, answer[1])
        for reply in deferred.replies:
            if reply is not None:
                reply.set(*answer)
        return answer

    @verb("model", "switch the person model", argument="NAME")
    def switch_model(self, name: str) -> Deferred:
        self._targets["model"] = name
        return self._switch(f"model {name}", lambda pipeline: pipeline.prepare(person_model=name), "model")

    @verb("next-model", "the next model of segmentation.models", given=1)
    @verb("previous-model", "the previous model of segmentation.models", given=-1)
    def step_model(self, step: int) -> Deferred:
        current = self._targets.get("model", self.pipeline.person_model)
        return self.switch_model(_cycle(self.config.segmentation.models, current, step, "models"))

    @verb("toggle", "turn one effect of the chain on or off", argument="EFFECT")
    def toggle(self, name: str) -> str:
        return f"{name} {'on' if self.pipeline.toggle(name) else 'off'}"

    @verb("preset", "run a named chain (default: the effects list)", argument="NAME")
    def choose_preset(self, name: str) -> Deferred:
        names = self.config.preset_names
        if name not in names:
            raise CommandError(f"unknown preset {name!r}; presets: {', '.join(names)}")
        self._targets["preset"] = name
        items = self.config.chain(name)
        return self._switch(f"preset {name}", lambda pipeline: pipeline.prepare(items=items), "preset",
                            after=lambda: setattr(self, "preset", name))

    @verb("next-preset", "the next preset", given=1)
    def step_preset(self, step: int) -> Deferred:
        return self.choose_preset(_cycle(self.config.preset_names, self._targets.get("preset", self.preset), step, "presets"))

    def _switch(self, done: str, prepare: Callable[[Pipeline], Prepared], key: str,
                after: Callable[[], None] = lambda: None) -> Deferred:
        """A switch prepared off the frame thread on the running pipeline, committed between frames."""
        pipeline = self.pipeline

        def finish(prepared: Prepared) -> str:
            if self.pipeline is not pipeline:  # a reload replaced the pipeline meanwhile: prepare on the new one
                prepared.discard()
                self.pipeline.commit(prepare(self.pipeline))
            else:
                pipeline.commit(prepared)
            after()
            return done

        return Deferred(key, lambda: prepare(pipeline), finish, lambda prepared: prepared.discard())

    @verb("reframe", "frame the person again (framing.mode once: then hold there)")
    def reframe(self) -> str:
        framing = self.pipeline.framing
        if framing.mode == "off":
            raise CommandError("framing is off; `toggle-framing` or `set framing.mode=once` turns it on")
        framing.reframe()
        return f"reframing (framing {framing.mode})"

    @verb("toggle-framing", "auto-framing off, or back on (follow when framing.mode is off)")
    def toggle_framing(self) -> str:
        return f"framing {self.pipeline.framing.toggle()}"

    @verb("pause", "show the privacy card (the camera is released)", given=True)
    @verb("resume", "back to the camera", given=False)
    @verb("toggle-pause", "pause or resume", given=None)
    def set_paused(self, paused: bool | None) -> str:
        self.paused = not self.paused if paused is None else paused
        return "paused" if self.paused else "resumed"

    @verb("reload", "apply the config file again", given=False)
    @verb("reload-if-changed", "apply the config file again unless it is what bgfx last read or wrote "
          "(the file watch sends it)", given=True)  # fmt: skip
    @verb("revert", "drop unsaved changes: the config file again", given=False)
    def reload(self, only_if_changed: bool = False) -> Deferred:
        """Read the config file and build its pipeline in the background; an invalid one changes nothing.
        only_if_changed (the file watch's): nothing when the file is what bgfx last read or wrote, so bgfx's own
        save does not come back as a reload that drops the edits made since."""
        preset = self.preset

        def work() -> tuple[Config, str, Pipeline] | None:
            if only_if_changed and not self.edits.file_changed():
                return None
            new = self._load()  # ConfigError: reported, nothing changed
            chosen = preset if preset in new.preset_names else "default"
            self.edits.forget()  # the file is the truth again
            return new, chosen, self.build(new, new.chain(chosen))  # ModelError, InputError: likewise

        key = "reload-if-changed" if only_if_changed else "reload"
        return Deferred(key, work, self._swap_in, lambda result: result and result[2].close(), coalesce=key)

    def _swap_in(self, result: tuple[Config, str, Pipeline] | None) -> str:
        if result is None:
            return f"{self.config.source}: unchanged since bgfx read or wrote it"
        new, chosen, pipeline = result
        self.preset = chosen
        self.edits.unsaved = False
        self.install(new, pipeline)
        return f"reloaded {new.source}"

    def follow_file(self, path: Path) -> None:
        """After a save: the saved file is the config (a daemon started on the shipped default watches it and
        reverts to it from now on)."""
        if self.config.source != str(path):
            old, self.config = self.config, replace(self.config, source=str(path))
            self.adopt(old, self.config)

    def install(self, new: Config, pipeline: Pipeline | None = None) -> None:
        """Run `new` (its output section waits for a restart: the sink stays as opened), on `pipeline` when
        one was built for it (the running one is closed); what else changed is adopted."""
        if pipeline is not None:
            old_pipeline, self.pipeline = self.pipeline, pipeline
            pipeline.framing.take_over(old_pipeline.framing)  # the picture goes on from where it is
            old_pipeline.close()
        self.pipeline.framing.configure(new.framing)
        old, self.config = self.config, replace(new, output=self.config.output)
        self.adopt(old, new)

    @verb("settings", "the live settings as JSON (effects, refinement, models, presets, the camera's controls)",
          query=True)  # fmt: skip
    def settings(self) -> dict:
        """The live settings (the control page draws its controls from them), sent as the answer's data."""
        return describe(self.config, self.pipeline, preset=self.preset, paused=self.paused, unsaved=self.edits.unsaved)

    def close(self) -> None:
        self._background.close()
        self.pipeline.close()


HANDLED = {declared_verb.name: declared_verb for declared_verb in (*declared(CommandHandler), *declared(Edits))}


def _cycle(names: tuple[str, ...], current: str, step: int, what: str) -> str:
    """The name `step` places after `current` in `names`, wrapping; the first (or last) if current is not there."""
    if not names:
        raise CommandError(f"no {what} to cycle through; list some in the config")
    index = names.index(current) if current in names else (-1 if step > 0 else 0)
    return names[(index + step) % len(names)]

