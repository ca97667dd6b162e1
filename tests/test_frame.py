import numpy as np
import pytest

from bgfx.vision.frame import Frame, Segmentation


def test_frame_is_read_only_and_sized() -> None:
    frame = Frame(np.zeros((4, 6, 3), np.uint8), 10)
    assert frame.size == (6, 4) and Frame(np.zeros((1, 1, 3), np.uint8), 0).size == (1, 1)
    assert frame.image.flags.writeable is False
    with pytest.raises(ValueError, match="read-only"):
        frame.image[0, 0, 0] = 1


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 6), np.uint8), r"expected shape \(H, W, 3\), got \(4, 6\)"),
        (np.zeros((4, 6, 4), np.uint8), r"expected shape \(H, W, 3\), got \(4, 6, 4\)"),
        (np.zeros((4, 6, 3), np.float32), "expected dtype uint8, got float32"),
        (np.zeros((0, 6, 3), np.uint8), r"expected a non-empty image, got shape \(0, 6, 3\)"),
        (np.zeros((4, 0, 3), np.uint8), r"expected a non-empty image, got shape \(4, 0, 3\)"),
        ([[1, 2, 3]], "expected shape \\(H, W, 3\\), got list"),
    ],
)
def test_frame_rejects_bad_images(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Frame(image, 0)


def test_segmentation_checks_mask_shapes() -> None:
    ok = Segmentation({"person": np.zeros((2, 3), np.float32)}, 5)
    assert ok.shape == (2, 3)
    with pytest.raises(ValueError, match=r"masks\['hair'\]: expected shape \(2, 3\) like the others, got \(3, 3\)"):
        Segmentation({"person": np.zeros((2, 3), np.float32), "hair": np.zeros((3, 3), np.float32)}, 5)
    with pytest.raises(ValueError, match=r"expected \(h, w\) float32, got \(2, 3\) uint8"):
        Segmentation({"person": np.zeros((2, 3), np.uint8)}, 5)
    with pytest.raises(ValueError, match=r"category: expected shape \(2, 3\) like the masks, got \(4, 4\)"):
        Segmentation({"person": np.zeros((2, 3), np.float32)}, 5, category=np.zeros((4, 4), np.uint8))


def test_segmentation_checks_the_category_mask_and_knows_its_shape() -> None:
    category = np.zeros((4, 5), np.uint8)
    assert Segmentation({}, 0, category=category).shape == (4, 5)  # a category mask alone sets the shape
    assert Segmentation({}, 0).shape == (0, 0)
    with pytest.raises(ValueError, match=r"category: expected \(h, w\) uint8, got \(4, 5\) int32"):
        Segmentation({}, 0, category=np.zeros((4, 5), np.int32))
    with pytest.raises(ValueError, match=r"category: expected \(h, w\) uint8, got \(4, 5, 1\) uint8"):
        Segmentation({}, 0, category=np.zeros((4, 5, 1), np.uint8))
    ok = Segmentation({"person": np.zeros((4, 5), np.float32)}, 7, ("selfie",), category=category)
    assert ok.shape == (4, 5) and ok.labels == ("selfie",) and ok.timestamp_ms == 7
    with pytest.raises(TypeError):
        ok.masks["hair"] = np.zeros((4, 5), np.float32)  # read-only mapping
