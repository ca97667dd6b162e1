"""Clocks and figures: strictly increasing stamps, per-stage timing only when asked, (median, p95)."""

from __future__ import annotations

import time

import pytest

from bgfx.vision.timing import StageClock, StrictClock, monotonic_ms, percentiles, stage


def test_percentiles_are_median_and_p95() -> None:
    assert percentiles(range(1, 101)) == (50.5, pytest.approx(95.05))
    assert percentiles(iter([3.0])) == (3.0, 3.0)
    assert percentiles([]) == (0.0, 0.0)


def test_strict_clock_never_repeats_or_goes_back() -> None:
    clock = StrictClock()
    assert [clock.stamp(ms) for ms in (0, 5, 5, 3, 9, 10)] == [0, 5, 6, 7, 9, 10]


def test_monotonic_ms_is_the_monotonic_clock_in_milliseconds() -> None:
    before = time.monotonic() * 1000
    now = monotonic_ms()
    assert isinstance(now, int) and before - 1 <= now <= time.monotonic() * 1000


def test_stage_clock_sums_wall_and_cpu_per_stage_and_none_times_nothing() -> None:
    clock = StageClock()
    for _ in range(2):
        with stage(clock, "spin"):
            end = time.perf_counter() + 0.01
            while time.perf_counter() < end:
                pass
    with stage(clock, "sleep"):
        time.sleep(0.02)
    assert set(clock.wall) == set(clock.cpu) == {"spin", "sleep"}
    assert 19 <= clock.wall["spin"] < 200 and clock.cpu["spin"] > 10  # two 10 ms busy loops, summed
    assert clock.wall["sleep"] >= 19 and clock.cpu["sleep"] < clock.wall["sleep"] / 2  # sleeping costs no CPU
    with stage(None, "spin"):
        pass  # no clock: nothing recorded anywhere, and no error
