"""The daemon's parts in-process: the camera feed losing and regaining its source, on-demand timing,
the output pacer, and the status publisher."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bgfx.errors import CaptureError, SinkError
from bgfx.live import feed as feed_module
from bgfx.live.feed import Demand, Feed
from bgfx.live.notify import Notifier
from bgfx.live.output import Output
from bgfx.live.settings import CaptureSettings, OutputSettings
from bgfx.live.sinks import SINKS, open_sink
from bgfx.live.status import Rate, Stats, StatusPublisher
from bgfx.vision.frame import Frame


class FlakySource:
    """A camera that gives `good` frames, then fails; a shared log records opens and closes."""

    def __init__(self, log: list[str], good: int) -> None:
        self.fps, self.size = 30.0, (8, 6)
        self._log, self._left, self._stamp = log, good, 0
        log.append("open")

    def read(self) -> Frame:
        if self._left == 0:
            raise CaptureError("camera /dev/video0: no frame (unplugged or stopped)")
        self._left -= 1
        self._stamp += 33
        return Frame(np.full((6, 8, 3), self._stamp % 255, np.uint8), self._stamp)

    def close(self) -> None:
        self._log.append("close")


def test_the_feed_reports_loss_backs_off_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "FIRST_BACKOFF_S", 0.05)
    log: list[str] = []
    plugged = {"in": True}

    def opener(settings: CaptureSettings) -> FlakySource:
        if not plugged["in"]:
            log.append("refused")
            raise CaptureError("camera /dev/video0 does not exist")
        return FlakySource(log, good=2)

    rate, now = Rate(), [1000.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    feed = Feed(CaptureSettings(), 0.001, rate, opener, clock=lambda: now[0], sleep=sleep)
    assert [feed.read() is not None for _ in range(2)] == [True, True] and not feed.lost
    assert feed.last_image is not None and feed.last_image[0, 0, 0] == 66
    plugged["in"] = False
    assert feed.read() is None and feed.lost and not feed.is_open
    assert log == ["open", "close"]
    assert feed.read() is None and log == ["open", "close"]  # within the backoff: no retry yet
    assert now[0] == pytest.approx(1000.002)  # each turn without a frame waited one interval
    sleep(0.06)
    assert feed.read() is None and log[-1] == "refused"  # retried once the backoff passed, still gone
    assert feed._backoff == pytest.approx(0.2)  # and the next wait doubled
    plugged["in"] = True
    sleep(0.11)
    assert feed.read() is not None and not feed.lost and feed._backoff == 0.05
    assert len(rate._times) == 3  # only real frames are counted


def test_the_feed_backoff_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    feed = Feed(CaptureSettings(), 0.0, Rate(), lambda s: (_ for _ in ()).throw(CaptureError("gone")))
    for _ in range(12):
        feed._retry_at = 0.0
        feed.read()
    assert feed._backoff == feed_module.MAX_BACKOFF_S


def test_reconfiguring_the_feed_closes_the_old_camera_only_when_it_changed() -> None:
    log: list[str] = []
    feed = Feed(CaptureSettings(), 0.0, Rate(), lambda s: FlakySource(log, good=5))
    feed.read()
    feed.reconfigure(CaptureSettings())
    assert log == ["open"]
    feed.reconfigure(CaptureSettings(device="/dev/video2"))
    assert log == ["open", "close"] and feed.settings.device == "/dev/video2"
    feed.read()
    assert log == ["open", "close", "open"]


def test_demand_starts_with_a_reader_and_releases_after_the_delay() -> None:
    demand = Demand()
    assert demand.wanted(0, 100.0, 5.0) is False  # nobody yet
    assert demand.wanted(1, 101.0, 5.0) is True and demand.active
    assert demand.wanted(0, 102.0, 5.0) is True  # the last reader left: still running ...
    assert demand.wanted(0, 106.9, 5.0) is True
    assert demand.wanted(0, 107.0, 5.0) is False and not demand.active  # ... until 5 s after
    assert demand.wanted(0, 200.0, 5.0) is False
    assert demand.wanted(2, 201.0, 5.0) is True
    assert demand.wanted(0, 202.0, 5.0) is True and demand.wanted(1, 206.0, 5.0) is True
    assert demand.wanted(0, 210.0, 5.0) is True  # a reader in between restarted the delay


class RecordingSink:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[np.ndarray] = []
        self.fail = fail

    def send(self, image: np.ndarray) -> None:
        if self.fail:
            raise OSError("reader went away")
        self.sent.append(image.copy())  # the contract: a sink is done with the frame when send returns

    def readers(self, timeout_s: float) -> int:
        return 3

    def close(self) -> None:
        self.sent.append(None)


def test_the_output_fits_frames_to_its_size_and_counts_them() -> None:
    sink, stats = RecordingSink(), Stats()
    output = Output(sink, (64, 48), 30.0, paced=False, stats=stats, notifier=Notifier())
    frame = Frame(np.full((96, 128, 3), 9, np.uint8), 5)
    assert output.send(np.full((96, 128, 3), 9, np.uint8), frame)
    assert output.send(np.zeros((48, 64, 3), np.uint8), None)  # a card
    assert [image.shape for image in sink.sent] == [(48, 64, 3), (48, 64, 3)] and sink.sent[0][0, 0, 0] == 9
    assert stats.frames_out == 2 and len(stats.e2e_ms) == 1  # a card has no capture time
    assert output.readers(0.0) == 3 and output.readers_seen == 3


def test_a_paced_output_drops_frames_that_come_faster_than_its_rate() -> None:
    sink = RecordingSink()
    now = [0.0]
    output = Output(sink, (4, 4), 10.0, paced=True, stats=Stats(), notifier=Notifier(), clock=lambda: now[0])
    image = np.zeros((4, 4, 3), np.uint8)
    sent = [output.send(image, None) for _ in range(5)]  # all at once: only the first fits in 100 ms
    now[0] = 0.099
    sent.append(output.send(image, None))
    now[0] = 0.1
    sent.append(output.send(image, None))
    for now[0] in (5.0, 5.08, 5.1, 5.15, 5.2):  # after a stall: slots from now on, no burst of the missed ones
        sent.append(output.send(image, None))
    assert sent == [True, False, False, False, False, False, True, True, True, True, False, True]


def test_a_failing_sink_costs_the_frame_not_the_stream() -> None:
    stats = Stats()
    output = Output(RecordingSink(fail=True), (4, 4), 30.0, paced=False, stats=stats, notifier=Notifier())
    assert output.send(np.zeros((4, 4, 3), np.uint8), None) is False and stats.frames_out == 0


def test_every_registered_sink_kind_opens_or_says_why(tmp_path) -> None:
    null = open_sink(OutputSettings(sink="null"), (8, 8), 30.0)
    assert null.readers(0.0) == 1
    null.close()
    with pytest.raises(SinkError, match="output.path: the file sink needs a path"):
        open_sink(OutputSettings(sink="file"), (8, 8), 30.0)
    written = open_sink(OutputSettings(sink="file", path=tmp_path / "o.mp4"), (16, 16), 30.0)
    written.send(np.zeros((16, 16, 3), np.uint8))
    written.close()
    assert (tmp_path / "o.mp4").stat().st_size > 0
    with pytest.raises(SinkError, match="unknown sink 'ndi'; valid: virtualcam, pipewire, file, preview, null"):
        open_sink(OutputSettings(sink="ndi"), (8, 8), 30.0)
    checks = SINKS["file"].kind.doctor(OutputSettings(sink="file"), (8, 8), 30.0)
    assert [(c.level, c.detail) for c in checks] == [("FAIL", "output.path is not set")]


def test_status_is_published_at_most_twice_a_second_unless_forced() -> None:
    publisher = StatusPublisher(Notifier(), interval_s=0.5)
    assert publisher.latest == {"state": "starting"} and publisher.due()
    publisher.publish({"state": "running", "fps_in": 30, "fps_out": 30})
    assert not publisher.due() and publisher.due(force=True)
    assert publisher.latest["state"] == "running"


def test_a_changed_state_camera_or_reader_count_is_published_at_once() -> None:
    publisher = StatusPublisher(Notifier(), interval_s=60.0)
    publisher.publish({"state": "idle", "camera": "closed", "readers": 0, "fps_in": 0, "fps_out": 0})
    assert not publisher.due(headline=("idle", "closed", 0))  # nothing new: wait for the interval
    assert publisher.due(headline=("running", "closed", 0))
    assert publisher.due(headline=("idle", "open", 0))
    assert publisher.due(headline=("idle", "closed", 1))  # an application opened the virtual camera


def test_rates_count_events_in_their_window() -> None:
    rate = Rate(window_s=2.0)
    for t in (0.0, 0.5, 1.0, 1.5, 2.0):
        rate.tick(t)
    assert rate.per_second(2.0) == pytest.approx(2.0)
    assert rate.per_second(3.4) == pytest.approx(1 / 1.9)  # the ticks older than 2 s are gone
    assert Rate().per_second() == 0.0
