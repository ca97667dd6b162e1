"""Who reads a PipeWire node, from `pw-dump --monitor`: event-driven, so on demand needs no polling.

`pw-dump --monitor` prints the graph as JSON arrays of objects, then a new
array at every change: an object with its full `info` when it appears or
changes, `{"id": N, "info": null}` when it goes. The readers of a node are the
distinct input nodes of the links whose output is that node.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import subprocess
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

MONITOR = ["pw-dump", "--monitor", "--no-colors"]
MAX_PENDING = 16 * 1024 * 1024  # chars of unparsed monitor output before the monitor is started again
SESSION_MANAGERS = ("WirePlumber", "pipewire-media-session")


class Graph:
    """The nodes named `name` (Video/Source) and every link, updated from pw-dump objects."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: set[int] = set()
        self.links: dict[int, tuple[int, int]] = {}

    def apply(self, objects: list[dict[str, Any]]) -> None:
        for item in objects:
            ident, info, kind = item.get("id"), item.get("info"), str(item.get("type", ""))
            if info is None:
                self.nodes.discard(ident)
                self.links.pop(ident, None)
            elif kind.endswith("Interface:Node"):
                props = info.get("props") or {}
                if props.get("node.name") == self.name and props.get("media.class") == "Video/Source":
                    self.nodes.add(ident)
            elif kind.endswith("Interface:Link"):
                self.links[ident] = (info.get("output-node-id"), info.get("input-node-id"))

    def readers(self) -> int:
        return len({reader for source, reader in self.links.values() if source in self.nodes})


def batches(text: str, decoder: json.JSONDecoder = json.JSONDecoder()) -> tuple[list[list[dict[str, Any]]], str]:
    """The complete JSON arrays at the start of `text`, and what is left (an incomplete one, to be continued)."""
    found = []
    while True:
        text = text.lstrip()
        if not text:
            return found, ""
        try:
            batch, end = decoder.raw_decode(text)
        except json.JSONDecodeError:
            return found, text
        if isinstance(batch, list):
            found.append([item for item in batch if isinstance(item, dict)])
        text = text[end:]


class GraphWatch:
    """A `pw-dump --monitor` child read by a thread; `readers()` now, `wait(timeout)` for a change."""

    def __init__(self, name: str) -> None:
        self._graph = Graph(name)
        self._count = 0
        self._changed = threading.Condition()
        self._closed = False
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="pipewire-graph", daemon=True)
        self._thread.start()

    def readers(self) -> int:
        return self._count

    def wait(self, timeout_s: float) -> int:
        """The reader count after waiting up to timeout_s for it to change."""
        with self._changed:
            if not self._closed:
                self._changed.wait(timeout_s)
            return self._count

    def _run(self) -> None:
        while not self._closed:
            try:
                self._process = subprocess.Popen(MONITOR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError as e:
                log.error("pipewire sink: cannot run pw-dump (%s); install pipewire-bin", e)
                return
            self._follow(self._process)
            self._graph = Graph(self._graph.name)  # PipeWire went away (or restarted): nobody reads
            self._publish()
            if not self._closed:
                time.sleep(1.0)

    def _follow(self, process: subprocess.Popen[bytes]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        fd = process.stdout.fileno()
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            found, pending = batches(pending + decoder.decode(chunk))
            for batch in found:
                self._graph.apply(batch)
            if found:
                self._publish()
            if len(pending) > MAX_PENDING:
                log.warning("pipewire sink: unreadable pw-dump output; starting it again")
                process.kill()
                break
        process.wait()
        process.stdout.close()

    def _publish(self) -> None:
        count = self._graph.readers()
        if count != self._count:
            log.info("pipewire camera %r: %d reader%s", self._graph.name, count, "" if count == 1 else "s")
            with self._changed:
                self._count = count
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._process is not None:
            self._process.kill()
        self._thread.join(timeout=5)


def session_info(timeout_s: float = 5.0) -> tuple[str, list[str]] | None:
    """(the PipeWire daemon's version, the session managers connected) of this session; None when none answers."""
    try:
        result = subprocess.run(["pw-dump", "--no-colors"], capture_output=True, timeout=timeout_s)
        objects = json.loads(result.stdout) if result.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(objects, list):
        return None
    version, managers = None, []
    for item in objects:
        info = item.get("info") or {}
        kind = str(item.get("type", ""))
        if kind.endswith("Interface:Core") and version is None:
            version = str(info.get("version", "?"))
        elif kind.endswith("Interface:Client"):
            application = str((info.get("props") or {}).get("application.name", ""))
            if any(manager in application for manager in SESSION_MANAGERS):
                managers.append(application)
    return None if version is None else (version, managers)
