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


def test_colours_are_rgb_in_bgr_out() -> None:
    assert parse_colour("#FF8000") == (0, 128, 255)
    assert parse_colour([255, 128, 0]) == (0, 128, 255)
    with pytest.raises(ValueError, match=r"must be '#RRGGBB' or \[R, G, B\]"):
        parse_colour([300, 0, 0])
