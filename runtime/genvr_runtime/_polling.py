"""When to ask GenVR about a task again.

Single jobs start fast (short jobs finish in well under a second on some models) and back off to GenVR's
documented 1–2 s guidance. Batch polling starts from that documented base and grows with the task's age, so a
long video job costs a handful of status items rather than one per second.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SinglePollSchedule:
    """Intervals for `Job.wait`: `first`, then ×`factor` up to `maximum`; a Retry-After from GenVR wins."""

    first: float = 0.25
    factor: float = 1.5
    maximum: float = 2.0

    def next(self, current: float, retry_after: float | None = None) -> float:
        grown = min(current * self.factor, self.maximum)
        return max(grown, retry_after) if retry_after is not None else grown


@dataclass(frozen=True)
class BatchPollSchedule:
    """Intervals for the batch runner: clamp(growth × age, base, maximum), first poll after `first`."""

    base: float = 1.0  # GenVR: "check the status endpoint every 1-2 seconds"
    growth: float = 0.05  # 5 % of the task's age: ≤ 5 % extra latency for a long job
    maximum: float = 10.0
    first: float | None = None  # None: poll first after `base`

    def first_delay(self) -> float:
        return self.base if self.first is None else self.first

    def interval(self, age: float) -> float:
        return min(max(self.growth * age, self.base), self.maximum)
