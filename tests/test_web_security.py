"""The control page as an attack surface: raw HTTP against a running daemon's page, no browser manners."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import threading
import time
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

pytestmark = pytest.mark.e2e


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
    assert upload("../../../outside.png", png()).status == 400  # a browser sends no path: a client that does is refused
    kept = upload("..", png())  # the stored name is generated, whatever the name given
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


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def upload(page: dict, filename: str, data: bytes) -> http.client.HTTPResponse:
    body, headers = multipart(filename, data)
    return send(page, "POST", "/api/backgrounds", origin=page["origin"], body=body, headers=headers)


def raw(page: dict, request: bytes) -> bytes:
    """Bytes sent as they are (no client's encoding), the server's whole answer back."""
    import socket

    with socket.create_connection(("127.0.0.1", page["port"]), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_odd_tokens_are_refused_with_401_never_500(page: dict) -> None:
    host = page["host"].encode()
    for query in ("token=%C3%A9t%C3%A9", "token=%ZZ", "token=%00", "token=" + "a" * 6000):
        answer = raw(page, b"GET /?" + query.encode() + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 401"), (query, answer[:200])
    for cookie in ("bgfx_token=été".encode(), b"bgfx_token=\xff\xfe", b"bgfx_token=" + b"a" * 6000, b"bgfx_token=%ZZ"):
        answer = raw(page, b"GET /api/settings HTTP/1.1\r\nHost: " + host + b"\r\nCookie: " + cookie + b"\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 401"), (cookie, answer[:200])
    both = send(page, "GET", f"/api/settings?token=%C3%A9", token="été".encode().decode("latin-1"))
    assert both.status == 401
    assert send(page, "GET", f"/?token={page['token']}", token="é".encode().decode("latin-1")).status == 303  # the URL's token wins
    assert page["daemon"].status()["state"] == "running"


def test_odd_upload_filenames_are_refused_with_400_and_a_reason(page: dict) -> None:
    for filename in ("a\0b.png", "a\x01\x7f.png", "a/b\\c.png", "x" * 5000 + ".png", "\x1b[31mred.png"):
        refused = upload(page, filename, png())
        assert refused.status == 400, (filename[:20], refused.status, refused.body[:200])
        assert b"upload refused: the file name" in refused.body, refused.body
    assert upload(page, "été.png", png()).status == 200  # a non-ASCII name is fine; the stored name is generated
    assert not [p for p in page["backgrounds"].iterdir() if p.name.startswith(".")]  # no temporary left


def test_every_answer_has_the_security_headers(page: dict) -> None:
    answers = {
        404: send(page, "GET", "/nowhere"), 401: send(page, "GET", "/api/settings", token=None),
        403: send(page, "POST", "/api/ask", origin="http://attacker.example", body=b"{}"),
        405: send(page, "PUT", "/api/ask", origin=page["origin"], body=b"{}"),
        421: send(page, "GET", "/", host="attacker.example"),
        400: send(page, "POST", "/api/ask", origin=page["origin"], body=b"not json", headers={"Content-Type": "application/json"}),
        415: send(page, "POST", "/api/ask", origin=page["origin"], body=b"{}"),
        413: upload(page, "big.png", png() + b"\0" * (MAX_BYTES + 1)),
        200: send(page, "GET", "/api/backgrounds"),
    }  # fmt: skip
    for status, answer in answers.items():
        assert answer.status == status, (status, answer.status, answer.body[:200])
        missing = [name for name in SECURITY_HEADERS if answer.getheader(name) is None]
        assert missing == [], (status, missing)
        assert answer.getheader("X-Frame-Options") == "DENY" and "default-src 'none'" in answer.getheader("Content-Security-Policy")


def test_the_gallery_is_capped_and_says_it_is_full(page: dict) -> None:
    from bgfx.live.web.gallery import MAX_PICTURES

    for index in range(MAX_PICTURES):
        assert upload(page, "p.png", png(64 + index, 48)).status == 200, index
    full = upload(page, "one-more.png", png(40, 40))
    assert full.status == 507 and b"gallery is full" in full.body and b"delete" in full.body
    assert len(list(page["backgrounds"].iterdir())) == MAX_PICTURES
    name = json.loads(send(page, "GET", "/api/backgrounds").body)["backgrounds"][0]["name"]
    assert send(page, "DELETE", f"/api/backgrounds/{name}", origin=page["origin"]).status == 200
    assert upload(page, "one-more.png", png(40, 40)).status == 200  # room again after a delete


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_concurrent_big_uploads_stream_to_disk_in_bounded_memory(page: dict) -> None:
    import threading
    import time

    pid, peak, done = page["daemon"].process.pid, [0], threading.Event()
    idle = rss_kib(pid)

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.005)

    statuses: list[int] = []
    bodies = [png() + os.urandom(16) + b"\0" * (60 * 1024 * 1024) for _ in range(6)]
    threads = [threading.Thread(target=lambda b=b: statuses.append(upload(page, "big.png", b).status)) for b in bodies]
    sampler = threading.Thread(target=sample)
    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sampler.join()
    growth_mb = (peak[0] - idle) / 1024
    print(f"idle {idle / 1024:.0f} MB, peak {peak[0] / 1024:.0f} MB, growth {growth_mb:.0f} MB, statuses {sorted(statuses)}")
    assert set(statuses) <= {200, 503, 507} and statuses.count(200) >= 2, statuses
    assert growth_mb < 150, growth_mb
    assert not [p for p in page["backgrounds"].iterdir() if p.name.startswith(".")]
    assert page["daemon"].status()["state"] == "running"


def test_a_reload_never_rebinds_the_page(tmp_path: Path) -> None:
    """A file edited to expose the page (another port, 0.0.0.0, allow_remote) takes effect only at a restart."""
    daemon, config, url, token = start_with_page(tmp_path)
    try:
        port = urlparse(url).port
        config.write_text(config.read_text().replace("web: {port: 0}", "web: {port: 0, host: 0.0.0.0, allow_remote: true}"))
        assert daemon.ctl("reload").returncode == 0
        page_file = Path(os.environ["XDG_RUNTIME_DIR"]) / "bgfx" / "web.json"
        assert json.loads(page_file.read_text())["url"] == url
        answer = send({"port": port, "token": token, "host": f"127.0.0.1:{port}"}, "GET", "/api/settings")
        assert answer.status == 200
        assert "live.web: on at 127.0.0.1:0 → on at 0.0.0.0:0 (remote allowed) applies on restart only" in daemon.log()
    finally:
        assert daemon.stop() == 0


def test_a_page_asking_while_the_daemon_stops_never_holds_the_exit(page: dict) -> None:
    """Settings asked over and over while SIGTERM lands: an ask the ended loop would never answer is answered
    "bgfx is stopping", so the process exits within the stop's 10 s (it used to wait out the 15 s ask timeout)."""
    answers: list[str] = []
    stopping = threading.Event()

    def ask_again() -> None:
        while not stopping.is_set():
            try:
                answer = send(page, "GET", "/api/settings")
                answers.append(json.loads(answer.body)["message"] if answer.status != 200 else "ok")
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.01)  # the listener is going or gone

    askers = [threading.Thread(target=ask_again, daemon=True) for _ in range(4)]
    for asker in askers:
        asker.start()
    while len(answers) < 20:
        time.sleep(0.05)
    try:
        assert page["daemon"].stop() == 0
    finally:
        stopping.set()
    assert not [a for a in answers if "no answer" in a], answers[-5:]
