"""Auto-framing on clips made from the shared footage (#19), measured on what is sent by an independent
segmentation (selfie_square, a model other than the pipeline's): the upper body's centre, the head top,
the frame-to-frame shift of the picture, the zoom and the size. Clips and measures: benchmarks/framing.py."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import framing as clips
from bgfx.vision.framing_settings import FramingSettings
from tests.conftest import SHARED

pytestmark = pytest.mark.models

FOLLOW = FramingSettings(mode="follow")
SETTLED = 120  # frames (4 s at 30 fps): the follow (speed 2/s) has settled by then
SIZE = {(720, 1280, 3)}


@pytest.fixture(scope="module")
def judge():
    with clips.judge_segmenter(SHARED) as segmenter:
        yield segmenter


def settled_figures(measured: clips.Measured, start: int = SETTLED) -> tuple[float, float]:
    """(share of judged settled frames centred within ±8 %, share with the head top in 3-25 %)."""
    offset, head = measured.offset[start:], measured.head[start:]
    judged = ~np.isnan(offset)
    assert judged.sum() >= 15
    return float(np.mean(np.abs(offset[judged]) <= 0.08)), float(np.mean((head[judged] >= 0.03) & (head[judged] <= 0.25)))


def test_off_centre_person_is_centred_with_headroom(judge) -> None:
    clip = clips.off_centre(SHARED, 180)
    unframed = clips.run(clip[SETTLED::3], FramingSettings(), judge)
    assert np.nanmean(np.abs(unframed.offset)) > 0.2 and np.nanmean(unframed.head) > 0.25  # the input: off
    framed = clips.run(clip, FOLLOW, judge, every=3)
    centred, headroom = settled_figures(framed)
    assert centred >= 0.9 and headroom >= 0.9
    assert framed.sizes == SIZE and framed.zoom.max() <= FOLLOW.max_zoom + 1e-9 and framed.zoom[-1] > 1.5


def test_desk_video_centred_and_still_while_she_types(judge) -> None:
    clip = clips.desk_720p(SHARED, 180)
    framed = clips.run(clip, FOLLOW, judge, every=3)
    centred, _ = settled_figures(framed)  # her head top is at 2 % of the camera's picture: no headroom to add
    assert centred >= 0.9
    shift, moved = framed.shift[SETTLED + 1 :], clips.input_shift(clip)[SETTLED + 1 :]
    assert shift.mean() <= 2 * moved.mean() + 0.3
    assert framed.sizes == SIZE


def test_mask_noise_never_moves_the_picture_of_someone_sitting_still(judge) -> None:
    """One frame again and again with sensor noise: once settled the picture must not move at all."""
    clip = clips.still(SHARED, 200)
    framed = clips.run(clip, FOLLOW, judge, every=10)
    shift, moved = framed.shift[SETTLED + 1 :], clips.input_shift(clip)[SETTLED + 1 :]
    assert np.all(shift <= 2 * moved + 0.3), f"moved {shift.max():.2f} px while the input moved {moved.max():.2f}"
    assert np.ptp(framed.zoom[SETTLED:]) == 0.0


def test_person_moving_across_is_followed_smoothly_and_settles(judge) -> None:
    """She crosses 640 px in 3 s, then stays: never framed out on the way, then centred with headroom. The clip
    runs 2 s past SETTLED after the move (20 judged frames); the follow is within ±8 % 30 frames after she stops."""
    moving = 90
    clip = clips.across(SHARED, moving + SETTLED + 60, moving)
    framed = clips.run(clip, FOLLOW, judge, every=3)
    assert not np.isnan(framed.offset[::3]).any()  # someone seen in every judged frame: never framed out
    centred, headroom = settled_figures(framed, moving + SETTLED)
    assert centred >= 0.9 and headroom >= 0.9
    # she stops near the middle (7 % left of it, head top at 2-3 %): the framing, not the input, centres her
    unframed = clips.run(clip[moving + SETTLED :: 3], FramingSettings(), judge)
    assert np.nanmean(np.abs(framed.offset[moving + SETTLED :])) <= 0.5 * np.nanmean(np.abs(unframed.offset))
    assert framed.sizes == SIZE


def test_a_jump_is_followed_gradually_without_overshoot(judge) -> None:
    """The person jumps 320 px left (a cut): the picture eases after them over many frames, never past them."""
    right, left = clips.off_centre(SHARED, 150), clips.shifted(SHARED, 150, (0, 180))
    framed = clips.run(right + left, FOLLOW, judge, every=1)
    after = framed.offset[150:]
    assert after[3] < -0.08  # the person is left of centre first (the picture has not jumped after them) ...
    assert np.sum(after[:60] < -0.08) >= 10  # ... and for a third of a second or more
    assert np.all(framed.shift[151:] <= 40)  # no frame jumps (the speed limit: 1.5 windows a second)
    assert np.all(after[SETTLED:] < 0.08)  # no overshoot to the other side
    centred, _ = settled_figures(framed, 150 + SETTLED)
    assert centred >= 0.9


def test_two_people_both_framed_none_cut(judge) -> None:
    """Both heads and shoulders whole in the picture sent, zoomed in on the pair (not on one of them)."""
    clip = clips.two(SHARED, 150)
    assert len(clips.people(judge, clip[0])) == 2  # the judge tells the two apart in the input
    framed = clips.run(clip, FOLLOW, judge, every=10)
    people = clips.people(judge, framed.last)
    assert len(people) == 2
    assert all(x0 > 0 and x1 < 1280 for x0, x1 in people)  # neither touches a side
    assert framed.sizes == SIZE and 1.0 < framed.zoom[-1] <= FOLLOW.max_zoom


def test_nobody_full_view_and_back_to_it_when_they_leave(judge) -> None:
    empty = clips.run(clips.nobody(SHARED, 60), FOLLOW, judge, every=30)
    assert np.all(empty.zoom == 1.0)  # nobody: the frame goes on whole
    clip = clips.off_centre(SHARED, 150) + clips.nobody(SHARED, 240)
    framed = clips.run(clip, FOLLOW, judge, every=30)
    assert framed.zoom[149] > 1.5
    assert np.all(framed.zoom[150 : 150 + 80] == framed.zoom[149])  # gone under 3 s: the picture waits
    assert framed.zoom[-1] == 1.0 and framed.sizes == SIZE
