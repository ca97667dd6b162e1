"""The CPU budget: the daemon steps its effort down when it spends more than `live.cpu_budget` or falls behind.

Once a second the governor reads the process's CPU time (every thread:
MediaPipe's, the sink's, the page's) and how many frames went out. Two seconds
in a row over budget, or late (fewer than 93 % of the frames the output rate
asks for: another program is loading the machine), and it takes the next step
down; five seconds in a row well within budget (under 70 % of it) and on time,
and it takes one back. Output frames are never dropped to save CPU: the steps
change how often the models run and how finely masks are refined, in this
order (cheapest for the picture first):

1. the person model every 8th frame while the picture is still (at least);
2. the person model every 2nd frame while it moves too;
3. the edge refinement's guide at 160 px wide (at most);
4. the hair model half as often.

(The models' input is already the smallest their tensors take, so shrinking
it further saves nothing.) A budget of 0 turns the governor off.
"""

from __future__ import annotations

import logging
import time

from bgfx.live.status import Clock, CpuMeter
from bgfx.vision.pipeline import Effort, Pipeline

log = logging.getLogger(__name__)

OVER_S, ROOM_S = 2, 5  # consecutive seconds over budget before a step down, within it before a step up
ROOM_SHARE = 0.7
LATE_SHARE = 0.93

STEPS = (
    Effort("as configured", 1, 1, 1920, 1),
    Effort("still: model every 8th frame", 8, 1, 1920, 1),
    Effort("moving: model every 2nd frame", 8, 2, 1920, 1),
    Effort("edges refined at 160 px", 8, 2, 160, 1),
    Effort("hair model half as often", 8, 2, 160, 2),
)


class Governor:
    """budget: cores (0: off); fps: the output's rate, for lateness; clock, cpu_clock: wall and process CPU
    seconds (injected by tests)."""

    def __init__(self, budget: float, fps: float, *, clock: Clock = time.monotonic, cpu_clock: Clock = time.process_time) -> None:
        self.budget = budget
        self.fps = fps
        self.level = 0
        self._clock = clock
        self._meter = CpuMeter(clock=clock, cpu_clock=cpu_clock)
        self._frames = 0  # frames_out at the start of the meter's window
        self._over = self._room = 0
        self._pipeline: Pipeline | None = None
        self._applied = 0

    def steer(self, pipeline: Pipeline, frames_out: int) -> None:
        """Once a loop turn: measure (once a second), and keep the pipeline at the current step (a pipeline
        a reload or an edit built starts at its configured knobs, so the step is applied to it afresh)."""
        self.tick(frames_out)
        if pipeline is not self._pipeline:
            self._pipeline, self._applied = pipeline, 0
        if self._applied != self.level:
            pipeline.set_effort(STEPS[self.level])
            self._applied = self.level

    def tick(self, frames_out: int) -> int | None:
        """Once a loop turn: the new level when it changes, else None."""
        span = self._meter.measure(self._clock())
        if span is None:
            return None
        frames, self._frames = frames_out - self._frames, frames_out
        if span > 2.5 or self.budget <= 0:  # > 2.5 s: the loop was waiting (on demand, nobody reading)
            return None
        late = frames < LATE_SHARE * self.fps * span
        over = self.cores > self.budget or late
        self._over = self._over + 1 if over else 0
        self._room = self._room + 1 if not over and self.cores < ROOM_SHARE * self.budget else 0
        if self._over >= OVER_S and self.level < len(STEPS) - 1:
            return self._move(+1, "late" if late else f"{self.cores:.2f} cores over the {self.budget:g} budget")
        if self._room >= ROOM_S and self.level > 0:
            return self._move(-1, f"{self.cores:.2f} cores, within the {self.budget:g} budget")
        return None

    @property
    def cores(self) -> float:
        """The process's cores over the last second measured."""
        return self._meter.cores

    def _move(self, by: int, why: str) -> int:
        self.level += by
        self._over = self._room = 0
        log.info("effort step %d (%s): %s", self.level, STEPS[self.level].name, why)
        return self.level
