"""The control page as an attack surface: raw HTTP against a running daemon's page, no browser manners."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from bgfx.live.web.gallery import MAX_BYTES
from tests.conftest import ROOT
from tests.support.web import start_with_page


@pytest.fixture()
def page(tmp_path: Path) -> Iterator[dict]:
    daemon, config, url, token = start_with_page(tmp_path)
    port = urlparse(url).port
    yield {"daemon": daemon, "port": port, "token": token, "host": f"127.0.0.1:{port}", "origin": f"http://127.0.0.1:{port}",
           "backgrounds": Path(os.environ["XDG_DATA_HOME"]) / "bgfx" / "backgrounds"}
    assert daemon.stop() == 0


def send(page: dict, method: str, path: str, *, token: str | None = "", host: str | None = None,
         origin: str | None = None, body: bytes | None = None, headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", page["port"], timeout=30)
    sent = {"Host": host or page["host"], **(headers or {})}
    if token is not None:
        sent["Cookie"] = f"bgfx_token={page['token'] if token == '' else token}"
    if origin is not None:
        sent["Origin"] = origin
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    response.body = response.read()
    return response


def multipart(filename: str, data: bytes) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_every_request_needs_the_token(page: dict) -> None:
    for path in ("/", "/static/app.js", "/api/settings", "/api/backgrounds"):
        assert send(page, "GET", path, token=None).status == 401
        assert send(page, "GET", path, token="guess").status == 401
    assert send(page, "GET", "/api/settings").status == 200
    assert send(page, "GET", f"/?token=guess", token=None).status == 401  # a wrong token gets no cookie
    welcome = send(page, "GET", f"/?token={page['token']}", token=None)
    assert welcome.status == 303 and welcome.getheader("Location") == "/"
    assert f"bgfx_token={page['token']}" in welcome.getheader("Set-Cookie") and "HttpOnly" in welcome.getheader("Set-Cookie")


def test_a_foreign_host_or_origin_is_refused_and_no_cors_is_granted(page: dict) -> None:
    assert send(page, "GET", "/api/settings", host=f"attacker.example:{page['port']}").status == 421  # DNS rebinding
    command = json.dumps({"command": "pause"}).encode()
    json_type = {"Content-Type": "application/json"}
    for origin in ("http://attacker.example", "null", None):
        refused = send(page, "POST", "/api/ask", origin=origin, body=command, headers=json_type)
        assert refused.status == 403 and refused.getheader("Access-Control-Allow-Origin") is None
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
    assert send(page, "GET", "/ws", origin="http://attacker.example", headers=upgrade).status == 403
    assert send(page, "GET", "/ws", origin=page["origin"], headers=upgrade).status == 101
    assert page["daemon"].status()["state"] == "running"  # none of it paused the camera
    allowed = send(page, "POST", "/api/ask", origin=page["origin"], body=command, headers=json_type)
    assert allowed.status == 200 and json.loads(allowed.body) == {"ok": True, "message": "paused"}
    policy = allowed.getheader("Content-Security-Policy")
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert allowed.getheader("Access-Control-Allow-Origin") is None


def test_uploads_are_checked_by_content_and_size_and_stay_in_the_folder(page: dict, tmp_path: Path) -> None:
    folder = page["backgrounds"]

    def upload(filename: str, data: bytes) -> http.client.HTTPResponse:
        body, headers = multipart(filename, data)
        return send(page, "POST", "/api/backgrounds", origin=page["origin"], body=body, headers=headers)

    assert upload("notes.png", b"#!/bin/sh\necho not an image\n" * 10).status == 400
    bomb = io.BytesIO()
    Image.new("L", (12000, 12000)).save(bomb, "PNG")  # 144 MP of nothing: a few hundred KiB
    assert b"upload refused" in upload("bomb.png", bomb.getvalue()).body
    assert upload("big.png", png() + b"\0" * (MAX_BYTES + 1)).status in (400, 413)
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing refused was written
    kept = upload("../../../outside.png", png())
    assert kept.status == 200
    name = json.loads(kept.body)["name"]
    assert [p.name for p in folder.iterdir()] == [name] and name.endswith(".png") and "outside" not in name
    assert not (folder.parent.parent / "outside.png").exists() and not (tmp_path / "outside.png").exists()
    for hostile in ("..%2F..%2Fbgfx.yaml", "%2Fetc%2Fpasswd", "x.png"):
        assert send(page, "DELETE", f"/api/backgrounds/{hostile}", origin=page["origin"]).status == 404
    assert send(page, "GET", f"/api/backgrounds/{name}").getheader("Content-Type") == "image/jpeg"
    assert send(page, "DELETE", f"/api/backgrounds/{name}", origin=page["origin"]).status == 200
    assert list(folder.iterdir()) == []


def test_bgfx_web_prints_the_address_with_the_token(page: dict) -> None:
    printed = subprocess.run([sys.executable, "-m", "bgfx", "web", "--no-open"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and printed.stdout.strip() == f"http://127.0.0.1:{page['port']}/?token={page['token']}"


def test_bgfx_web_without_a_daemon_says_so_in_one_line() -> None:
    printed = subprocess.run([sys.executable, "-m", "bgfx", "web", "--no-open"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert printed.returncode != 0 and "Traceback" not in printed.stderr
    assert "no control page: is `bgfx run` running" in printed.stderr
