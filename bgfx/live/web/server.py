"""The control page's server: aiohttp on its own thread and event loop, inside the daemon.

Why aiohttp: one small dependency that serves HTTP and WebSockets from the
same asyncio loop without an ASGI server beside it, and runs happily on a
thread of its own (Starlette would need uvicorn, and uvicorn wants the main
thread for its signals).

It reaches the live loop only through the command layer (`Asker.ask`, the
same verbs hotkeys and `bgfx ctl` send) and the latest-only preview slot.
Backgrounds and the model catalog are files, read and written here.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from importlib import resources
from pathlib import Path

import cv2
from aiohttp import WSMsgType, web

from bgfx.live.control.commands import Asker
from bgfx.live.settings import LOOPBACK, WebSettings
from bgfx.live.web import gallery
from bgfx.live.web.guard import add_headers, answer_errors, guard, new_token, write_token_file
from bgfx.live.web.preview import PreviewSlot
from bgfx.live.web.uploads import Uploads
from bgfx.vision.models import find, load_catalog

log = logging.getLogger(__name__)

STATIC = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
STATUS_EVERY_S = 1.0
MAX_BODY = 64 * 1024  # a request's body read whole (JSON); uploads stream past it
MAX_SOCKETS = 8  # pages open at once (each costs a JPEG encode per preview picture)


def _authority(host: str, port: int) -> str:
    """host:port as a URL and a Host header write it (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class WebServer:
    def __init__(self, settings: WebSettings, asker: Asker, preview: PreviewSlot, token_file: Path) -> None:
        self.settings = settings
        self._asker = asker
        self._preview = preview
        self._token_file = token_file
        self.token = new_token()
        self.port = 0
        self.backgrounds = gallery.folder()
        self._uploads = Uploads(self.backgrounds)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bgfx-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{_authority(self.settings.host, self.port)}/"

    def hosts(self) -> set[str]:
        """The Host headers served: every loopback name when it listens on loopback, else its own address."""
        names = LOOPBACK if self.settings.host in LOOPBACK else (self.settings.host,)
        return {_authority(name, self.port) for name in names}

    def start(self) -> None:
        """Bind (the configured port, or a free one when it is taken) and serve; write the token file."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        write_token_file(self._token_file, self.url, self.token)
        log.info("control page at %s (open it with `bgfx web`)", self.url)

    async def _start(self) -> None:
        app = web.Application(middlewares=[answer_errors, guard(self.token, self.hosts)], client_max_size=MAX_BODY)
        app.add_routes([
            web.get("/", self._static), web.get("/static/{name}", self._static),
            web.post("/api/ask", self._ask), web.get("/api/settings", self._settings), web.get("/api/models", self._models),
            web.get("/api/backgrounds", self._backgrounds), web.post("/api/backgrounds", self._uploads.handle),
            web.get("/api/backgrounds/{name}", self._thumbnail), web.delete("/api/backgrounds/{name}", self._delete),
            web.get("/ws", self._socket),
        ])  # fmt: skip
        app.on_shutdown.append(self._close_sockets)
        app.on_response_prepare.append(add_headers)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        for port in dict.fromkeys((self.settings.port, 0)):
            try:
                site = web.TCPSite(self._runner, self.settings.host, port)
                await site.start()
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE or port == 0:
                    raise
                log.warning("control page: port %d is taken; using a free one", port)
        self.port = self._runner.addresses[0][1]

    async def _close_sockets(self, app: web.Application) -> None:
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"bgfx is stopping")

    def stop(self) -> None:
        """Close the pages' sockets and the listener; never raises (the daemon is on its way out)."""
        if self._runner is not None and self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            except Exception as e:  # a stuck handler must not keep the daemon from stopping
                log.warning("control page: unclean stop (%s)", type(e).__name__)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._token_file.unlink(missing_ok=True)

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name", "index.html")
        if name not in STATIC:
            raise web.HTTPNotFound()
        body = resources.files("bgfx.live.web").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=STATIC[name], charset="utf-8")

    async def ask(self, text: str) -> dict:
        """A command through the command layer, waited for off this loop (the live loop answers)."""
        return await asyncio.get_running_loop().run_in_executor(None, self._asker.ask, text)

    async def _ask(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":  # a form or text/plain post would need no CORS preflight
            return web.json_response({"ok": False, "message": "send application/json"}, status=415)
        try:
            body = await request.json()
            command = body["command"]
            if not isinstance(command, str) or len(command) > 4096:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return web.json_response({"ok": False, "message": 'send {"command": "VERB ARGUMENT"}'}, status=400)
        return web.json_response(await self.ask(command))

    async def _settings(self, request: web.Request) -> web.Response:
        answer = await self.ask("settings")
        if not answer["ok"]:
            return web.json_response(answer, status=503)
        return web.json_response({"ok": True, "settings": answer["data"]})

    async def _models(self, request: web.Request) -> web.Response:
        catalog = load_catalog()
        models = [{"name": name, "input": f"{entry.input_hw[1]}x{entry.input_hw[0]}", "masks": list(entry.labels),
                   "present": find(entry) is not None} for name, entry in catalog.entries.items()]  # fmt: skip
        return web.json_response({"ok": True, "models": models})

    async def _backgrounds(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "backgrounds": gallery.entries(self.backgrounds)})

    async def _thumbnail(self, request: web.Request) -> web.Response:
        try:
            path = gallery.resolve(self.backgrounds, request.match_info["name"])
            body = await asyncio.get_running_loop().run_in_executor(None, gallery.thumbnail, path)
        except gallery.UploadError as e:
            return web.json_response({"ok": False, "message": str(e)}, status=404)
        return web.Response(body=body, content_type="image/jpeg")

    async def _delete(self, request: web.Request) -> web.Response:
        try:
            gallery.resolve(self.backgrounds, request.match_info["name"]).unlink()
        except gallery.UploadError as e:
            return web.json_response({"ok": False, "message": str(e)}, status=404)
        return web.json_response({"ok": True})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        """Preview pictures (binary JPEG) while the page is open, and the status (JSON) every second."""
        if len(self._sockets) >= MAX_SOCKETS:
            return web.json_response({"ok": False, "message": f"{MAX_SOCKETS} pages are open: close one"}, status=503)
        socket = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
        await socket.prepare(request)
        view = {"name": "output"}
        reader = asyncio.ensure_future(self._read_views(socket, view))
        self._sockets.add(socket)
        self._preview.watchers += 1
        try:
            await self._push(socket, view, reader)
        finally:
            self._preview.watchers -= 1
            self._sockets.discard(socket)
            reader.cancel()
        return socket

    async def _read_views(self, socket: web.WebSocketResponse, view: dict) -> None:
        async for message in socket:
            if message.type == WSMsgType.TEXT and message.data in ("output", "camera", "mask"):
                view["name"] = message.data

    async def _push(self, socket: web.WebSocketResponse, view: dict, reader: asyncio.Future) -> None:
        sequence, next_status = 0, 0.0
        loop = asyncio.get_running_loop()
        while not socket.closed and not reader.done():
            sequence, views = self._preview.take(sequence)
            picture = views.get(view["name"]) if views else None
            if picture is not None:
                jpeg = await loop.run_in_executor(None, lambda: cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes())
                await socket.send_bytes(jpeg)
            if loop.time() >= next_status:
                next_status = loop.time() + STATUS_EVERY_S
                await socket.send_json(await self.ask("status"))
            await asyncio.sleep(0.02)
