"""The one way bgfx writes a file a user or a program reads: whole or not at all, and on disk before it counts.

A config saved from the page, a downloaded model, a processed video, the systemd unit, the page's token file:
each is written under a hidden temporary name beside its target (same folder, so the rename is atomic; same
extension, so an encoder picks its format by it), flushed to disk, given its mode and renamed over the target in
one step, then the folder is flushed so the rename survives a power cut. On any error the temporary is removed
and the target is as it was. Nothing is ever half-written under its final name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType


class AtomicFile:
    """Context manager: the temporary path to write (by any means: open, an encoder, a copy); replaces `target`
    when the block ends without an error.

    mode: the file's permission bits; None keeps an existing target's and gives a new file the usual
    0666 minus the umask. The temporary is 0600 until the rename, so a private file is never readable by others.
    OSError from creating, flushing or renaming propagates; the caller names its key and the fix.
    """

    def __init__(self, target: Path, mode: int | None = None) -> None:
        self.target = target
        self.mode = mode
        self.temporary: Path | None = None

    def __enter__(self) -> Path:
        handle, name = tempfile.mkstemp(prefix=f".{self.target.stem}.", suffix=f".part{self.target.suffix}",
                                        dir=self.target.parent)
        os.close(handle)
        self.temporary = Path(name)
        return self.temporary

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        assert self.temporary is not None
        if kind is not None:
            self.temporary.unlink(missing_ok=True)
            return
        try:
            with open(self.temporary, "rb+") as written:
                os.fsync(written.fileno())
            os.chmod(self.temporary, self._mode())
            os.replace(self.temporary, self.target)
        except BaseException:
            self.temporary.unlink(missing_ok=True)
            raise
        _sync_folder(self.target.parent)

    def _mode(self) -> int:
        if self.mode is not None:
            return self.mode
        try:
            return self.target.stat().st_mode & 0o7777
        except FileNotFoundError:
            return 0o666 & ~_umask()


def write_text(target: Path, text: str, mode: int | None = None) -> None:
    """`target` holds exactly `text` (UTF-8), written as `AtomicFile` says."""
    with AtomicFile(target, mode) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the rename (a file system that cannot, e.g. some FUSE ones, is let be)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
