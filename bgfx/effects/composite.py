"""uint8 compositing shared by the effects that swap the background.

Blending in uint8 with OpenCV costs ~0.5 ms at 720p against ~10 ms for numpy
float32, and allocates no full-size float temporaries.
"""

from __future__ import annotations

import cv2
import numpy as np

_INV255 = 1.0 / 255.0


def blend(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """foreground*alpha + background*(1-alpha), all uint8; alpha (H, W) 0..255.

    Exact where alpha is 0 or 255; within one level elsewhere.
    """
    alpha3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)
    front = cv2.multiply(foreground, alpha3, scale=_INV255)
    back = cv2.multiply(background, cv2.bitwise_not(alpha3), scale=_INV255)
    return cv2.add(front, back)


def light_wrap(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray, amount: float) -> np.ndarray:
    """Let the new background's light spill onto the person's edge, as Meet does.

    The band is the inside of the edge (alpha high, blurred alpha lower), worked
    out at quarter size; amount 0..1 scales how much background shows there.
    """
    if amount <= 0.0:
        return foreground
    height, width = alpha.shape
    small = (max(1, width // 4), max(1, height // 4))
    a = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA).astype(np.float32) * _INV255
    spread = cv2.GaussianBlur(a, (0, 0), sigmaX=max(1.0, small[0] / 160.0))
    band = np.clip((a - spread) * 2.0 * a * amount * 4.0, 0.0, 1.0)
    glow = cv2.GaussianBlur(cv2.resize(background, small, interpolation=cv2.INTER_AREA), (0, 0), 2.0)
    band_full = cv2.resize((band * 255.0).astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
    glow_full = cv2.resize(glow, (width, height), interpolation=cv2.INTER_LINEAR)
    return blend(glow_full, foreground, band_full)


def fit_image(image: np.ndarray, size: tuple[int, int], mode: str, fill: tuple[int, int, int]) -> np.ndarray:
    """Resize a BGR image to size (w, h): `cover` crops, `contain` letterboxes with fill, `stretch` distorts."""
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
    """'#RRGGBB' or [R, G, B] (0..255) → (B, G, R) for OpenCV."""
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
