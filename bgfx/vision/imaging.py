"""Small image helpers shared by effects, cards, config and bench: fitting a picture to a size, colours.

`fit_image` brings a background or pause picture to the output size once, never
per frame; `parse_colour` turns what a user writes in YAML into OpenCV's BGR.
"""

from __future__ import annotations

import cv2
import numpy as np


def fit_image(image: np.ndarray, size: tuple[int, int], mode: str, fill: tuple[int, int, int]) -> np.ndarray:
    """(h, w, 3) uint8 BGR → size (w, h): `cover` crops, `contain` letterboxes with fill (BGR), `stretch` distorts."""
    width, height = size
    if mode == "stretch":
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    src_h, src_w = image.shape[:2]
    scale = (max if mode == "cover" else min)(width / src_w, height / src_h)
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if mode == "cover":
        x, y = (new_w - width) // 2, (new_h - height) // 2
        return np.ascontiguousarray(resized[y : y + height, x : x + width])
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = fill
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = resized
    return canvas


def parse_colour(value: object) -> tuple[int, int, int]:
    """'#RRGGBB' or [R, G, B] (0..255) → (B, G, R) for OpenCV; ValueError saying what is accepted."""
    if isinstance(value, str) and len(value) == 7 and value.startswith("#"):
        try:
            r, g, b = (int(value[i : i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            raise ValueError(f"must be '#RRGGBB' or [R, G, B], got {value!r}") from None
        return b, g, r
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
    ):
        return value[2], value[1], value[0]
    raise ValueError(f"must be '#RRGGBB' or [R, G, B] with values 0..255, got {value!r}")
