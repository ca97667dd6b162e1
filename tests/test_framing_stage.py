"""The framing stage's scaling (#19): the framed masks land where the framed picture's edges land, from the
guide-size alpha or from the frame-size one, and a settled window with unchanged masks keeps last frame's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgfx.vision.frame import Frame
from bgfx.vision.framing_settings import FramingSettings
from bgfx.vision.framing_stage import FramingStage
from bgfx.vision.refine import Refined

SIZE = (1280, 720)
GUIDE = (256, 144)  # 5 frame px a guide pixel
PERSON = (400, 200, 880, 720)  # frame px, multiples of 5: a sharp-edged block the framer zooms in on


def _scene() -> tuple[Frame, Refined]:
    """A frame whose picture is white inside PERSON and black outside (edges between whole pixels), and the
    person's alpha: 255 inside PERSON at guide size, scaled up as the refiner does (its 50 % where the picture's is)."""
    x0, y0, x1, y1 = PERSON
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    image[y0:y1, x0:x1] = 255
    small = np.zeros((GUIDE[1], GUIDE[0]), np.uint8)
    small[y0 // 5 : y1 // 5, x0 // 5 : x1 // 5] = 255
    alpha = cv2.resize(small, SIZE, interpolation=cv2.INTER_LINEAR)
    small.flags.writeable = alpha.flags.writeable = False
    return Frame(image, 1), Refined(alpha, small)


def _crossings(profile: np.ndarray) -> np.ndarray:
    """Sub-pixel places where a 1-D uint8 profile crosses 127.5 (linear between neighbours)."""
    values = profile.astype(np.float64) - 127.5
    at = np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:]))
    return at + values[at] / (values[at] - values[at + 1])


def _edges(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left and right edge along the middle row, top edge along the middle column) of a (H, W) uint8 picture."""
    height, width = image.shape
    return _crossings(image[height * 3 // 4]), _crossings(image[:, width // 2])


@pytest.mark.parametrize("from_guide", [True, False], ids=["guide-size alpha", "frame-size alpha"])
def test_framed_masks_land_where_the_framed_pictures_edges_land(from_guide: bool) -> None:
    frame, refined = _scene()
    stage = FramingStage(FramingSettings(mode="follow", max_zoom=2.0))
    masks = {"person": refined.alpha, "hair": refined.alpha}
    sources = {"person": refined if from_guide else None}  # hair: never a source, its mask is scaled itself
    image, framed = stage.apply(frame, masks, photo=True, sources=sources)
    assert stage.zoom > 1.5 and image.shape == frame.image.shape
    picture_x, picture_y = _edges(image[..., 0])
    assert len(picture_x) == 2 and len(picture_y) == 1  # both sides and the top of the block are in the picture
    for name in ("person", "hair"):
        mask_x, mask_y = _edges(framed[name])
        assert len(mask_x) == 2 and len(mask_y) == 1
        np.testing.assert_allclose(mask_x, picture_x, atol=1.0)
        np.testing.assert_allclose(mask_y, picture_y, atol=1.0)


def test_a_settled_window_keeps_last_frames_framed_mask_while_the_mask_is_the_same(monkeypatch) -> None:
    frame, refined = _scene()
    stage = FramingStage(FramingSettings(mode="follow", max_zoom=2.0))
    masks, sources = {"person": refined.alpha}, {"person": refined}
    _, first = stage.apply(frame, masks, photo=True, sources=sources)
    kept = np.array(first["person"])
    assert first["person"].flags.writeable  # just made: no effect may take it for last frame's
    warps = []
    monkeypatch.setattr(cv2, "warpAffine", lambda *args, _warp=cv2.warpAffine, **kw: warps.append(1) or _warp(*args, **kw))
    _, second = stage.apply(Frame(np.array(frame.image), 2), masks, photo=True, sources=sources)
    assert second["person"] is first["person"] and not second["person"].flags.writeable
    assert np.array_equal(second["person"], kept)
    assert len(warps) == 1  # the picture only
    holed = np.array(refined.small)
    holed[100:110, 120:130] = 0  # inside the block: the person's box, and so the window, stay where they are
    holed.flags.writeable = False
    other = Refined(cv2.resize(holed, SIZE, interpolation=cv2.INTER_LINEAR), holed)
    _, third = stage.apply(frame, {"person": other.alpha}, photo=True, sources={"person": other})
    assert third["person"].flags.writeable and not np.array_equal(third["person"], kept)  # a new mask: scaled anew


def test_a_mask_kept_the_same_is_scaled_again_when_the_window_moves() -> None:
    frame, refined = _scene()
    stage = FramingStage(FramingSettings(mode="follow", max_zoom=2.0))
    hair = refined.alpha  # the same read-only array both frames, while the person (and so the window) moves
    _, first = stage.apply(frame, {"person": refined.alpha, "hair": hair}, photo=True)
    before = np.array(first["hair"])
    shifted = np.roll(refined.alpha, -200, axis=1)
    shifted.flags.writeable = False
    _, second = stage.apply(frame, {"person": shifted, "hair": hair}, photo=True)
    assert not np.array_equal(second["hair"], before) and second["hair"].flags.writeable


def test_a_writable_mask_is_scaled_again_even_when_it_is_the_same_array() -> None:
    frame, refined = _scene()
    stage = FramingStage(FramingSettings(mode="follow", max_zoom=2.0))
    mask = np.array(refined.alpha)  # writable: its owner may change it between frames
    _, first = stage.apply(frame, {"person": mask}, photo=True)
    before = np.array(first["person"])
    mask[400:500, 560:720] = 0  # inside the block: the window stays where it was
    _, second = stage.apply(frame, {"person": mask}, photo=True)
    assert second["person"] is first["person"]  # the same buffer ...
    assert np.count_nonzero(second["person"] != before) > 10_000  # ... made anew: the hole shows
