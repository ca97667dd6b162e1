"""`shrink`: exact halvings with INTER_AREA while the image is at least twice the target, then one bilinear
step of under 2x; the first halving of a read-only frame is shared by the stages that ask for it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgfx.vision.resize import _MEMO_SLOTS, shrink


def pattern(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(height * 7919 + width)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def area(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize(("shape", "size", "halvings"), [
    ((720, 1280), (320, 180), 2),   # exactly a quarter: two halvings, nothing more
    ((720, 1280), (256, 144), 2),   # 1280 → 640 → 320, then bilinear to 256
    ((540, 960), (300, 200), 1),    # the height allows one halving only (270 < 400)
    ((400, 100), (90, 100), 0),     # the height is under 2x: no halving although the width is over
])
def test_shrink_halves_while_both_sides_allow_then_one_bilinear_step(shape, size, halvings) -> None:
    image = pattern(*shape)
    expected = image
    for _ in range(halvings):
        expected = area(expected, (expected.shape[1] // 2, expected.shape[0] // 2))
    if (expected.shape[1], expected.shape[0]) != size:
        under_2x = expected.shape[1] < 2 * size[0] and expected.shape[0] < 2 * size[1]
        expected = cv2.resize(expected, size, interpolation=cv2.INTER_LINEAR if under_2x else cv2.INTER_AREA)
    assert np.array_equal(shrink(image, size), expected)


def test_an_odd_sized_halving_rounds_down() -> None:
    image = pattern(101, 203)
    assert shrink(image, (101, 50)).shape == (50, 101, 3)
    assert np.array_equal(shrink(image, (101, 50)), area(image, (101, 50)))


def test_the_first_halving_of_a_read_only_frame_is_shared() -> None:
    frame = pattern(360, 640)
    frame.flags.writeable = False
    half = shrink(frame, (320, 180))
    assert half is shrink(frame, (320, 180)) and not half.flags.writeable  # computed once, shared, protected
    assert shrink(frame, (160, 90)).shape == (90, 160, 3)
    writable = pattern(360, 640)
    assert shrink(writable, (320, 180)) is not shrink(writable, (320, 180))  # a frame that may change: never cached
    others = [pattern(360, 640 + i) for i in range(6)]
    for other in others:
        other.flags.writeable = False
        shrink(other, (other.shape[1] // 2, 180))
    assert shrink(frame, (320, 180)) is not half  # a few frames later it was evicted (bounded memo)
    assert np.array_equal(shrink(frame, (320, 180)), half)


def test_a_shrunk_alpha_leaves_the_frames_halvings_shared() -> None:
    """A read-only alpha (a kept mask) takes no memo slot: the frame's halving stays."""
    frame = np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    frame.flags.writeable = False
    half = shrink(frame, (640, 360))
    for seed in range(_MEMO_SLOTS):
        alpha = np.full((720, 1280), seed, np.uint8)
        alpha.flags.writeable = False
        assert shrink(alpha, (160, 90))[0, 0] == seed
    assert shrink(frame, (640, 360)) is half
