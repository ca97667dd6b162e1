"""The one atomic write: whole or not at all, flushed, with the mode asked for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bgfx import atomic_file
from bgfx.atomic_file import AtomicFile, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with AtomicFile(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("the disk went away")
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_the_content_is_flushed_before_the_rename_and_the_folder_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic_file.os, "fsync", lambda fd: order.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file") or real_fsync(fd))
    monkeypatch.setattr(atomic_file.os, "replace", lambda a, b: order.append("rename") or real_replace(a, b))
    write_text(tmp_path / "unit.service", "[Unit]\n")
    assert order == ["file", "rename", "dir"] and (tmp_path / "unit.service").read_text() == "[Unit]\n"


def test_modes_asked_kept_or_usual(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        write_text(tmp_path / "token.json", "{}", 0o600)
        write_text(tmp_path / "unit.service", "x", 0o644)  # asked: whatever the umask
        kept = tmp_path / "mine.yaml"
        kept.write_text("a")
        kept.chmod(0o640)
        write_text(kept, "b")  # None: the user's own mode stays
        write_text(tmp_path / "new.txt", "c")  # None on a new file: 0666 minus the umask
    finally:
        os.umask(old_umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"token.json": 0o600, "unit.service": 0o644, "mine.yaml": 0o640, "new.txt": 0o600}
    assert kept.read_text() == "b"
