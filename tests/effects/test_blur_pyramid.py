"""The pyramid blur: a kept canvas rescaled only where the background shows and changed; portrait blur by distance."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.pyramid import TOLERANCE, Canvas, level, opaque_tiles
from bgfx.vision.refine import Refiner, RefineSettings
from bgfx.vision.segmentation import Segmenter, SegmenterOptions
from tests.conftest import model


@pytest.fixture(scope="module")
def desk(video_frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The desk clip's first frame at 1280x720 and its refined person alpha (the real model)."""
    image = cv2.resize(video_frames[0], (1280, 720), interpolation=cv2.INTER_LINEAR)
    with Segmenter(model("selfie_landscape"), SegmenterOptions()) as segmenter:
        mask = segmenter.segment(image).masks["person"]
    return image, Refiner(RefineSettings())(mask, image)


def noisy(image: np.ndarray, seed: int, sigma: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_the_canvas_scales_tiles_bit_for_bit_as_one_whole_frame_resize() -> None:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    whole = cv2.resize(small, (1280, 720), interpolation=cv2.INTER_LINEAR)
    canvas = Canvas()
    visible = rng.random((90, 160)) > 0.6
    full = canvas.update(small, visible, 8)
    shown = np.repeat(np.repeat(visible, 8, axis=0), 8, axis=1)
    assert np.array_equal(full[shown], whole[shown])  # every box with its margin: no seams
    assert np.array_equal(canvas.update(small, np.ones((90, 160), bool), 8), whole)


def test_only_changed_visible_tiles_are_rescaled_and_hidden_ones_are_caught_up_when_shown() -> None:
    small = np.full((90, 160, 3), 100, np.uint8)
    canvas = Canvas()
    everywhere = np.ones((90, 160), bool)
    canvas.update(small, everywhere, 8)
    assert canvas.update(small, everywhere, 8) is not None and canvas.refreshed == 0.0  # nothing changed
    small[40:44, 80:84] = 100 + TOLERANCE + 1
    canvas.update(small, everywhere, 8)
    assert 0 < canvas.refreshed < 0.01  # the changed tiles and their neighbours, not the frame
    hidden = everywhere.copy()
    hidden[:, :80] = False  # the left half behind the person
    small[:, :80] = 30
    assert np.all(canvas.update(small, hidden, 8)[:, :600] == 100)  # not shown: left stale
    assert np.all(canvas.update(small, everywhere, 8)[:, : 640 - 8] == 30)  # shown again: rescaled at once


def test_opaque_tiles_are_the_ones_wholly_255() -> None:
    alpha = np.zeros((64, 64), np.uint8)
    alpha[8:40, 16:48] = 255
    alpha[20, 20] = 254
    tiles = opaque_tiles(alpha, 8)
    assert tiles.sum() == 4 * 4 - 1 and not tiles[2, 2] and tiles[1, 2]
    assert opaque_tiles(alpha, 4).sum() == 8 * 8 - 1


def test_the_level_keeps_the_blur_a_few_small_pixels_wide() -> None:
    assert level(46.0, (1280, 720)) == 16 and level(46.0, (1920, 1080)) == 8 and level(12.0, (1280, 720)) == 4
    assert level(3.0, (1280, 720)) == 2 and level(46.0, (1282, 721)) == 16  # none divides: padded


def test_a_kept_canvas_stays_within_a_small_error_of_recomputing_every_frame(desk) -> None:
    image, alpha = desk[0], desk[1].copy()  # writeable: the canvas is brought up to date on every frame
    kept, fresh = Blur().prepare(), Blur().prepare()
    shares, scores = [], []
    for seed in range(6):
        frame = noisy(image, seed)
        out = kept.apply(frame, {"person": alpha}, 0)
        shares.append(kept.canvas.refreshed)
        fresh.canvas.reset()
        scores.append(psnr(out, fresh.apply(frame, {"person": alpha}, 0)))
    assert shares[0] > 0.3 and max(shares[1:]) < 0.05  # the still room: almost nothing rescaled after the first
    assert min(scores) > 45.0, scores


def test_a_moved_person_uncovers_a_fresh_background_not_a_stale_one(desk) -> None:
    image, alpha = desk
    runtime = Blur().prepare()
    runtime.apply(image, {"person": alpha}, 0)
    moved = np.roll(alpha, -160, axis=1)  # the person steps aside: the background behind them shows
    out = runtime.apply(image, {"person": moved}, 0)
    expected = Blur().prepare().apply(image, {"person": moved}, 0)
    assert psnr(out, expected) > 45.0


def test_a_red_person_does_not_tint_the_real_background_around_them(desk) -> None:
    image, alpha = desk
    band = cv2.dilate((alpha > 0).view(np.uint8), np.ones((49, 49), np.uint8)).astype(bool) & (alpha == 0)
    outputs = []
    for colour in ((0, 0, 255), (0, 255, 0)):
        painted = image.copy()
        painted[alpha > 127] = colour
        outputs.append(Blur(strength=80).prepare().apply(painted, {"person": alpha}, 0).astype(int))
    assert np.abs(outputs[0] - outputs[1])[band].mean() < 1.0  # grey levels of the person's colour in the band


def detail(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 band-pass energy (difference of Gaussians, sigma 3 and 12 px): the detail a blur removes."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return np.abs(cv2.GaussianBlur(grey, (0, 0), 3) - cv2.GaussianBlur(grey, (0, 0), 12))


def test_a_portrait_blur_grows_with_the_distance_from_the_person(desk) -> None:
    image, alpha = desk
    distance = cv2.distanceTransform((alpha == 0).view(np.uint8), cv2.DIST_L2, 3)
    near, far = (distance > 8) & (distance < 60), distance > 300  # px from the person's edge
    kept = {}
    for depth in (0, 80):
        out = detail(Blur(depth=depth).prepare().apply(image, {"person": alpha}, 0))
        kept[depth] = tuple(float(out[region].mean() / detail(image)[region].mean()) for region in (near, far))
    assert kept[80][0] > 2.5 * kept[80][1]  # far from the person: far blurrier than next to them
    assert kept[80][0] > 1.8 * kept[0][0]  # next to the person: sharper than the even blur ...
    assert abs(kept[80][1] - kept[0][1]) < 0.1 * kept[0][1]  # ... and far away the full strength, as even


def test_a_portrait_blur_has_no_halo_either(desk) -> None:
    image, alpha = desk
    band = cv2.dilate((alpha > 0).view(np.uint8), np.ones((49, 49), np.uint8)).astype(bool) & (alpha == 0)
    outputs = []
    for colour in ((0, 0, 255), (0, 255, 0)):
        painted = image.copy()
        painted[alpha > 127] = colour
        outputs.append(Blur(depth=100).prepare().apply(painted, {"person": alpha}, 0).astype(int))
    assert np.abs(outputs[0] - outputs[1])[band].mean() < 1.0


def test_a_portrait_blur_takes_any_frame_size_and_nobody() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (270, 482, 3), dtype=np.uint8)  # sides no multiple of 8
    out = Blur(depth=60).prepare().apply(image, {"person": np.zeros((270, 482), np.uint8)}, 0)
    assert out.shape == image.shape and out.std() < 0.3 * image.std()


def test_the_same_read_only_alpha_reuses_the_whole_background(desk) -> None:
    image, alpha = desk
    kept = alpha.copy()
    kept.flags.writeable = False  # as the pipeline hands back a reused alpha
    runtime = Blur().prepare()
    runtime.apply(image, {"person": kept}, 0)
    dark = image // 2  # were the background redone, it would darken
    background = kept == 0
    reused = runtime.apply(dark, {"person": kept}, 0)
    redone = runtime.apply(dark, {"person": alpha.copy()}, 0)  # a new (writeable) alpha: worked out afresh
    assert np.abs(reused[background].astype(int) - redone[background]).mean() > 10
    assert np.array_equal(reused[alpha == 255], dark[alpha == 255])  # the person is always this frame's
