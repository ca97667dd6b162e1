"""The live edits behind `set`, `order`, `save` and `revert`: a draft of the config, applied as it is edited.

The draft (the config file's YAML text with the edits since it was read) is
made by an `Editor` the tools provide (it keeps comments; `bgfx.config_edit`).
Each edit runs on the `Background` worker like a reload: validated, then its
chain prepared (or, when it changes models or refinement, a whole pipeline
built) while frames go on; the loop swaps it in between frames. The worker
runs jobs in order and keeps the newest draft itself, so quick edits build on
each other; `save` and `revert` queue behind them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bgfx.errors import CommandError
from bgfx.live.control.background import Deferred
from bgfx.live.control.commands import verb

if TYPE_CHECKING:  # the types only: declaring these verbs loads no engine
    from bgfx.live.settings import Config
    from bgfx.vision.effects import ChainItem
    from bgfx.vision.pipeline import Pipeline


class Editor(Protocol):
    def set(self, draft: str | None, key: str, value: str) -> tuple[Config, str]: ...

    def order(self, draft: str | None, names: list[str]) -> tuple[Config, str]: ...

    def save(self, draft: str | None) -> str: ...

    def changed_on_disk(self) -> bool: ...

    @property
    def path(self) -> Path | None: ...


class Running(Protocol):
    """What an edit reads of the running state and how it swaps its result in (the command handler gives it):
    nothing else of the handler is an edit's business."""

    config: Config
    pipeline: Pipeline
    preset: str

    def build(self, config: Config, chain: tuple[ChainItem, ...]) -> Pipeline: ...

    def install(self, new: Config, pipeline: Pipeline | None = None) -> None: ...

    def follow_file(self, path: Path) -> None: ...


class Edits:
    def __init__(self, handler: Running, editor: Editor | None) -> None:
        self._handler = handler
        self._editor = editor
        self.draft: str | None = None  # the worker's: the newest draft an edit made
        self.unsaved = False  # the loop's: edits applied since the file was read or saved

    def _needed(self) -> Editor:
        if self._editor is None:
            raise CommandError("this daemon cannot edit its config (started without a config file to edit)")
        return self._editor

    @verb("set", "change a setting live: effects.NAME.PARAM, refine.KEY, ... (`save` keeps it)", argument="KEY=VALUE")
    def set(self, argument: str) -> Deferred:
        key, equals, value = argument.partition("=")
        if not equals or not key:
            raise CommandError(f"set takes KEY=VALUE (e.g. effects.blur.strength=40), got {argument!r}")
        editor = self._needed()
        return self._apply(f"set {key}={value}", lambda: editor.set(self.draft, key, value), coalesce=f"set {key}")

    @verb("order", "run the chain's effects in this order", argument="NAME,NAME")
    def order(self, argument: str) -> Deferred:
        editor = self._needed()
        names = [name for name in argument.split(",") if name]
        return self._apply(f"order {','.join(names)}", lambda: editor.order(self.draft, names), coalesce="order")

    @verb("save", "write the live settings into the config file (its comments kept)")
    def save(self) -> Deferred:
        editor = self._needed()

        def finish(where: str) -> str:
            self.unsaved = False
            if editor.path is not None:
                self._handler.follow_file(editor.path)
            return f"saved {where}"

        return Deferred("edit", lambda: editor.save(self.draft), finish)

    def file_changed(self) -> bool:
        """The config file differs from what bgfx last read or wrote (always, without an editor to know)."""
        return self._editor is None or self._editor.changed_on_disk()

    def forget(self) -> None:
        """The file is the truth again (a reload, on the worker): the draft is dropped before the next job."""
        self.draft = None

    def _apply(self, done: str, edit, coalesce: str) -> Deferred:
        handler = self._handler

        def work():
            config, text = edit()
            running, pipeline = handler.config, handler.pipeline
            same_models = config.segmentation == running.segmentation and config.refine == running.refine
            chain = config.chain(handler.preset if handler.preset in config.preset_names else "default")
            built = pipeline.prepare(items=chain) if same_models else handler.build(config, chain)
            self.draft = text
            return config, built, same_models, pipeline, chain

        def finish(result) -> str:
            config, built, same_models, pipeline, chain = result
            if same_models and handler.pipeline is pipeline:
                pipeline.commit(built)
            elif same_models:  # a reload replaced the pipeline meanwhile: the chain goes onto the new one
                built.discard()
                handler.pipeline.commit(handler.pipeline.prepare(items=chain))
            handler.install(config, None if same_models else built)
            self.unsaved = True
            return done

        def discard(result) -> None:
            result[1].discard() if result[2] else result[1].close()

        return Deferred("edit", work, finish, discard, coalesce=coalesce)
