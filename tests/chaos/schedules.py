"""Seeded fault schedules: everything one chaos run does is derived from its seed (and the optional kind filter)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.proxy import FAULT_KINDS, FaultPlan

# Disruptions that are not proxy faults: signals to the CLI and a simulator restart.
EVENT_KINDS = ("sigkill", "sigint", "restart")
ALL_KINDS = (*FAULT_KINDS, *EVENT_KINDS)
# Drawn at random. Left out: item_error_echo_key rejects whole chunks for good (a 400 per item), which would
# starve the other checks; it has its own scenario and can be chosen with --kinds.
RANDOM_KINDS = tuple(k for k in FAULT_KINDS if k != "item_error_echo_key")

# Three output kinds (png, glb, wav), models with a plain text input so the generated classes send it unchanged.
MODELS = (("imagegen/flux_dev", "prompt"), ("3dgen/panorama", "prompt"), ("audiogen/dia", "text"))


@dataclass
class Kill:
    """Signal the CLI when the n-th request of `trigger` reaches the proxy in that run (so the kill lands in a
    known phase whatever the machine's load), or `after` seconds from its start for trigger "startup"."""

    signal: str  # "sigkill" | "sigint"
    trigger: str = "startup"  # "startup" | "generate" | "status" | "response" | "files"
    n: int = 1
    after: float = 0.0  # extra delay once triggered (for "startup": seconds after the CLI started)

    def describe(self) -> str:
        when = f"@{self.after:.2f}s" if self.trigger == "startup" else f"@{self.trigger}#{self.n}+{self.after:.2f}s"
        return f"{self.signal}{when}"


@dataclass
class Restart:
    run: int  # which CLI run (0-based) it happens during
    after: float
    down: float


@dataclass
class Schedule:
    seed: int
    jobs: list[dict[str, Any]]
    job_seconds: float
    job_seconds_max: float
    plan: FaultPlan
    kills: list[Kill] = field(default_factory=list)  # one killed run each, before the run left to finish
    restart: Restart | None = None
    resubmit_unknown: bool = False  # the last faulted run opts in with --resubmit-unknown
    max_in_flight: int = 20

    @property
    def faulted_runs(self) -> int:
        return len(self.kills) + 1

    def describe(self) -> str:
        rates = ", ".join(f"{k}={v:.2f}" for k, v in sorted(self.plan.rates.items()))
        kills = ", ".join(k.describe() for k in self.kills) or "none"
        restart = f"run {self.restart.run} @{self.restart.after:.2f}s down {self.restart.down:.2f}s" if self.restart else "none"
        return (f"seed {self.seed}: {len(self.jobs)} jobs, job {self.job_seconds:.2f}-{self.job_seconds_max:.2f}s, "
                f"faults [{rates}], kills [{kills}], restart [{restart}], resubmit_unknown={self.resubmit_unknown}, "
                f"max_in_flight={self.max_in_flight}")


def make_schedule(seed: int, kinds: Sequence[str] | None = None) -> Schedule:
    """`kinds`: restrict the schedule to these fault/event kinds (all of them get a non-zero rate)."""
    rng = random.Random(seed)
    n = rng.randint(5, 30)
    jobs = []
    for i in range(n):
        model, field_name = MODELS[0] if rng.random() < 0.6 else rng.choice(MODELS[1:])
        jobs.append({"custom_id": f"s{seed}-j{i}", "model": model, "input": {field_name: f"chaos {seed} job {i}"}})
    job_seconds = rng.uniform(0.05, 0.15)
    job_seconds_max = job_seconds + rng.uniform(0.0, 0.15)

    if kinds is None:
        chosen_faults = rng.sample(RANDOM_KINDS, rng.randint(1, 4))
        chosen_events = [k for k, p in (("sigkill", 0.2), ("sigint", 0.2), ("restart", 0.15)) if rng.random() < p]
    else:
        unknown = sorted(set(kinds) - set(ALL_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; known: {', '.join(ALL_KINDS)}")
        chosen_faults = [k for k in FAULT_KINDS if k in kinds]
        chosen_events = [k for k in EVENT_KINDS if k in kinds]
    rates = {k: round(rng.uniform(0.05, 0.3), 3) for k in chosen_faults}
    plan = FaultPlan(seed=seed, rates=rates)

    kills = [_kill(rng, sig) for sig in ("sigkill", "sigint") if sig in chosen_events for _ in range(rng.randint(1, 2))]
    rng.shuffle(kills)
    restart = None
    if "restart" in chosen_events:
        restart = Restart(run=rng.randrange(len(kills) + 1), after=round(rng.uniform(0.3, 1.5), 2),
                          down=round(rng.uniform(0.2, 1.0), 2))
    return Schedule(seed=seed, jobs=jobs, job_seconds=job_seconds, job_seconds_max=job_seconds_max, plan=plan,
                    kills=kills, restart=restart, resubmit_unknown=rng.random() < 0.25,
                    max_in_flight=rng.choice([10, 20, 30]))


def _kill(rng: random.Random, signal: str) -> Kill:
    trigger = rng.choices(["startup", "generate", "status", "response", "files"], [1, 4, 2, 2, 1])[0]
    if trigger == "startup":
        return Kill(signal, trigger, 0, round(rng.uniform(0.05, 0.6), 2))
    # delay 0: the signal lands while that call is in flight (for generate: an ambiguous submission).
    return Kill(signal, trigger, rng.randint(1, 3), rng.choice([0.0, 0.0, round(rng.uniform(0.0, 0.3), 2)]))
