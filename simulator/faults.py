"""Seeded fault injection: which call gets which fault, reproducibly for a given seed and call order.

JSON form (`POST /_sim/faults`, `--faults FILE|JSON`, `configure(faults=...)`), e.g.::

    {"seed": 7,
     "rules": [
       {"kind": "rate_limit", "route": "/v2/generate", "retry_after": 7, "retry_after_format": "http-date", "count": 1},
       {"kind": "http_error", "route": "*-batch", "status": 502, "when": "after", "probability": 0.1},
       {"kind": "drop", "route": "/v2/generate", "when": "after", "mode": "reset", "count": 2},
       {"kind": "slow", "route": "/v2/generate", "seconds": 5},
       {"kind": "item_error", "route": "/v2/generate-batch", "indices": [3], "status": 429},
       {"kind": "batch_shape", "route": "/v2/generate-batch", "mode": "shuffle"},
       {"kind": "truncate", "route": "/files/*", "count": 1}],
     "task_failure_rate": 0.1, "extra_statuses": ["starting", "weird"], "empty_output_rate": 0.05,
     "empty_output_fetches": 1, "error_output_rate": 0.02, "top_level_task_id": "both"}

`route` is an fnmatch pattern on the route template (`/api/schema/{category}/{subcategory}`) or the request path.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
from dataclasses import dataclass, field
from typing import Any, Literal

# Request-level kinds act on a whole HTTP call; item/shape kinds act inside a batch reply.
REQUEST_KINDS = ("latency", "rate_limit", "http_error", "drop", "slow", "malformed", "truncate")
BATCH_KINDS = ("item_error", "batch_shape")
FAULT_KINDS = REQUEST_KINDS + BATCH_KINDS
# Whether the server acts (creates the task, stores the blob, …) before the fault hits, unless a rule says.
DEFAULT_WHEN: dict[str, str] = {"latency": "before", "rate_limit": "before", "http_error": "before",
                                "drop": "before", "slow": "after", "malformed": "after", "truncate": "after",
                                "item_error": "before", "batch_shape": "after"}
RetryAfterFormat = Literal["seconds", "http-date", "ms", "none"]
TOP_LEVEL_TASK_ID = ("off", "both", "only")


@dataclass
class FaultRule:
    """One fault. Fires on matching calls past the first `after`, with `probability`, at most `count` times."""

    kind: str
    route: str = "*"  # fnmatch pattern on the route template ("/v2/generate") or the request path
    method: str | None = None
    when: str | None = None  # "before" (server did nothing) | "after" (server acted, then the fault)
    probability: float = 1.0
    count: int | None = None  # "the next N calls": count=N (None = no limit)
    after: int = 0  # let this many matching calls through first (e.g. a 401 mid-run)
    status: int | None = None  # http_error (default 500) / item_error (default 400)
    seconds: float = 0.0  # latency and slow: delay
    retry_after: float | None = None  # rate_limit (default 1 s) and http_error: Retry-After value
    retry_after_format: RetryAfterFormat = "seconds"
    message: str | None = None
    mode: str | None = None  # batch_shape: drop_last|duplicate|shuffle; drop: close|reset
    indices: list[int] | None = None  # item_error: only these batch indices (None = any)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.when is None:
            self.when = DEFAULT_WHEN[self.kind]
        if self.when not in ("before", "after"):
            raise ValueError(f"fault 'when' must be 'before' or 'after', got {self.when!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("fault probability must be within [0, 1]")
        if self.retry_after_format not in ("seconds", "http-date", "ms", "none"):
            raise ValueError(f"unknown retry_after_format {self.retry_after_format!r}")
        if self.kind == "batch_shape" and self.mode not in ("drop_last", "duplicate", "shuffle"):
            raise ValueError("batch_shape needs mode drop_last|duplicate|shuffle")

    def matches(self, route: str, path: str, method: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(route, self.route) or fnmatch.fnmatchcase(path, self.route)


@dataclass
class FaultConfig:
    """Everything injectable in one run. JSON form = the dataclass fields (see `from_dict`)."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int | None = None  # None: the simulator's --seed
    # Task outcomes (API.md §4.4 anomalies), drawn per task from a seeded RNG.
    task_failure_rate: float = 0.0
    failure_message: str = "simulated generation failure"
    extra_statuses: list[str] = field(default_factory=list)  # shown between the first status and "processing"
    empty_output_rate: float = 0.0  # "completed" but output [] ...
    empty_output_fetches: int = 1  # ... for this many /response calls (-1: forever)
    error_output_rate: float = 0.0  # "completed" with an error message in output[0]
    top_level_task_id: str = "off"  # generate reply: "both" adds top-level taskId; "only" moves the id there

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown fault config key(s): {unknown}")
        values = dict(raw)
        rules = []
        for r in values.pop("rules", []) or []:
            if not isinstance(r, dict):
                raise ValueError("each fault rule must be an object")
            rule_fields = {f.name for f in dataclasses.fields(FaultRule)}
            bad = sorted(set(r) - rule_fields)
            if bad:
                raise ValueError(f"unknown fault rule key(s): {bad}")
            rules.append(FaultRule(**r))
        config = cls(rules=rules, **values)
        config.validate()
        return config

    def validate(self) -> None:
        for name in ("task_failure_rate", "empty_output_rate", "error_output_rate"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.top_level_task_id not in TOP_LEVEL_TASK_ID:
            raise ValueError(f"top_level_task_id must be one of {TOP_LEVEL_TASK_ID}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def coerce_config(faults: FaultConfig | dict[str, Any] | None) -> FaultConfig:
    if faults is None:
        return FaultConfig()
    if isinstance(faults, FaultConfig):
        return faults
    return FaultConfig.from_dict(faults)


class FaultEngine:
    """Decides faults. Each rule has its own RNG seeded from (seed, rule index): one rule's draws never shift
    another's, so a sequential run replays exactly for the same seed."""

    def __init__(self, config: FaultConfig, default_seed: int) -> None:
        self.config = config
        self.seed = config.seed if config.seed is not None else default_seed
        self._rngs = [random.Random(f"{self.seed}:rule:{i}") for i in range(len(config.rules))]
        self._matched = [0] * len(config.rules)
        self._fired = [0] * len(config.rules)
        self.log: list[dict[str, Any]] = []

    def _try(self, i: int, route: str, extra: dict[str, Any] | None = None) -> bool:
        rule = self.config.rules[i]
        self._matched[i] += 1
        if self._matched[i] <= rule.after:
            return False
        if rule.count is not None and self._fired[i] >= rule.count:
            return False
        # Always draw, even at probability 1, so a rule's sequence depends only on its own matched calls.
        if self._rngs[i].random() >= rule.probability:
            return False
        self._fired[i] += 1
        entry: dict[str, Any] = {"n": len(self.log), "rule": i, "route": route, "kind": rule.kind}
        if rule.status is not None:
            entry["status"] = rule.status
        entry.update(extra or {})
        self.log.append(entry)
        return True

    def request_faults(self, route: str, path: str, method: str) -> tuple[list[FaultRule], FaultRule | None]:
        """(latency rules that fired, the first other request-level rule that fired, if any)."""
        delays: list[FaultRule] = []
        terminal: FaultRule | None = None
        for i, rule in enumerate(self.config.rules):
            if rule.kind not in REQUEST_KINDS or not rule.matches(route, path, method):
                continue
            if rule.kind == "latency":
                if self._try(i, route):
                    delays.append(rule)
            elif terminal is None and self._try(i, route):
                terminal = rule
        return delays, terminal

    def item_fault(self, route: str, index: int) -> FaultRule | None:
        for i, rule in enumerate(self.config.rules):
            if rule.kind != "item_error" or not rule.matches(route, route, "POST"):
                continue
            if rule.indices is not None and index not in rule.indices:
                continue
            if self._try(i, route, {"index": index}):
                return rule
        return None

    def shape_fault(self, route: str) -> FaultRule | None:
        for i, rule in enumerate(self.config.rules):
            if rule.kind == "batch_shape" and rule.matches(route, route, "POST") and self._try(i, route):
                return rule
        return None
