import numpy as np
import pytest

from bgfx.vision.effects.composite import Workspace, blend_into
from bgfx.vision.imaging import fit_image, parse_colour


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
