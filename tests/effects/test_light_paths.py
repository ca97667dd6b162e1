"""The cheap paths of `light` and `denoise` against the same effects written plainly, on real frames: the desk
clip (960x540: a last part-row of tiles), upscaled to 720p, an odd-sized crop and a view into a larger frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.measure import label, regionprops

from bgfx.vision.effects.denoise import TILE, Denoise, median, tile_means
from bgfx.vision.effects.light import TAKES_PAIRS, Light, apply_curve, level_percentile, pair_table


def denoise_plainly(frames: list[np.ndarray], strength: int) -> list[np.ndarray]:
    """The recursive filter as its docstring says it, one full-frame step at a time: blend everything, then put
    the new frame back in the box of each 8-connected patch of moving tiles (and their neighbours); the boxes
    come from skimage here, not OpenCV. (H, W, 3) uint8 frames in, the same out."""
    share = 1.0 / (1.0 + 7.0 * strength / 100.0)
    estimate, means, outputs = None, None, []
    for image in frames:
        small = cv2.cvtColor(tile_means(image), cv2.COLOR_BGR2GRAY).astype(np.float32)
        if estimate is None:
            estimate, means = image.copy(), small
            outputs.append(estimate.copy())
            continue
        difference = np.abs(small - means)
        threshold = max(6.0, 4.0 * float(np.median(difference.ravel()[::4])))
        moving = cv2.dilate((difference > threshold).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        estimate = cv2.addWeighted(estimate, 1.0 - share, image, share, 0.0)
        rows, columns = moving.shape
        for region in regionprops(label(moving, connectivity=2)):
            top, left, bottom, right = region.bbox
            box = (slice(top * TILE, bottom * TILE if bottom < rows else None),
                   slice(left * TILE, right * TILE if right < columns else None))  # fmt: skip
            estimate[box] = image[box]
        means = np.where(moving, small, means + np.float32(share) * (small - means))
        outputs.append(estimate.copy())
    return outputs


def noisy(frames: list[np.ndarray], seed: int, std: float = 5.0) -> list[np.ndarray]:
    """Each frame plus fixed-seed Gaussian noise (a lifted dark room's), uint8."""
    rng = np.random.default_rng(seed)
    return [np.clip(frame + rng.normal(0.0, std, frame.shape), 0, 255).astype(np.uint8) for frame in frames]


@pytest.mark.parametrize("size", ["clip", "720p", "odd", "view"])
def test_denoise_is_the_plain_filter_bit_for_bit(video_frames: list[np.ndarray], size: str) -> None:
    """The moving desk clip (a few dozen patches reset a frame), then the same frame held still: every output
    equal to the plain filter's."""
    frames = noisy(video_frames[:24] + [video_frames[24]] * 8, seed=30)
    if size == "720p":
        frames = [cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_LINEAR) for frame in frames]
    elif size == "odd":
        frames = [np.ascontiguousarray(frame[3:446, 5:922]) for frame in frames]  # 917x443: both sides ragged
    elif size == "view":
        frames = [frame[7:500, 11:900] for frame in frames]  # not contiguous
    runtime = Denoise(strength=70).prepare()
    outputs, moving = [], []
    for index, frame in enumerate(frames):
        outputs.append(runtime.apply(frame, {}, 33 * index))
        moving.append(float(np.mean(runtime.moving_tiles)))
    assert 0.0 < max(moving[1:24]) < 0.5 and moving[-1] == 0.0  # patches reset, not the whole frame; then none
    for index, (got, want) in enumerate(zip(outputs, denoise_plainly(frames, strength=70))):
        assert got.shape == want.shape and np.array_equal(got, want), (index, np.abs(got.astype(int) - want).max())


def test_denoise_outputs_stay_as_returned(video_frames: list[np.ndarray]) -> None:
    """Each output is the next frame's estimate, handed out without a copy: it is read-only, later frames leave
    it as it was, and a jump back in time starts again from the new frame."""
    frames = noisy([video_frames[0]] * 6, seed=31)
    runtime = Denoise(strength=100).prepare()
    outputs = [runtime.apply(frame, {}, 33 * index) for index, frame in enumerate(frames[:4])]
    kept = [output.copy() for output in outputs]
    after = runtime.apply(frames[4], {}, 200)
    assert all(np.array_equal(output, copy) for output, copy in zip(outputs, kept))
    assert not any(output.flags.writeable for output in outputs + [after])
    with pytest.raises(ValueError):
        after[0, 0] = 0
    assert np.array_equal(runtime.apply(frames[5], {}, 100), frames[5])  # back in time: the frame as it is
    assert not np.array_equal(after, frames[4])  # (while a still frame is averaged)


def test_the_median_is_numpys(video_frames: list[np.ndarray]) -> None:
    """Odd and even counts, ties, one value, and the real thing: tile differences between two frames of the clip."""
    rng = np.random.default_rng(32)
    means = [cv2.cvtColor(tile_means(frame), cv2.COLOR_BGR2GRAY).astype(np.float32) for frame in video_frames[:2]]
    cases = [rng.uniform(0, 40, size).astype(np.float32) for size in (1, 2, 3, 3600, 3601)]
    cases += [rng.integers(0, 4, 999).astype(np.float32), cv2.absdiff(*means).ravel()[::4]]
    for values in cases:
        assert median(values) == float(np.median(values)), values.size


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5, 0.95, 0.99, 1.0])
def test_the_level_percentile_is_numpys(video_frames: list[np.ndarray], share: float) -> None:
    """Against np.percentile: a shrunken real frame's grey (the white point's input), one value, two, a constant,
    ties, random sizes whose rank (n - 1) · share falls on and between order statistics, and two where numpy's
    interpolation from above (fraction ≥ 0.5) rounds differently from the one from below."""
    rng = np.random.default_rng(33)
    grey = cv2.cvtColor(cv2.resize(video_frames[5], (160, 90), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    cases = [grey.ravel(), np.array([7], np.uint8), np.array([3, 250], np.uint8), np.full(50, 128, np.uint8)]
    cases += [rng.integers(0, 4, 101).astype(np.uint8)] + [rng.integers(0, 256, n).astype(np.uint8) for n in (5, 77, 400)]
    cases += [np.array([3] * 6 + [250], np.uint8), np.array([10, 13], np.uint8)]  # at 0.95, 0.99: a + d·g ≠ b - d·(1-g)
    for values in cases:
        got = level_percentile(np.bincount(values, minlength=256), share)
        assert got == float(np.percentile(values, 100.0 * share)), (values.size, got)


def curves() -> list[np.ndarray]:
    """(256,) uint8 curves: a lift as light makes one, all black, all white, and a fixed-seed shuffle (a byte
    looked up in the wrong half of a pair, or the pair's halves swapped, gives another level)."""
    lift = np.clip(255.0 * (np.arange(256) / 255.0) ** 0.45 + 0.5, 0, 255).astype(np.uint8)
    shuffle = np.random.default_rng(34).permutation(256).astype(np.uint8)
    return [lift, np.zeros(256, np.uint8), np.full(256, 255, np.uint8), shuffle]


@pytest.mark.skipif(not TAKES_PAIRS, reason="this OpenCV's cv2.LUT takes no 16-bit values")
def test_the_curve_two_bytes_at_a_time_is_the_8_bit_lut(video_frames: list[np.ndarray]) -> None:
    """720p, the clip's 960x540, odd sides (an odd byte count: the 8-bit path), a view, a contiguous block at an
    odd address (rows of an odd width), and one pixel: each a new array equal to cv2.LUT's, the input untouched."""
    big = cv2.resize(video_frames[3], (1280, 720), interpolation=cv2.INTER_LINEAR)
    odd = np.ascontiguousarray(video_frames[3][:443, :917])
    frames = [big, video_frames[3], odd, big[5:600, 7:1001], odd[1:], odd[:1, :1]]
    assert odd[1:].flags.c_contiguous and odd[1:].ctypes.data % 2 == 1
    for curve in curves():
        for frame in frames:
            before = frame.copy()
            for pairs in (pair_table(curve), None):
                got = apply_curve(frame, curve, pairs)
                assert got.shape == frame.shape and np.array_equal(got, cv2.LUT(frame, curve))
                assert not np.shares_memory(got, frame) and np.array_equal(frame, before)


def test_the_runtime_keeps_its_pair_table_in_step_with_its_curve(video_frames: list[np.ndarray]) -> None:
    """Through the clip the curve moves frame after frame (the meter smooths towards a lift) and then holds;
    every output is cv2.LUT with the curve of the moment. A fixed lift (auto off) likewise."""
    person = np.zeros((540, 960), np.uint8)
    cv2.ellipse(person, (580, 150), (60, 80), 0, 0, 360, 255, -1)
    person[230:] = 255 * (np.abs(np.arange(960) - 580) < 200)
    frames = [(frame // 3).astype(np.uint8) for frame in video_frames[:12]]
    for settings in (Light(), Light(auto=False, strength=60)):
        runtime, curves_seen = settings.prepare(), set()
        for index, frame in enumerate(frames):
            out = runtime.apply(frame, {"person": person}, 100 * index)
            assert np.array_equal(out, cv2.LUT(frame, runtime.lut)), index
            curves_seen.add(runtime.lut.tobytes())
            assert runtime.pairs is None or np.array_equal(runtime.pairs, pair_table(runtime.lut))
        assert len(curves_seen) > (5 if settings.auto else 0)
