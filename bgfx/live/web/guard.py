"""What stands between the network and the daemon: a per-start token, Host and Origin checks, strict headers.

A local web server is an attack surface: any page in the user's browser can
send requests to 127.0.0.1, and DNS rebinding can make a foreign name resolve
there. So every request needs the token (a cookie the page gets from the URL
`bgfx web` opens, after which the URL is cleaned); the Host header must be the
loopback name and port served (a rebound name is refused); a state-changing
request or a WebSocket upgrade must come from the page's own Origin; no CORS
header is ever sent; and a strict Content-Security-Policy lets the page load
only its own files. Every answer, an error's too (404, 405, 413, 500), carries
those headers and a JSON body `{"ok": false, "message": ...}` the page can show.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web

from bgfx.atomic_file import write_text

COOKIE = "bgfx_token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; media-src 'self' blob:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY", "Cache-Control": "no-store", "Cross-Origin-Resource-Policy": "same-origin",
}  # fmt: skip
SAFE_METHODS = ("GET", "HEAD")

log = logging.getLogger(__name__)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_token_file(path: Path, url: str, token: str) -> None:
    """{url, token} in the 0700 runtime folder, readable by this user only (`bgfx web` reads it)."""
    write_text(path, json.dumps({"url": url, "token": token}), 0o600)


def guard(token: str, hosts: Callable[[], set[str]]) -> Callable:
    """The middleware: hosts() gives the Host values served ("127.0.0.1:8790", "localhost:8790", ...)."""

    def origin_ok(request: web.Request) -> bool:
        return request.headers.get("Origin") in {f"http://{host}" for host in hosts()}

    @web.middleware
    async def check(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if request.headers.get("Host") not in hosts():
            return _refuse(421, "unknown host: open the page by the address `bgfx web` prints")
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if (request.method not in SAFE_METHODS or upgrade) and not origin_ok(request):
            return _refuse(403, "cross-origin request refused")
        given = request.query.get("token")
        if request.path == "/" and given is not None and _same(given, token):
            response = web.Response(status=303, headers={"Location": "/"})  # the token goes into a cookie; the URL is cleaned
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            return response
        if not _same(request.cookies.get(COOKIE, ""), token):
            return _refuse(401, "no valid token: open the page with `bgfx web`")
        return await handler(request)

    return check


@web.middleware
async def answer_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """The outermost middleware: an HTTP error (a route's 404, 405, a body's 413) as the page's JSON, and an
    unforeseen exception as a 500 whose traceback goes to the log, never to the client."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        kept = {key: value for key, value in e.headers.items() if key in ("Allow", "Retry-After")}
        return web.json_response({"ok": False, "message": e.reason.lower()}, status=e.status, headers=kept)
    except Exception:
        log.exception("control page: %s %s failed", request.method, request.path)
        return _refuse(500, "internal error: the daemon's log has the details")


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the security headers on every answer the application gives, whoever made it."""
    response.headers.update(HEADERS)


def _same(given: str, token: str) -> bool:
    """Whether a client's token is ours, in constant time; any text (non-ASCII, surrogates) is just unequal."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def _refuse(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "message": reason}, status=status)
