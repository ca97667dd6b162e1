"""The catalog and store: lookup order, verified downloads from a loopback server, import."""

from __future__ import annotations

import dataclasses
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from bgfx.errors import ModelError
from bgfx.vision import models
from bgfx.vision.segmentation import verify_model
from tests.conftest import MODELS


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving the files of a temporary folder."""
    root = tmp_path / "served"
    root.mkdir()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(root))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def test_catalog_names_every_seed_model() -> None:
    catalog = models.load_catalog()
    assert set(catalog.entries) == {"selfie_landscape", "selfie_square", "hair", "selfie_multiclass", "deeplab_v3"}
    assert catalog.get("selfie_landscape").input_hw == (144, 256)
    assert catalog.get("deeplab_v3").labels[15] == "person"
    for entry in catalog.entries.values():
        assert entry.url.startswith("https://storage.googleapis.com/mediapipe-models/image_segmenter/")
        assert entry.url.endswith("/" + entry.file)


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ModelError, match="unknown model 'selfie_big': choose one of selfie_landscape, selfie_square"):
        models.load_catalog().get("selfie_big")


def test_user_dir_comes_before_model_path(tmp_path: Path) -> None:
    user = models.user_model_dir()
    user.mkdir(parents=True)
    (user / "hair_segmenter.tflite").write_bytes((MODELS / "hair_segmenter.tflite").read_bytes())
    found = models.find(models.load_catalog().get("hair"))
    assert found == user / "hair_segmenter.tflite"
    assert models.find(models.load_catalog().get("deeplab_v3")) == MODELS / "deeplab_v3.tflite"


def test_explicit_path_wins_and_must_exist(tmp_path: Path) -> None:
    catalog = models.load_catalog()
    located = models.locate(str(MODELS / "deeplab_v3.tflite"), catalog, verify=verify_model)
    assert located.entry is None and located.path == MODELS / "deeplab_v3.tflite"
    with pytest.raises(ModelError, match="model file .*nothere.tflite does not exist"):
        models.locate(str(tmp_path / "nothere.tflite"), catalog, verify=verify_model)


@pytest.mark.models
def test_download_is_verified_then_renamed(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "selfie_segmenter.tflite").write_bytes((MODELS / "selfie_segmenter.tflite").read_bytes())
    entry = models.load_catalog().get("selfie_square")
    target = tmp_path / "store"
    path = models.fetch(entry, target, verify=verify_model, url=f"{url}/selfie_segmenter.tflite")
    assert path == target / "selfie_segmenter.tflite"
    assert models.sha256_of(path) == entry.sha256
    assert sorted(p.name for p in target.iterdir()) == ["selfie_segmenter.tflite"]


def test_truncated_download_leaves_nothing(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "selfie_segmenter.tflite").write_bytes((MODELS / "selfie_segmenter.tflite").read_bytes()[:50_000])
    entry = models.load_catalog().get("selfie_square")
    target = tmp_path / "store"
    with pytest.raises(ModelError, match="is corrupt or another model"):
        models.fetch(entry, target, verify=verify_model, url=f"{url}/selfie_segmenter.tflite")
    assert list(target.iterdir()) == []


def test_download_without_a_checksum_still_must_load(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "selfie_multiclass_256x256.tflite").write_bytes(b"<html>captive portal</html>")
    entry = models.load_catalog().get("selfie_multiclass")
    assert entry.sha256 is None
    target = tmp_path / "store"
    with pytest.raises(ModelError, match="27 bytes is not the size of a segmentation model"):
        models.fetch(entry, target, verify=verify_model, url=f"{url}/selfie_multiclass_256x256.tflite")
    assert list(target.iterdir()) == []


@pytest.mark.models
def test_wrong_input_size_is_rejected(tmp_path: Path) -> None:
    entry = dataclasses.replace(models.load_catalog().get("selfie_multiclass"))
    with pytest.raises(ModelError, match=r"input size 144x256 differs from the 256x256 expected of 'selfie_multiclass'"):
        verify_model(MODELS / "selfie_segmenter_landscape.tflite", entry)


def test_missing_and_offline_names_model_places_and_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BGFX_MODEL_PATH", str(tmp_path / "empty"))
    catalog = models.load_catalog()
    entry = dataclasses.replace(catalog.get("hair"), url="http://127.0.0.1:9/hair_segmenter.tflite")
    catalog = models.Catalog(entries={**catalog.entries, "hair": entry})
    with pytest.raises(ModelError) as caught:
        models.locate("hair", catalog, verify=verify_model)
    message = str(caught.value)
    assert "model 'hair' (hair_segmenter.tflite) not found in" in message
    assert str(models.user_model_dir()) in message and str(tmp_path / "empty") in message
    assert "the download failed: cannot download http://127.0.0.1:9/hair_segmenter.tflite" in message
    assert "bgfx models pull hair" in message
    assert not (models.user_model_dir() / "hair_segmenter.tflite").exists()


@pytest.mark.models
def test_import_copies_verified_files_only(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "hair_segmenter.tflite").write_bytes((MODELS / "hair_segmenter.tflite").read_bytes())
    (source / "deeplab_v3.tflite").write_bytes(b"truncated")
    outcomes = dict(models.import_dir(source, models.load_catalog(), verify=verify_model))
    assert outcomes["hair"].startswith("imported to")
    assert outcomes["deeplab_v3"].startswith("skipped: ") and "9 bytes is not the size" in outcomes["deeplab_v3"]
    assert sorted(p.name for p in models.user_model_dir().iterdir()) == ["hair_segmenter.tflite"]


def model_without_metadata(target: Path) -> Path:
    """The landscape model with its metadata stripped: a valid TFLite file MediaPipe cannot normalise input for."""
    import flatbuffers
    from mediapipe.tasks.metadata import schema_py_generated as schema

    data = (MODELS / "selfie_segmenter_landscape.tflite").read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    model.metadata = None
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
    return target


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: Path("/proc/self/mem"), "0 bytes is not the size of a segmentation model"),
    (lambda tmp: (tmp / "dir.tflite").mkdir() or tmp / "dir.tflite", "not a regular file"),
    (lambda tmp: _sparse(tmp / "huge.tflite", 2 * 2**30), "2147483648 bytes is not the size of a segmentation model"),
    (lambda tmp: (tmp / "noise.tflite").write_bytes(os.urandom(50_000)) and tmp / "noise.tflite", "not a TFLite model"),
    (lambda tmp: tmp / "absent.tflite", "does not exist"),
])
def test_model_files_are_checked_cheaply_before_anything_reads_them(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ModelError, match=message):
        models.locate(str(path), models.load_catalog(), verify=verify_model)


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as file:
        file.truncate(size)
    return path


@pytest.mark.models
def test_a_model_without_metadata_is_a_model_error(tmp_path: Path) -> None:
    from bgfx.vision.segmentation import Segmenter, inspect_model

    path = model_without_metadata(tmp_path / "bare.tflite")
    with pytest.raises(ModelError, match="not a usable MediaPipe segmenter: .*NormalizationOptions"):
        inspect_model(path)
    located = models.locate(str(path), models.load_catalog(), verify=verify_model)
    with pytest.raises(ModelError, match="cannot load as a MediaPipe segmenter"):
        Segmenter(located)


def test_a_catalog_model_on_disk_is_checked_and_the_check_is_cached(model_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = model_dir()
    (folder / "selfie_segmenter.tflite").write_bytes((MODELS / "selfie_segmenter.tflite").read_bytes())  # our own copy
    impostor = folder / "selfie_segmenter_landscape.tflite"  # another model under the landscape model's name
    impostor.write_bytes((MODELS / "selfie_segmenter.tflite").read_bytes())
    catalog = models.load_catalog()
    with pytest.raises(ModelError, match=r"model 'selfie_landscape' at .* is corrupt or another model .*"
                                         r"Fix: `bgfx models pull selfie_landscape --force`"):
        models.locate("selfie_landscape", catalog, verify=verify_model, download=False)
    hashed = []
    real = models.sha256_of
    monkeypatch.setattr(models, "sha256_of", lambda path: hashed.append(path) or real(path))
    for _ in range(3):
        models.locate("selfie_square", catalog, verify=verify_model, download=False)
    assert len(hashed) == 1  # hashed once, then known by its size and mtime
    os.utime(folder / "selfie_segmenter.tflite", ns=(1, 1))  # touched: checked again
    models.locate("selfie_square", catalog, verify=verify_model, download=False)
    assert len(hashed) == 2


@pytest.mark.e2e
def test_models_list_says_corrupt_with_the_fix(model_dir) -> None:
    folder = model_dir("hair")
    (folder / "selfie_segmenter_landscape.tflite").write_bytes(b"\0" * 4 + b"TFL3" + os.urandom(4000))
    result = subprocess.run([sys.executable, "-m", "bgfx", "models", "list"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("selfie_landscape"))
    assert line.split()[1] == "corrupt"
    assert "bgfx models pull selfie_landscape --force" in result.stdout
    assert next(line for line in result.stdout.splitlines() if line.startswith("hair ")).split()[1] == "present"


@pytest.mark.e2e
def test_a_data_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    env = {**os.environ, "XDG_DATA_HOME": str(blocker)}
    result = subprocess.run([sys.executable, "-m", "bgfx", "models", "import", str(MODELS)], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 69 and "Traceback" not in result.stderr
    assert f"cannot create the model folder {blocker}/bgfx/models" in result.stderr and "check XDG_DATA_HOME" in result.stderr
