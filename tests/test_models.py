"""The catalog and store: lookup order, verified downloads from a loopback server, import."""

from __future__ import annotations

import dataclasses
import http.server
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
    with pytest.raises(ModelError, match="does not match the catalog's"):
        models.fetch(entry, target, verify=verify_model, url=f"{url}/selfie_segmenter.tflite")
    assert list(target.iterdir()) == []


def test_download_without_a_checksum_still_must_load(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    (root / "selfie_multiclass_256x256.tflite").write_bytes(b"<html>captive portal</html>")
    entry = models.load_catalog().get("selfie_multiclass")
    assert entry.sha256 is None
    target = tmp_path / "store"
    with pytest.raises(ModelError, match="not a readable TFLite model"):
        models.fetch(entry, target, verify=verify_model, url=f"{url}/selfie_multiclass_256x256.tflite")
    assert list(target.iterdir()) == []


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


def test_import_copies_verified_files_only(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "hair_segmenter.tflite").write_bytes((MODELS / "hair_segmenter.tflite").read_bytes())
    (source / "deeplab_v3.tflite").write_bytes(b"truncated")
    outcomes = dict(models.import_dir(source, models.load_catalog(), verify=verify_model))
    assert outcomes["hair"].startswith("imported to")
    assert outcomes["deeplab_v3"].startswith("skipped: ") and "does not match" in outcomes["deeplab_v3"]
    assert sorted(p.name for p in models.user_model_dir().iterdir()) == ["hair_segmenter.tflite"]
