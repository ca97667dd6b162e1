import cv2
import numpy as np
import pytest

from bgfx.vision.effects.composite import Workspace, _blend_box, blend_into
from bgfx.vision.imaging import fit_image, parse_colour
from bgfx.vision.refine import Refiner, RefineSettings
from bgfx.vision.segmentation import Segmenter, SegmenterOptions
from tests.conftest import model


def test_blend_is_exact_at_the_ends_and_within_one_level_between() -> None:
    fg = np.full((2, 3, 3), 200, np.uint8)
    bg = np.full((2, 3, 3), 40, np.uint8)
    alpha = np.array([[0, 255, 128], [64, 192, 255]], np.uint8)
    target = bg.copy()
    out = blend_into(target, fg, alpha, Workspace())
    assert out is target  # built in the background's own buffer
    expected = 40 + 160 * alpha.astype(float)[..., None] / 255.0
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    assert out[0, 0].tolist() == [40, 40, 40] and out[0, 1].tolist() == [200, 200, 200]
    assert np.abs(out - expected).max() <= 1.0


def _both_ways(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """blend_into's result, and the bounding-box blend's on a copy of the same background."""
    tiled = blend_into(background.copy(), foreground, alpha, Workspace())
    return tiled, _blend_box(background.copy(), foreground, alpha, Workspace())


@pytest.mark.models
def test_the_tile_path_gives_the_box_blend_bit_for_bit_on_real_masks(video_frames: list[np.ndarray]) -> None:
    """Edge tiles blended, inner tiles copied, outer ones left: the same picture as blending the whole box."""
    rng = np.random.default_rng(1)
    refiner = Refiner(RefineSettings())
    with Segmenter(model("selfie_landscape"), SegmenterOptions()) as segmenter:
        for image in video_frames[:30:6]:
            frame = cv2.resize(image, (1280, 720))
            alpha = refiner(segmenter.segment(frame).masks["person"], frame)
            background = rng.integers(0, 256, frame.shape, np.uint8)
            tiled, box = _both_ways(frame, background, alpha)
            inside, edge = alpha == 255, (alpha > 0) & (alpha < 255)
            assert inside.mean() > 0.1 and edge.mean() > 0.005  # a real person, with a soft edge
            assert np.array_equal(tiled, box)
            assert np.array_equal(tiled[inside], frame[inside]) and np.array_equal(tiled[alpha == 0], background[alpha == 0])


@pytest.mark.parametrize("case", ["empty", "full", "one pixel", "corner tile", "noise", "odd size", "540-like rows", "a view"])
def test_the_tile_path_gives_the_box_blend_bit_for_bit_on_hard_alphas(case: str) -> None:
    rng = np.random.default_rng(2)
    height, width = {"odd size": (37, 53), "540-like rows": (44, 64)}.get(case, (48, 64))
    foreground = rng.integers(0, 256, (height, width, 3), np.uint8)
    background = rng.integers(0, 256, (height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    if case == "full":
        alpha[:] = 255
    elif case == "one pixel":
        alpha[17, 30] = 3
    elif case == "corner tile":
        alpha[40:, 56:] = 255
        alpha[47, 63] = 254
    elif case in ("noise", "odd size", "540-like rows", "a view"):
        alpha = rng.choice(np.array([0, 0, 255, 255, 1, 128, 254], np.uint8), (height, width))
    if case == "a view":  # a region of a bigger frame, as hair_tint blends: the box path, written in place
        big = rng.integers(0, 256, (64, 96, 3), np.uint8)
        before, expected = big.copy(), big.copy()
        _blend_box(expected[8:56, 16:80], foreground, alpha, Workspace())
        blend_into(big[8:56, 16:80], foreground, alpha, Workspace())
        assert np.array_equal(big, expected) and not np.array_equal(big[8:56, 16:80], before[8:56, 16:80])
        return
    tiled, box = _both_ways(foreground, background, alpha)
    assert np.array_equal(tiled, box)
    if case == "empty":
        assert np.array_equal(tiled, background)
    if case == "full":
        assert np.array_equal(tiled, foreground)


def test_fit_modes() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :100] = 255  # left half white
    assert fit_image(image, (100, 100), "cover", (0, 0, 0)).shape == (100, 100, 3)
    cover = fit_image(image, (100, 100), "cover", (0, 0, 0))
    assert cover[:, :45].min() == 255 and cover[:, 55:].max() == 0  # the centre crop keeps the split
    contain = fit_image(image, (100, 100), "contain", (1, 2, 3))
    assert contain[0, 50].tolist() == [1, 2, 3] and contain[50, 10].tolist() == [255, 255, 255]
    stretch = fit_image(image, (50, 80), "stretch", (0, 0, 0))
    assert stretch.shape == (80, 50, 3) and stretch[:, :20].min() == 255


def test_fit_places_the_picture_exactly() -> None:
    tall = np.zeros((90, 30, 3), np.uint8)
    tall[:30], tall[30:60], tall[60:] = 10, 20, 30  # three bands, top to bottom
    cover = fit_image(tall, (60, 60), "cover", (0, 0, 0))  # scaled to 60x180, the middle 60 rows kept
    assert cover.shape == (60, 60, 3) and set(np.unique(cover[3:57])) == {20} and 15 <= cover.min() <= cover.max() <= 25
    contain = fit_image(tall, (60, 60), "contain", (1, 2, 3))  # scaled to 20x60, centred
    assert contain.shape == (60, 60, 3) and contain[:, :20].tolist() == [[[1, 2, 3]] * 20] * 60
    assert contain[:, 40:].tolist() == [[[1, 2, 3]] * 20] * 60
    assert contain[5, 20:40, 0].tolist() == [10] * 20 and contain[55, 20:40, 0].tolist() == [30] * 20
    wide = np.zeros((10, 40, 3), np.uint8)
    wide[:, 20:] = 200
    letterbox = fit_image(wide, (40, 40), "contain", (5, 5, 5))  # 40x10 centred: rows 15..24
    assert letterbox[:15].max() == 5 and letterbox[25:].max() == 5 and letterbox[15:25, 30, 0].tolist() == [200] * 10
    sliver = fit_image(np.full((1, 400, 3), 7, np.uint8), (40, 40), "contain", (0, 0, 0))
    assert sliver[19, :, 0].tolist() == [7] * 40 and sliver.sum() == 7 * 40 * 3  # never scaled to nothing: one row
    smooth = np.zeros((40, 40, 3), np.uint8)
    smooth[:, ::2] = 255  # a one-pixel stripe pattern: shrinking it must average, not sample
    assert abs(int(fit_image(smooth, (20, 20), "cover", (0, 0, 0)).mean()) - 127) <= 2
    assert abs(int(fit_image(smooth, (20, 20), "stretch", (0, 0, 0)).mean()) - 127) <= 2


def test_colours_are_rgb_in_bgr_out() -> None:
    assert parse_colour("#FF8000") == (0, 128, 255)
    assert parse_colour([255, 128, 0]) == (0, 128, 255)
    assert parse_colour("#0a0B0c") == (12, 11, 10) and parse_colour([0, 0, 255]) == (255, 0, 0)
    for bad in ([300, 0, 0], [256, 0, 0], [-1, 0, 0], [1, 2], [True, 0, 0], "#12345", "#GG0000", "1234567", 7):
        with pytest.raises(ValueError, match=r"must be '#RRGGBB' or \[R, G, B\]"):
            parse_colour(bad)


def test_a_workspace_reuses_its_buffers_until_the_shape_changes() -> None:
    workspace = Workspace()
    first = workspace.get((4, 5, 3), 2)
    assert len(first) == 2 and first[0].shape == (4, 5, 3) and first[0].dtype == np.uint8
    again = workspace.get((4, 5, 3), 2)
    assert again[0] is first[0] and again[1] is first[1]
    more = workspace.get((4, 5, 3), 3)
    assert len(more) == 3 and workspace.get((4, 5, 3), 3)[2] is more[2]
    other = workspace.get((2, 2, 3), 1)
    assert other[0].shape == (2, 2, 3) and workspace.get((4, 5, 3), 1)[0] is not first[0]  # one size kept
