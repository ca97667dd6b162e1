"""POST /api/backgrounds: an upload streamed to disk, never held whole in memory.

A browser's upload is up to gallery.MAX_BYTES of untrusted bytes. They go in
CHUNK pieces into a 0600 temporary file in the backgrounds folder, written off
the event loop; the size limit counts while they arrive (a declared length
over it is refused before reading a byte); a client silent for IDLE_S is
dropped; and whatever fails (limit, stall, disconnect, bad content) removes
the temporary. At most CONCURRENT uploads run at once; another one gets 503
with Retry-After at once rather than waiting, so no queue of half-received
bodies builds up behind a slow one (the page uploads one file at a time).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from bgfx.live.web import gallery

CHUNK = 256 * 1024  # bytes read and written at a time
CONCURRENT = 2  # uploads running at once
IDLE_S = 10.0  # a client sending nothing this long is dropped
ENVELOPE = 64 * 1024  # the multipart boundaries and part headers around the file


class Uploads:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._running = 0  # counted on the event loop's thread only

    async def handle(self, request: web.Request) -> web.Response:
        """The answer to one upload: {ok, name, path}, or {ok: false, message} with 400/413/503/507."""
        declared = request.content_length
        if declared is not None and declared > gallery.MAX_BYTES + ENVELOPE:
            return _refused(gallery.TooLarge(f"{declared // 2**20} MiB: at most {gallery.MAX_BYTES // 2**20} MiB"))
        if self._running >= CONCURRENT:
            message = f"{CONCURRENT} uploads are running: try again when they finish"
            return web.json_response({"ok": False, "message": message}, status=503, headers={"Retry-After": "2"})
        self._running += 1
        try:
            name = await self._receive(request)
        except gallery.UploadError as e:
            return _refused(e)
        except TimeoutError:
            return _refused(gallery.UploadError(f"nothing received for {IDLE_S:.0f} s"), status=408)
        except OSError as e:  # the folder unwritable, the disk full
            return _refused(gallery.UploadError(f"cannot write it into {self.directory}: {e.strerror or e}"), status=500)
        finally:
            self._running -= 1
        return web.json_response({"ok": True, "name": name, "path": str(self.directory / name)})

    async def _receive(self, request: web.Request) -> str:
        """The upload's first part, checked and kept; its generated name."""
        if request.content_type != "multipart/form-data":
            raise gallery.UploadError(f'send multipart/form-data with the file as field "file", not {request.content_type}')
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(IDLE_S):
                part = await (await request.multipart()).next()
        except HttpProcessingError as e:  # aiohttp refuses a control character in the part's headers
            raise gallery.UploadError("the file name or the part's headers hold a control character: rename the file") from e
        if not isinstance(part, BodyPartReader) or part.name != "file":
            raise gallery.UploadError('send the file as multipart field "file"')
        gallery.check_filename(part.filename)
        await loop.run_in_executor(None, gallery.check_room, self.directory)  # a full gallery reads no bytes
        descriptor, temporary = await loop.run_in_executor(None, gallery.new_temporary, self.directory)
        try:
            with os.fdopen(descriptor, "wb") as file:
                await _stream(part, file, loop)
            return await loop.run_in_executor(None, gallery.keep, self.directory, temporary)
        finally:
            temporary.unlink(missing_ok=True)  # at once, even when cancelled (a client gone)


async def _stream(part: BodyPartReader, file, loop: asyncio.AbstractEventLoop) -> None:
    """The part's bytes into `file` CHUNK at a time; TooLarge past MAX_BYTES, TimeoutError when idle."""
    size = 0
    while True:
        async with asyncio.timeout(IDLE_S):
            chunk = await part.read_chunk(CHUNK)
        if not chunk:
            return
        size += len(chunk)
        if size > gallery.MAX_BYTES:
            raise gallery.TooLarge(f"over {gallery.MAX_BYTES // 2**20} MiB")
        await loop.run_in_executor(None, file.write, chunk)


def _refused(error: gallery.UploadError, status: int | None = None) -> web.Response:
    return web.json_response({"ok": False, "message": f"upload refused: {error}"}, status=status or error.status)
