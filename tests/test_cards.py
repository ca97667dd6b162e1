import numpy as np

from bgfx.live.cards import card


def test_colour_card_with_caption() -> None:
    picture = card((320, 180), "colour", last_frame=None, image=None, colour=(10, 20, 30), caption="paused")
    assert picture.shape == (180, 320, 3)
    assert picture[5, 5].tolist() == [10, 20, 30]
    assert (picture == 255).all(axis=2).any()  # the white caption is drawn


def test_blur_card_hides_detail_of_the_last_frame() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
    picture = card((320, 180), "blur", last_frame=frame, image=None, colour=(0, 0, 0))
    assert picture.std() < 0.2 * frame.std()
    assert abs(float(picture.mean()) - float(frame.mean())) < 10  # the same light, no detail


def test_image_card_fits_the_image_and_falls_back_to_colour() -> None:
    image = np.full((50, 100, 3), 200, np.uint8)
    assert card((320, 180), "image", last_frame=None, image=image, colour=(0, 0, 0))[90, 160].tolist() == [200] * 3
    assert card((320, 180), "blur", last_frame=None, image=None, colour=(1, 2, 3))[0, 0].tolist() == [1, 2, 3]
