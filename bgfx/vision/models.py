"""The model catalog (`models/models.yaml`) and the store: find, download, verify, import.

A model is found, in order: an explicit path; the user's model directory
(`$XDG_DATA_HOME/bgfx/models`); each directory in `BGFX_MODEL_PATH`
(colon-separated); else it is downloaded from its official URL. A download goes
to a temporary file in the target directory that is checked (sha256 where the
catalog knows it, then `verify`, which loads it as a segmenter) before it is
renamed into place, so an interrupted or corrupt download never leaves a file
that looks valid. This module does not import MediaPipe: callers pass `verify`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import platformdirs
import yaml
from tqdm import tqdm

from bgfx.atomic_file import AtomicFile
from bgfx.errors import ModelError
from bgfx.shipped import shipped_file

log = logging.getLogger(__name__)

MODEL_PATH_ENV = "BGFX_MODEL_PATH"
MIN_MODEL_BYTES = 1024
MAX_MODEL_BYTES = 100 * 2**20  # the largest MediaPipe segmenter is ~16 MB
_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime ns) → sha256 already computed
Verify = Callable[[Path, "CatalogEntry | None"], None]
"""Raises ModelError when the file at the path is not a usable segmenter (for that entry)."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One seed model. input_hw: (height, width) of its input tensor, pixels."""

    name: str
    file: str
    url: str
    sha256: str | None
    input_hw: tuple[int, int]
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Catalog:
    entries: dict[str, CatalogEntry]

    def get(self, name: str) -> CatalogEntry:
        try:
            return self.entries[name]
        except KeyError:
            valid = ", ".join(self.entries)
            raise ModelError(
                f"unknown model {name!r}: choose one of {valid}, or give the path of a .tflite segmenter"
            ) from None


@dataclass(frozen=True, slots=True)
class LocatedModel:
    """A model file on disk; entry is None for a user's own model given by path."""

    name: str
    path: Path
    entry: CatalogEntry | None


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or shipped_file("models.yaml")
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    entries = {
        name: CatalogEntry(
            name=name,
            file=item["file"],
            url=item["url"],
            sha256=item.get("sha256"),
            input_hw=(int(item["input"][0]), int(item["input"][1])),
            labels=tuple(item["labels"]),
        )
        for name, item in raw["models"].items()
    }
    return Catalog(entries=entries)


def user_model_dir() -> Path:
    return platformdirs.user_data_path("bgfx") / "models"


def search_dirs() -> list[Path]:
    """Where named models are looked for, in order."""
    extra = [Path(p).expanduser() for p in os.environ.get(MODEL_PATH_ENV, "").split(":") if p]
    return [user_model_dir(), *extra]


def find(entry: CatalogEntry) -> Path | None:
    """The first existing file for a catalog entry along `search_dirs()`, or None."""
    for directory in search_dirs():
        candidate = directory / entry.file
        if candidate.is_file():
            return candidate
    return None


def check_model_file(path: Path) -> None:
    """Cheap checks before anything reads a model: a readable regular file of a model's size, TFLite by its header.

    A special file (/proc/self/mem), a 2 GB file or an unreadable one is refused here, in microseconds,
    instead of being read whole on the frame thread.
    """
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise ModelError(f"{path}: not a regular file; give the path of a .tflite segmenter")
        if not MIN_MODEL_BYTES <= status.st_size <= MAX_MODEL_BYTES:
            raise ModelError(f"{path}: {status.st_size} bytes is not the size of a segmentation model "
                             f"({MIN_MODEL_BYTES} bytes to {MAX_MODEL_BYTES // 2**20} MiB); give a .tflite segmenter")
        with open(path, "rb") as file:
            header = file.read(8)
    except FileNotFoundError:
        raise ModelError(f"model file {path} does not exist: give the path of a .tflite segmenter") from None
    except OSError as e:
        raise ModelError(f"{path}: cannot be read ({e.strerror}); check the file and its permissions") from None
    if header[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite model (its header lacks the TFL3 mark); give a .tflite segmenter")


def check_catalog_copy(path: Path, entry: CatalogEntry) -> None:
    """ModelError when a catalog model found on disk is not the catalog's file (sha256, cached by size and mtime)."""
    check_model_file(path)
    if entry.sha256 is None:
        return
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    if _VERIFIED.get(key) != entry.sha256:
        actual = sha256_of(path)
        if actual != entry.sha256:
            raise ModelError(f"model {entry.name!r} at {path} is corrupt or another model (sha256 {actual[:12]}…, "
                             f"expected {entry.sha256[:12]}…). Fix: `bgfx models pull {entry.name} --force`, "
                             "or delete that file")
        _VERIFIED[key] = actual


def is_path(name_or_path: str) -> bool:
    return name_or_path.endswith(".tflite") or os.sep in name_or_path


def locate(name_or_path: str, catalog: Catalog, *, verify: Verify, download: bool = True) -> LocatedModel:
    """Find a model by catalog name or path; download a named one that is missing."""
    if is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        check_model_file(path)
        return LocatedModel(name=path.stem, path=path, entry=None)
    entry = catalog.get(name_or_path)
    found = find(entry)
    if found is not None:
        check_catalog_copy(found, entry)
        return LocatedModel(name=entry.name, path=found, entry=entry)
    if not download:
        raise missing_error(entry, None)
    try:
        path = fetch(entry, user_model_dir(), verify=verify)
    except ModelError as e:
        raise missing_error(entry, str(e)) from None
    return LocatedModel(name=entry.name, path=path, entry=entry)


def missing_error(entry: CatalogEntry, download_error: str | None) -> ModelError:
    places = ", ".join(str(d) for d in search_dirs())
    tail = f"; the download failed: {download_error}" if download_error else ""
    return ModelError(
        f"model {entry.name!r} ({entry.file}) not found in {places}{tail}. "
        f"Fix: run `bgfx models pull {entry.name}` while online, or copy the file into one of those "
        f"directories (`bgfx models import DIR`), or add its directory to {MODEL_PATH_ENV}"
    )


def make_model_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create the model folder {directory} ({e.strerror}); check XDG_DATA_HOME") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(entry: CatalogEntry, directory: Path, *, verify: Verify, url: str | None = None) -> Path:
    """Download `entry` into `directory`, verified, with a progress bar on stderr."""
    url = url or entry.url
    make_model_dir(directory)
    final = directory / entry.file
    with AtomicFile(final, 0o644) as temporary:
        with open(temporary, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=30)
            except (urllib.error.URLError, OSError) as e:
                raise ModelError(f"cannot download {url}: {getattr(e, 'reason', e)}") from None
            with response, tqdm(
                total=int(response.headers.get("Content-Length") or 0) or None,
                unit="B", unit_scale=True, desc=entry.file, leave=False,
            ) as bar:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        check_file(temporary, entry, verify=verify)  # a bad download never takes the name
    log.info("downloaded %s to %s", entry.name, final)
    return final


def check_file(path: Path, entry: CatalogEntry | None, *, verify: Verify) -> None:
    """Raise ModelError unless the file is the catalog's (one sha256 check, `check_catalog_copy`) and loads as a
    segmenter."""
    if entry is None:
        check_model_file(path)
    else:
        check_catalog_copy(path, entry)
    verify(path, entry)


def import_dir(source: Path, catalog: Catalog, *, verify: Verify) -> list[tuple[str, str]]:
    """Copy every catalog model found in `source` into the user directory, verified first.

    Returns (model name, outcome) pairs; a file that fails verification is not copied.
    """
    if not source.is_dir():
        raise ModelError(f"{source} is not a directory: give the folder that holds the .tflite files")
    target = user_model_dir()
    make_model_dir(target)
    outcomes = []
    for entry in catalog.entries.values():
        candidate = source / entry.file
        if not candidate.is_file():
            continue
        try:
            check_file(candidate, entry, verify=verify)
        except ModelError as e:
            outcomes.append((entry.name, f"skipped: {e}"))
            continue
        with AtomicFile(target / entry.file, 0o644) as temporary:
            shutil.copyfile(candidate, temporary)
        outcomes.append((entry.name, f"imported to {target / entry.file}"))
    return outcomes
