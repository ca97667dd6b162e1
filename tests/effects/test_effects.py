"""Exact checks on small hand-made images, then behaviour on real photos with real masks."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgfx.errors import CommandError
from bgfx.vision.effects import Chain, ChainItem
from bgfx.vision.effects.blur import Blur
from bgfx.vision.effects.hair_tint import HairTint
from bgfx.vision.effects.replace import Replace
from bgfx.vision.effects.simple import Desaturate, Mirror
from bgfx.vision.refine import Refiner, RefineSettings
from bgfx.vision.segmentation import Segmenter, SegmenterOptions
from bgfx.vision.timing import StageClock
from tests.conftest import model


def everyone(image: np.ndarray) -> np.ndarray:
    """A person mask covering the whole picture."""
    return np.full(image.shape[:2], 255, np.uint8)


def scene() -> tuple[np.ndarray, np.ndarray]:
    """A 120x160 red 'person' block on a striped grey background, and its exact alpha."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :] = 100
    image[:, ::4] = 220  # stripes for blur to remove
    image[30:120, 60:100] = (0, 0, 230)
    alpha = np.zeros((120, 160), np.uint8)
    alpha[30:120, 60:100] = 255
    return image, alpha


def test_blur_keeps_the_person_and_smooths_the_background() -> None:
    image, alpha = scene()
    out = Blur(strength=50).prepare().apply(image, {"person": alpha}, 0)
    assert np.array_equal(out[30:120, 60:100], image[30:120, 60:100])
    background = out[:, :40].astype(int)
    assert background.std() < 0.3 * image[:, :40].astype(int).std()


def test_blur_has_no_halo_of_person_colour() -> None:
    image, alpha = scene()
    out = Blur(strength=80).prepare().apply(image, {"person": alpha}, 0)
    ring = out[30:120, 50:58].astype(int)  # background just left of the person
    red_excess = ring[..., 2] - ring[..., 1]
    assert red_excess.max() <= 6  # the red person did not bleed into the blurred background


def test_blur_strength_scales_the_blur() -> None:
    image, alpha = scene()
    weak = Blur(strength=5).prepare().apply(image, {"person": alpha}, 0)[:, :40].std()
    strong = Blur(strength=100).prepare().apply(image, {"person": alpha}, 0)[:, :40].std()
    assert strong < weak


def fitted(runtime, size: tuple[int, int]) -> np.ndarray:
    """The background once the loader thread has fitted it to size (w, h); what the frame thread gets before
    that is the small preview."""
    deadline = time.monotonic() + 10
    while runtime._fitter.take(size) is None:
        runtime.background(size, 0)
        assert time.monotonic() < deadline, f"no background fitted to {size} within 10 s"
        time.sleep(0.005)
    return runtime.background(size, 0)


def test_replace_with_colour_image_and_video(tmp_path: Path) -> None:
    image, alpha = scene()
    out = Replace(colour=(10, 20, 30)).prepare().apply(image, {"person": alpha}, 0)
    assert out[0, 0].tolist() == [10, 20, 30] and np.array_equal(out[30:, 60:100], image[30:, 60:100])

    office = np.zeros((60, 80, 3), np.uint8)
    office[:, :40] = (0, 255, 0)
    cv2.imwrite(str(tmp_path / "office.png"), office)
    effect = Replace(image=tmp_path / "office.png", fit="stretch").prepare()
    fitted(effect, (160, 120))
    out = effect.apply(image, {"person": alpha}, 0)
    assert out[5, 5].tolist() == [0, 255, 0] and out[5, 150].tolist() == [0, 0, 0]
    assert effect.apply(image, {"person": alpha}, 1) is not out  # a new image each call
    assert effect.background((160, 120), 2) is effect.background((160, 120), 3)  # fitted once
    assert fitted(effect, (80, 60)).shape == (60, 80, 3)  # and again for another size

    clip = tmp_path / "bg.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (80, 60))
    for value in (0, 250):  # two frames: black then white, 100 ms each
        writer.write(np.full((60, 80, 3), value, np.uint8))
    writer.release()
    looped = Replace(video=clip, fit="cover").prepare()
    seen: set[int] = set()
    deadline = time.monotonic() + 3
    while len(seen) < 2 and time.monotonic() < deadline:  # played on its own thread, at its own speed, looping
        seen.add(int(looped.apply(image, {"person": alpha}, 0)[5, 5].mean()) // 128)
        time.sleep(0.02)
    assert seen == {0, 1}, seen
    decoder = looped._player.video._capture
    assert decoder.isOpened()
    looped.close()
    assert not decoder.isOpened()  # close() releases the background video


def test_a_replace_schema_checks_files_cheaply_and_decodes_only_when_prepared(tmp_path: Path, monkeypatch) -> None:
    cv2.imwrite(str(tmp_path / "office.png"), np.full((60, 80, 3), 7, np.uint8))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match="image: cannot read"):
        Replace(image=tmp_path / "notes.png")  # the header says it is no image
    decoded = []
    real_imdecode = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: decoded.append(len(a[0])) or real_imdecode(*a, **k))
    schema = Replace(image=tmp_path / "office.png")
    assert decoded == []  # validating (a config load, a reload, doctor) decodes nothing
    runtime = schema.prepare()
    assert decoded == [(tmp_path / "office.png").stat().st_size]
    assert fitted(runtime, (8, 6))[0, 0].tolist() == [7, 7, 7]


def test_hair_tint_recolours_hair_only() -> None:
    image = np.full((40, 40, 3), (60, 70, 80), np.uint8)  # brownish grey
    image[:, ::3] += 30  # texture
    hair = np.zeros((40, 40), np.uint8)
    hair[:20] = 255
    out = HairTint(colour=(220, 30, 30), strength=100).prepare().apply(image, {"hair": hair, "person": everyone(image)}, 0)  # '#1E1EDC'-ish → red in BGR
    hsv_in = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hsv_out = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
    assert np.array_equal(out[20:], image[20:])
    assert np.abs(hsv_out[:20, :, 0].astype(int) - hsv_in[:20, :, 0]).mean() > 20
    lab_in = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)[:20, :, 0].astype(int)
    lab_out = cv2.cvtColor(out, cv2.COLOR_BGR2LAB)[:20, :, 0].astype(int)
    assert np.abs(lab_out - lab_in).mean() < 8  # lightness (texture) kept


def test_chain_order_matters_and_toggles() -> None:
    image, alpha = scene()
    grey_then_red = Chain((ChainItem("grey", True, Desaturate()), ChainItem("wall", True, Replace(colour=(0, 0, 255)))))
    red_then_grey = Chain((ChainItem("wall", True, Replace(colour=(0, 0, 255))), ChainItem("grey", True, Desaturate())))
    a = grey_then_red.apply(image, {"person": alpha}, 0)
    b = red_then_grey.apply(image, {"person": alpha}, 0)
    assert a[0, 0].tolist() == [0, 0, 255]  # the red wall was put in after greying
    assert len(set(b[0, 0].tolist())) == 1  # the red wall was greyed
    grey_then_red.enabled = grey_then_red.toggled("wall")
    assert grey_then_red.enabled == {"grey": True, "wall": False}
    assert grey_then_red.needs == {"person"}
    assert grey_then_red.apply(image, {"person": alpha}, 0)[0, 1].tolist() == [100, 100, 100]
    with pytest.raises(CommandError, match="unknown effect 'sparkle'; effects: grey, wall"):
        grey_then_red.toggled("sparkle")


def test_mirror_flips_the_image_and_the_masks_after_it() -> None:
    image, alpha = scene()
    image[:60, :, 0] = 50  # top and bottom differ: a vertical flip would show
    alpha = alpha.copy()
    alpha[:, 60:] = 0
    alpha[30:, 0:20] = 255  # person on the left, image's red block stays where it is
    chain = Chain((ChainItem("mirror", True, Mirror()), ChainItem("wall", True, Replace(colour=(9, 9, 9)))))
    out = chain.apply(image, {"person": alpha}, 0)
    assert out[60, 150].tolist() == image[60, 9].tolist()  # the kept person moved to the right
    assert out[40, 150].tolist() == image[40, 9].tolist()  # left-right only
    assert out[60, 5].tolist() == [9, 9, 9]
    plain = Chain((ChainItem("grey", True, Desaturate()), ChainItem("wall", True, Replace(colour=(9, 9, 9)))))
    kept = plain.apply(image, {"person": alpha}, 0)
    assert kept[60, 9].tolist() != [9, 9, 9] and kept[60, 150].tolist() == [9, 9, 9]  # no mirror: masks stay


@pytest.mark.models
def test_on_a_real_photo_blur_keeps_person_and_changes_wall(sergey: np.ndarray) -> None:
    with Segmenter(model("selfie_square"), SegmenterOptions(at_model_size=False)) as segmenter:
        person = segmenter.segment(sergey).masks["person"]
    alpha = cv2.convertScaleAbs(person, alpha=255.0)
    out = Blur(strength=70).prepare().apply(sergey, {"person": alpha}, 0)
    inside = alpha == 255
    outside = alpha == 0
    assert np.abs(out[inside].astype(int) - sergey[inside]).mean() < 1.0
    edges_in = cv2.Laplacian(cv2.cvtColor(sergey, cv2.COLOR_BGR2GRAY), cv2.CV_32F)[outside].std()
    edges_out = cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.CV_32F)[outside].std()
    assert edges_out < 0.5 * edges_in


@pytest.mark.models
def test_on_a_real_photo_hair_tint_moves_hue_in_hair_not_face(sergey: np.ndarray) -> None:
    with Segmenter(model("hair"), SegmenterOptions()) as segmenter:
        hair = segmenter.segment(sergey).masks["hair"]
    alpha = Refiner(RefineSettings())(hair, sergey)
    out = HairTint(colour=(40, 200, 40), strength=100).prepare().apply(sergey, {"hair": alpha, "person": everyone(sergey)}, 0)  # green
    lab_in, lab_out = (cv2.cvtColor(x, cv2.COLOR_BGR2LAB).astype(int) for x in (sergey, out))
    in_hair = alpha > 200
    face = (slice(250, 400), slice(200, 400))
    assert (lab_out[..., 1][in_hair] - lab_in[..., 1][in_hair]).mean() < -15  # a* towards green
    assert np.abs(out[face].astype(int) - sergey[face]).max() <= 1


def test_light_wrap_tints_the_inner_edge_only() -> None:
    image = np.zeros((240, 320, 3), np.uint8)
    image[:] = (0, 0, 200)  # a red person filling the frame ...
    alpha = np.zeros((240, 320), np.uint8)
    alpha[40:, 100:220] = 255  # ... of which this block is the person
    plain = Replace(colour=(0, 255, 0)).prepare().apply(image, {"person": alpha}, 0)
    wrapped = Replace(colour=(0, 255, 0), light_wrap=1.0).prepare().apply(image, {"person": alpha}, 0)
    inner_edge = (slice(120, 200), slice(101, 104))
    interior = (slice(150, 200), slice(140, 180))
    assert wrapped[inner_edge][..., 1].mean() > plain[inner_edge][..., 1].mean() + 20  # green light spills in
    assert np.array_equal(wrapped[interior], plain[interior])
    assert np.array_equal(wrapped[:, :90], plain[:, :90])  # the background itself is untouched


def test_desaturate_strength_moves_the_background_part_way_to_grey() -> None:
    image, alpha = scene()
    half = Desaturate(strength=50).prepare().apply(image, {"person": alpha}, 0)
    full = Desaturate(strength=100).prepare().apply(image, {"person": alpha}, 0)
    wall = image[0, 1].astype(int)  # (100, 100, 100): already grey, stays
    assert full[0, 1].tolist() == wall.tolist() == half[0, 1].tolist()
    red = np.zeros((4, 4, 3), np.uint8)
    red[:] = (0, 0, 200)
    none = np.zeros((4, 4), np.uint8)
    grey_level = int(cv2.cvtColor(red, cv2.COLOR_BGR2GRAY)[0, 0])
    assert Desaturate(strength=100).prepare().apply(red, {"person": none}, 0)[0, 0].tolist() == [grey_level] * 3
    halfway = Desaturate(strength=50).prepare().apply(red, {"person": none}, 0)[0, 0].tolist()
    assert halfway == [round(grey_level / 2), round(grey_level / 2), round((grey_level + 200) / 2)]
    assert np.array_equal(half[30:, 60:100], image[30:, 60:100])  # the person keeps colour


def test_the_chain_times_each_enabled_effect_only_when_asked() -> None:
    image, alpha = scene()
    chain = Chain((ChainItem("grey", True, Desaturate()), ChainItem("wall", False, Replace(colour=(1, 2, 3))),
                   ChainItem("blur", True, Blur())))
    clock = StageClock()
    chain.apply(image, {"person": alpha}, 0, clock)
    assert set(clock.wall) == {"effect:grey", "effect:blur"}  # the disabled wall is skipped, blur still runs
    assert chain.needs == {"person"} and Chain(()).needs == frozenset()
    with pytest.raises(CommandError, match="unknown effect 'x'; effects: none"):
        Chain(()).toggled("x")


def test_blur_sigma_follows_strength_and_frame_width() -> None:
    """A vertical step in the background spreads by sigma = strength/100 * 6% of the width."""
    image = np.zeros((200, 640, 3), np.uint8)
    image[:, 320:] = 200
    nobody = np.zeros((200, 640), np.uint8)
    for strength in (25, 50):
        row = Blur(strength=strength).prepare().apply(image, {"person": nobody}, 0)[100, :, 0].astype(float)
        rise = np.flatnonzero(row > 0.9 * 200)[0] - np.flatnonzero(row > 0.1 * 200)[0]  # 10%..90%: 2.56 sigma
        sigma = strength / 100 * 0.06 * 640
        assert abs(rise / 2.56 - sigma) < 0.25 * sigma, (strength, rise / 2.56, sigma)


def test_blur_keeps_a_plain_background_exact_right_up_to_the_person() -> None:
    for wall in ((0, 0, 0), (40, 90, 250)):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:] = wall
        image[20:, 60:260] = (255, 255, 255)  # a big white person: little background to average
        alpha = np.zeros((240, 320), np.uint8)
        alpha[20:, 60:260] = 255
        out = Blur(strength=80).prepare().apply(image, {"person": alpha}, 0)
        background = np.ones((240, 320), bool)
        background[16:, 56:264] = False  # 4 px of edge band left out
        assert np.abs(out[background].astype(int) - wall).max() <= 1, wall  # no halo, no dark ring, nothing lifted


def test_light_wrap_scales_with_its_amount_and_is_free_when_off() -> None:
    from bgfx.vision.effects.composite import Workspace, light_wrap

    foreground = np.zeros((240, 320, 3), np.uint8)
    background = np.full((240, 320, 3), 250, np.uint8)
    alpha = np.zeros((240, 320), np.uint8)
    alpha[40:, 100:220] = 255
    assert light_wrap(foreground, background, alpha, 0.0, Workspace()) is foreground
    band = (slice(120, 200), slice(101, 107))  # just inside the edge, where the glow is not yet saturated
    quarter = light_wrap(foreground, background, alpha, 0.25, Workspace())[band].mean()
    full = light_wrap(foreground, background, alpha, 1.0, Workspace())[band].mean()
    assert 40 < quarter and full > 1.5 * quarter and full < 250
    inside = light_wrap(foreground, background, alpha, 1.0, Workspace())
    assert inside[150:200, 140:180].max() == 0 and inside[:, :90].max() == 0  # only the inner edge glows


def test_hair_tint_stays_in_the_hair_box_and_strength_scales_it() -> None:
    image = np.full((60, 80, 3), (60, 70, 80), np.uint8)
    hair = np.zeros((60, 80), np.uint8)
    hair[10:20, 15:30] = 255
    full = HairTint(colour=(220, 30, 30), strength=100).prepare().apply(image, {"hair": hair, "person": everyone(image)}, 0)
    half = HairTint(colour=(220, 30, 30), strength=50).prepare().apply(image, {"hair": hair, "person": everyone(image)}, 0)
    outside = hair == 0
    assert np.array_equal(full[outside], image[outside]) and np.array_equal(half[outside], image[outside])
    shift_full = np.abs(full[hair > 0].astype(int) - image[hair > 0]).mean()
    shift_half = np.abs(half[hair > 0].astype(int) - image[hair > 0]).mean()
    assert shift_full > 20 and abs(shift_half - shift_full / 2) < 3
    nothing = np.zeros((60, 80), np.uint8)
    assert np.array_equal(HairTint().prepare().apply(image, {"hair": nothing, "person": everyone(image)}, 0), image)
    one_row = np.zeros((60, 80), np.uint8)
    one_row[30, 10:40] = 255  # a hair mask one pixel high is still tinted
    assert not np.array_equal(HairTint().prepare().apply(image, {"hair": one_row, "person": everyone(image)}, 0)[30, 10:40], image[30, 10:40])


def test_replace_letterboxes_an_image_in_black(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "tall.png"), np.full((80, 20, 3), 200, np.uint8))
    boxed = fitted(Replace(image=tmp_path / "tall.png", fit="contain").prepare(), (160, 80))
    assert boxed[:, :60].max() == 0 and boxed[:, 100:].max() == 0 and boxed[:, 70:90].min() == 200


def test_hair_tint_never_reaches_outside_the_person_and_fades_with_its_soft_edge() -> None:
    hair = np.zeros((100, 400), np.uint8)
    hair[10:40, 20:380] = 255  # the hair model also saw "hair" in a bush beside the person
    person = np.zeros((100, 400), np.uint8)
    person[:, 60:120] = 255
    person[:, 56:60] = 100  # the person's soft edge: outer strands
    runtime = HairTint(strength=100).prepare()
    image = np.full((100, 400, 3), (60, 70, 80), np.uint8)
    out = runtime.apply(image, {"hair": hair, "person": person}, 0)
    change = np.abs(out.astype(int) - image).sum(axis=2)
    assert (change[10:40, 60:120] > 0).all()  # the hair on the person is tinted
    assert (change[10:40, 56:60] > 0).all() and change[10:40, 56:60].max() < change[10:40, 60:120].min()  # partly
    assert not change[:, :56].any() and not change[:, 120:].any() and not change[40:].any()  # no bush
    region, weight = runtime.weights({"hair": hair, "person": person})
    assert weight.shape == (30, 360) and weight[:, 40:100].min() == 255 and weight[:, :36].max() == 0
    assert (weight[:, 36:40] == 100).all()
