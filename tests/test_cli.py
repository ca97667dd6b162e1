"""`bgfx` as a user runs it: real subprocesses, real files, exit statuses and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import EVALDATA, MODELS, SERGEY, VIDEO

pytestmark = pytest.mark.e2e


def bgfx(*args: str | Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "bgfx", *map(str, args)], capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_segment_writes_full_size_masks(tmp_path: Path) -> None:
    bgfx("segment", SERGEY, "--model", "hair", "--out", tmp_path, "--category-mask", "--overlay")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"portrait_sergey.{s}.png" for s in ("background", "category", "hair", "overlay")]
    category = cv2.imread(str(tmp_path / "portrait_sergey.category.png"), cv2.IMREAD_UNCHANGED)
    hair = cv2.imread(str(tmp_path / "portrait_sergey.hair.png"), cv2.IMREAD_UNCHANGED)
    assert category.shape == hair.shape == (600, 600) and category.dtype == np.uint8
    assert set(np.unique(category)) <= {0, 1}
    assert ((hair > 127) == (category == 1)).mean() > 0.99
    overlay = cv2.imread(str(tmp_path / "portrait_sergey.overlay.png"))
    assert overlay.shape == (600, 600, 3)


def test_segment_refine_writes_the_refined_person_mask(tmp_path: Path) -> None:
    bgfx("segment", SERGEY, "--out", tmp_path, "--refine", "--no-confidence-masks")
    person = cv2.imread(str(tmp_path / "portrait_sergey.person.png"), cv2.IMREAD_UNCHANGED)
    assert person.shape == (600, 600)
    assert person[250:400, 200:400].min() == 255 and person[0:100, 0:60].max() == 0


def test_process_keeps_size_rate_and_frame_count(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    source = cv2.VideoCapture(str(VIDEO))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 29.97, (960, 540))
    for _ in range(30):
        writer.write(source.read()[1])
    writer.release()
    out, alpha = tmp_path / "out.mp4", tmp_path / "alpha.mp4"
    bgfx("process", clip, out, "--alpha-out", alpha, "-q")
    for path in (out, alpha):
        capture = cv2.VideoCapture(str(path))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
        assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (960, 540)
        assert abs(capture.get(cv2.CAP_PROP_FPS) - 29.97) < 0.01
    capture = cv2.VideoCapture(str(alpha))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 20)
    mask = capture.read()[1][..., 0]
    assert mask[120:220, 590:670].mean() > 240  # her face is kept
    assert mask[20:120, 20:120].mean() < 15  # the shelf behind is background


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["segment", "missing.png", "--out", "{tmp}"], 66, "missing.png: no such file"),
        (["segment", "{tmp}/notimage.png", "--out", "{tmp}"], 66, "notimage.png: not a readable image"),
        (["segment", str(SERGEY), "--out", "{tmp}", "--model", "selfie_big"], 69, "unknown model 'selfie_big': choose one of"),
        (["segment", str(SERGEY), "--out", "{tmp}", "--model", "{tmp}/broken.tflite"], 69, "broken.tflite: not a readable TFLite model"),
        (["segment", str(SERGEY), "--out", "{tmp}", "--model", "hair", "--refine"], 69, "it cannot give person"),
        (["process", "{tmp}/corrupt.mp4", "{tmp}/o.mp4"], 66, "corrupt.mp4: cannot decode this video"),
        (["process", str(VIDEO), "{tmp}/o.mp4", "--config", "{tmp}/bad.yaml"], 78, r"effects\[0\].strength: must be 1..100, got 500"),
        (["process", str(VIDEO), "{tmp}/o.mp4", "--model", "hair"], 69, "model 'hair' gives masks background, hair; it cannot give person"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_status(tmp_path: Path, args: list[str], status: int, message: str) -> None:
    (tmp_path / "notimage.png").write_text("hello")
    (tmp_path / "broken.tflite").write_bytes((MODELS / "selfie_segmenter.tflite").read_bytes()[:4000])
    (tmp_path / "corrupt.mp4").write_bytes(os.urandom(5000))
    (tmp_path / "bad.yaml").write_text("effects: [{type: blur, strength: 500}]\n")
    result = bgfx(*[a.replace("{tmp}", str(tmp_path)) for a in args], check=False)
    assert result.returncode == status, result.stderr
    assert "bgfx: error: " in result.stderr
    import re

    assert re.search(message, result.stderr), result.stderr


def test_opencv_that_cannot_load_is_one_line_naming_the_packages(tmp_path: Path) -> None:
    """A server or container without a desktop's X/GL libraries: OpenCV's import fails as the real one does there."""
    (tmp_path / "cv2").mkdir()
    (tmp_path / "cv2" / "__init__.py").write_text(
        'raise ImportError("libxcb.so.1: cannot open shared object file: No such file or directory")\n'
    )
    result = bgfx("process", SERGEY, tmp_path / "o.png", check=False, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 69, result.stderr
    assert result.stderr.strip().splitlines() == [
        "bgfx: error: OpenCV cannot load: libxcb.so.1: cannot open shared object file: No such file or directory; "
        "a desktop has these libraries, elsewhere install them: sudo apt install libgl1 libxcb1 libglib2.0-0"
    ]
    assert not (tmp_path / "o.png").exists()


def test_mediapipe_that_cannot_load_its_libraries_is_one_line_naming_the_packages(tmp_path: Path) -> None:
    """MediaPipe's C library links EGL and GLES, which a minimal system lacks: the dynamic loader's refusal is
    stood in for at ctypes (the lowest seam), and the line blames the libraries, not the model file."""
    (tmp_path / "sitecustomize.py").write_text(
        "import ctypes\n"
        "_real = ctypes.CDLL.__init__\n"
        "def _init(self, name, *args, **kwargs):\n"
        "    if 'libmediapipe' in str(name):\n"
        "        raise OSError('libEGL.so.1: cannot open shared object file: No such file or directory')\n"
        "    _real(self, name, *args, **kwargs)\n"
        "ctypes.CDLL.__init__ = _init\n"
    )
    result = bgfx("process", SERGEY, tmp_path / "o.png", check=False, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 69, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "bgfx: error: MediaPipe cannot load: libEGL.so.1: cannot open shared object file: No such file or "
        "directory; a desktop has these libraries, elsewhere install them: sudo apt install libegl1 libgles2"
    )
    assert not (tmp_path / "o.png").exists()
    doctor = bgfx("doctor", check=False, env={"PYTHONPATH": str(tmp_path)})
    assert ("[FAIL] model selfie_landscape: MediaPipe cannot load: libEGL.so.1: cannot open shared object file: "
            "No such file or directory; a desktop has these libraries") in doctor.stdout  # fmt: skip


def test_models_list_shows_presence_and_where(model_dir) -> None:
    folder = model_dir("selfie_landscape", "hair")
    out = bgfx("models", "list").stdout
    assert f"selfie_landscape   present   144x256  selfie\n{'':37}{folder / 'selfie_segmenter_landscape.tflite'}" in out
    assert "deeplab_v3         missing" in out
    assert "selfie_multiclass  missing" in out and "(bgfx models pull selfie_multiclass)" in out


def test_models_import_from_a_folder() -> None:
    out = bgfx("models", "import", MODELS).stdout
    assert "selfie_landscape: imported to" in out and "hair: imported to" in out


def test_config_init_writes_a_commented_copy(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    bgfx("config", "init", "--path", target)
    assert "# bgfx configuration" in target.read_text()
    again = bgfx("config", "init", "--path", target, check=False)
    assert again.returncode == 78 and "exists already; give --force" in again.stderr


def test_hair_iou_on_the_evaluation_set_matches_the_model(tmp_path: Path) -> None:
    """The engine adds no loss: mean IoU at 0.5 ≈ the model's own 0.83 on CelebAMask-HQ."""
    images = sorted((EVALDATA / "hair_celebamaskhq" / "images").glob("*.jpg"))
    assert len(images) == 105
    bgfx("segment", *images, "--model", "hair", "--out", tmp_path)
    ious = []
    for image in images:
        truth = cv2.imread(str(EVALDATA / "hair_celebamaskhq" / "masks" / f"{image.stem}_hair.png"), cv2.IMREAD_GRAYSCALE)
        predicted = cv2.imread(str(tmp_path / f"{image.stem}.hair.png"), cv2.IMREAD_GRAYSCALE)
        predicted = cv2.resize(predicted, truth.shape[::-1], interpolation=cv2.INTER_AREA) > 127
        truth = truth > 127
        union = (truth | predicted).sum()
        ious.append((truth & predicted).sum() / union if union else 1.0)
    mean_iou = float(np.mean(ious))
    print(f"hair mean IoU over {len(ious)} photos: {mean_iou:.3f} (median {np.median(ious):.3f})")
    assert mean_iou > 0.81


def test_models_bench_prints_a_row_per_present_model(model_dir) -> None:
    model_dir("selfie_landscape", "selfie_square", "hair", "deeplab_v3")
    out = bgfx("models", "bench", "--image", SERGEY, "--video", VIDEO, "--frames", "3").stdout
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["model", "input", "IMAGE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"selfie_landscape", "selfie_square", "hair", "selfie_multiclass", "deeplab_v3"}
    assert "missing (bgfx models pull selfie_multiclass)" in rows["selfie_multiclass"]
    assert rows["hair"].split()[1] == "512x512" and rows["hair"].count("ms") == 4


def test_bench_json_has_the_documented_keys() -> None:
    import json

    out = bgfx("bench", "--input", VIDEO, "--frames", "20", "--size", "640x360", "--json").stdout
    report = json.loads(out.strip().splitlines()[-1])
    for key in ("frames", "wall_ms_median", "cpu_ms_per_frame", "peak_rss_mib", "stages"):
        assert key in report
    assert report["frames"] == 20 and report["size"] == "640x360"
    assert set(report["stages"]) == {"segmentation", "refine", "effect:blur"}
    assert all(stage["cpu_ms_per_frame"] > 0 for stage in report["stages"].values())


def test_unusable_model_files_are_one_line_for_run_and_segment(tmp_path: Path) -> None:
    from tests.test_models import model_without_metadata

    bare = model_without_metadata(tmp_path / "bare.tflite")
    ran = bgfx("run", "--model", "/proc/self/mem", "--input", VIDEO, "--sink", "null", "--max-frames", "5", check=False)
    assert ran.returncode == 69 and "0 bytes is not the size of a segmentation model" in ran.stderr
    ran = bgfx("run", "--model", bare, "--input", VIDEO, "--sink", "null", "--max-frames", "5", check=False)
    assert ran.returncode == 69 and "cannot load as a MediaPipe segmenter" in ran.stderr
    segmented = bgfx("segment", SERGEY, "--model", bare, "--out", tmp_path / "m", check=False)
    assert segmented.returncode == 69 and "cannot load as a MediaPipe segmenter" in segmented.stderr
