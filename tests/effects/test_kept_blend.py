"""Still frames are blended anew only where the picture changed (`KeptBlend`), and stay the whole blend there."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.composite import Workspace, blend_into
from bgfx.vision.frame import Frame
from bgfx.vision.refine import Refiner, RefineSettings
from bgfx.vision.segmentation import Segmenter, SegmenterOptions
from tests.conftest import model

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def desk(video_frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The desk clip's first frame at 1280x720 and its refined person alpha (the real model), read-only as the
    pipeline hands a reused alpha back."""
    image = cv2.resize(video_frames[0], (1280, 720), interpolation=cv2.INTER_LINEAR)
    with Segmenter(model("selfie_landscape"), SegmenterOptions()) as segmenter:
        mask = segmenter.segment(image).masks["person"]
    alpha = Refiner(RefineSettings())(mask, image)
    alpha.flags.writeable = False
    return image, alpha


def frame(image: np.ndarray) -> np.ndarray:
    """A read-only picture, as a `Frame` holds it."""
    return Frame(np.ascontiguousarray(image), 1).image


def noisy(image: np.ndarray, seed: int, sigma: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def whole(runtime, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The blend the every-frame path makes of this picture: the same kept background, blended whole."""
    return blend_into(runtime.canvas.picture[:720, :1280].copy(), image, alpha, Workspace())


def face_box(alpha: np.ndarray, lowest: bool = False) -> tuple[slice, slice]:
    """A 64x64 box wholly inside the person (alpha 255), nearest the top of the person (or the bottom)."""
    inside = cv2.erode((alpha == 255).view(np.uint8), np.ones((65, 65), np.uint8))
    y, x = np.argwhere(inside)[-1 if lowest else 0]
    return slice(y - 32, y + 32), slice(x - 32, x + 32)


def test_a_still_frame_keeps_the_last_composite_and_a_change_on_the_person_is_blended_anew(desk) -> None:
    image, alpha = desk
    runtime = Blur().prepare()
    first = runtime.apply(frame(noisy(image, 1)), {"person": alpha}, 0)
    assert not first.flags.writeable  # the kept composite can be changed by nobody downstream
    second = runtime.apply(frame(noisy(image, 2)), {"person": alpha}, 33)
    assert np.array_equal(second, first)  # sensor noise alone: nothing blended anew
    far = cv2.dilate(alpha, np.ones((97, 97), np.uint8)) == 0  # background 48 px and more from the person
    passer_by = noisy(image, 4)
    passer_by[far] = 255 - passer_by[far]  # behind them, where the kept blurred background shows anyway
    assert runtime.apply(frame(passer_by), {"person": alpha}, 16) is second
    rows, cols = face_box(alpha)
    spoken = noisy(image, 3)
    spoken[rows, cols] = 255 - spoken[rows, cols]  # a mouth opening, a hand raised: a change on the person
    third = runtime.apply(frame(spoken), {"person": alpha}, 66)
    assert np.array_equal(third[rows, cols], spoken[rows, cols])  # inside the person: this frame's own pixels
    full = whole(runtime, spoken, alpha)
    changed = np.abs(third.astype(int) - first).max(axis=2) > 0
    assert np.array_equal(third[changed], full[changed])  # what was redone is the whole blend's
    ys, xs = np.nonzero(changed)
    assert ys.max() - ys.min() < 200 and xs.max() - xs.min() < 200  # and only around the change


def test_a_slow_drift_is_caught_once_it_adds_up_while_another_part_moves(desk) -> None:
    """The face 1 grey level brighter each frame (under the threshold frame to frame, not in sum) while a hand
    lower down moves on every frame: what is redone for the hand must not make the face's drift forgotten."""
    image, alpha = desk
    runtime = Blur().prepare()
    runtime.apply(frame(image), {"person": alpha}, 0)
    face, hand = face_box(alpha), face_box(alpha, lowest=True)
    for step in range(1, 9):
        picture = image.copy()
        picture[face] = cv2.add(image[face], np.full_like(image[face], step))
        picture[hand] = 255 - image[hand] if step % 2 else image[hand]
        out = runtime.apply(frame(picture), {"person": alpha}, 33 * step)
    assert np.array_equal(out[face], picture[face]) and np.array_equal(out[hand], picture[hand])


def test_a_new_mask_a_writeable_picture_or_light_wrap_blend_the_whole_frame(desk) -> None:
    image, alpha = desk
    brighter = cv2.add(image, np.full_like(image, 2))  # under the threshold: a kept composite would not show it
    for name, settings, second_alpha, picture in (
        ("new mask", Blur(), alpha.copy(), frame(brighter)),
        ("writeable picture", Blur(), alpha, brighter.copy()),
        ("light wrap", Blur(light_wrap=0.5), alpha, frame(brighter)),
    ):
        if name == "new mask":
            second_alpha.flags.writeable = False
        runtime, every = settings.prepare(), settings.prepare()
        runtime.apply(frame(image), {"person": alpha}, 0)
        out = runtime.apply(picture, {"person": second_alpha}, 33)
        every.apply(image.copy(), {"person": alpha}, 0)  # writeable pictures: never kept, the every-frame path
        assert np.array_equal(out, every.apply(brighter.copy(), {"person": second_alpha}, 33)), name
        rows, cols = face_box(alpha)
        assert np.array_equal(out[rows, cols], brighter[rows, cols]) or name == "light wrap", name


def test_sub_threshold_changes_are_kept_on_a_still_frame(desk) -> None:
    """The other side of the test above: the same 2-level change on a still read-only frame is not redone."""
    image, alpha = desk
    runtime = Blur().prepare()
    first = runtime.apply(frame(image), {"person": alpha}, 0)
    out = runtime.apply(frame(cv2.add(image, np.full_like(image, 2))), {"person": alpha}, 33)
    assert out is first


def test_a_change_over_a_quarter_of_the_frame_is_blended_whole(desk) -> None:
    """Past `KEPT_MOST` a copy plus a part blend costs more than the whole blend: the frame takes it, and it is
    the every-frame path's picture to the bit."""
    image, alpha = desk
    runtime = Blur().prepare()
    runtime.apply(frame(image), {"person": alpha}, 0)
    moved = np.ascontiguousarray(np.roll(image, 24, axis=1))  # the whole person shifted: a change all over them
    out = runtime.apply(frame(moved), {"person": alpha}, 33)
    assert runtime._kept.redone == 1.0
    assert np.array_equal(out, whole(runtime, moved, alpha))


def test_a_new_mask_is_watched_where_the_person_now_is(desk) -> None:
    """After a still stretch on one mask, the person moves 320 px and a new mask comes: a change on them in their
    new place (far from the old mask) is blended anew, not judged by where they were."""
    image, alpha = desk
    moved_alpha = np.ascontiguousarray(np.roll(alpha, 320, axis=1))
    moved_alpha[:, :320] = 0
    moved_alpha.flags.writeable = False
    moved = np.ascontiguousarray(np.roll(image, 320, axis=1))
    runtime = Blur().prepare()
    runtime.apply(frame(image), {"person": alpha}, 0)
    runtime.apply(frame(noisy(image, 1)), {"person": alpha}, 33)  # a still frame: the old mask is watched
    runtime.apply(frame(moved), {"person": moved_alpha}, 66)
    rows, cols = face_box(moved_alpha)
    assert cv2.dilate(alpha, np.ones((49, 49), np.uint8))[rows, cols].max() == 0  # far outside the old mask
    spoken = moved.copy()
    spoken[rows, cols] = 255 - spoken[rows, cols]
    out = runtime.apply(frame(spoken), {"person": moved_alpha}, 99)
    assert np.array_equal(out[rows, cols], spoken[rows, cols])
