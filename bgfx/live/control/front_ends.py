"""The threads that hand commands to the live loop: the control socket, shortcuts and the config-file watch.

They start once the daemon streams, follow a reload (new hotkeys, the watch
turned on or off) and stop with the daemon. None of them touches the live
state: they enqueue, and the loop applies.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bgfx.live.control.commands import Asker, CommandQueue
from bgfx.live.control.config_watch import ConfigWatch
from bgfx.live.control.hotkeys import Hotkeys, shortcut_backend
from bgfx.live.control.portal_shortcuts import PortalShortcuts
from bgfx.live.control.socket_server import ControlServer, runtime_dir, socket_path
from bgfx.live.settings import Config, WebSettings
from bgfx.live.web.preview import PreviewSlot


log = logging.getLogger(__name__)


class FrontEnds:
    """config_path: the file to watch for saves (None: the shipped default, which is never watched)."""

    def __init__(self, commands: CommandQueue, asker: Asker, config_path: Path | None) -> None:
        self._commands = commands
        self._asker = asker
        self._config_path = config_path
        self.control = ControlServer(socket_path(), asker)
        self.preview = PreviewSlot()
        self.web = None
        self._hotkeys: Hotkeys | PortalShortcuts | None = None
        self._watch: ConfigWatch | None = None

    def start_control(self) -> None:
        """The socket first: ControlError (another daemon answers there) before anything else opens."""
        self.control.start()

    def start(self, config: Config) -> None:
        self._set_hotkeys(config.hotkeys)
        self._set_watch(config.live.watch_config)
        self._set_web(config.live.web)

    def adopt(self, old: Config, new: Config) -> None:
        """Follow a reload: restart the hotkeys if their bindings changed, start or stop the watch. The page is
        never rebound by a reload: where it listens and who may reach it is read once, at start."""
        if new.hotkeys != old.hotkeys:
            self._set_hotkeys(new.hotkeys)
        if new.source != old.source:  # a first save made the user's file the config: watch that one
            self._set_watch(False)
            self._config_path = Path(new.source)
        self._set_watch(new.live.watch_config)
        if new.live.web != old.live.web:
            log.warning("live.web: %s → %s applies on restart only (the control page stays where it is)",
                        _web_text(old.live.web), _web_text(new.live.web))

    def _set_hotkeys(self, bindings: dict[str, str]) -> None:
        if self._hotkeys is not None:
            self._hotkeys.stop()
        self._hotkeys = self._start_shortcuts(bindings)

    def _start_shortcuts(self, bindings: dict[str, str]) -> Hotkeys | PortalShortcuts:
        """pynput on X11, the GlobalShortcuts portal otherwise (hotkeys.shortcut_backend says why)."""
        backend, why = shortcut_backend(os.environ)
        listener = Hotkeys(bindings, self._commands) if backend == "x11" else PortalShortcuts(bindings, self._commands)
        if bindings:
            log.info("shortcut back end: %s (%s)", "pynput (X11)" if backend == "x11" else "GlobalShortcuts portal", why)
            listener.start()
        return listener

    def _set_web(self, settings: WebSettings) -> None:
        """The control page, (re)started on its settings; a port or address that cannot be had is logged."""
        from bgfx.live.web.server import WebServer  # aiohttp only when the page is wanted

        if self.web is not None:
            self.web.stop()
            self.web = None
        if not settings.enabled:
            return
        server = WebServer(settings, self._asker, self.preview, runtime_dir() / "web.json")
        try:
            server.start()
        except OSError as e:
            log.error("control page: cannot listen on %s:%d (%s); set live.web.port", settings.host, settings.port, e.strerror)
            server.stop()
            return
        self.web = server

    def _set_watch(self, wanted: bool) -> None:
        wanted = wanted and self._config_path is not None
        if wanted and self._watch is None:
            assert self._config_path is not None
            self._watch = ConfigWatch(self._config_path, self._commands)
            self._watch.start()
        elif not wanted and self._watch is not None:
            self._watch.stop()
            self._watch = None

    def stop(self) -> None:
        if self._hotkeys is not None:
            self._hotkeys.stop()
        if self._watch is not None:
            self._watch.stop()
        if self.web is not None:
            self.web.stop()
        self.control.stop()


def _web_text(web: WebSettings) -> str:
    return f"{'on' if web.enabled else 'off'} at {web.host}:{web.port}{' (remote allowed)' if web.allow_remote else ''}"
