"""Mutable simulator state: tasks and their clock, blobs, counters, rate limits, current faults and settings."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import math
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .catalog import Catalog, Model, load_catalog
from .faults import FaultConfig, FaultEngine, coerce_config
from .media import kind_for_model
from .settings import Settings

Clock = Callable[[], float]


class ManualClock:
    """A job clock that only moves when told (`advance`), for tests that must not sleep."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self.now += seconds
            return self.now
# Body fields that ask for several outputs (first present one wins).
_COUNT_FIELDS = ("num_outputs", "num_images", "num_samples", "number_of_images", "batch_size")


def input_key(body: dict[str, Any]) -> str:
    """Counter key of one generate input: canonical JSON of the body minus `uid` (routing model included)."""
    return json.dumps({k: v for k, v in body.items() if k != "uid"}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


@dataclass
class Task:
    id: str
    seq: int
    version: str  # "v1" | "v2" (decides the first status: starting | queued)
    uid: str
    category: str
    subcategory: str
    params: dict[str, Any]
    created_at: float
    duration: float
    kind: str  # media kind of the outputs
    outputs: int
    error: str | None  # set: the task ends "failed" with this data.error
    error_output: bool  # "completed" with an error message as output[0]
    empty_fetches_left: int  # /response calls that still answer output [] after completion (-1: forever)
    statuses: list[str] = field(default_factory=list)
    response_calls: int = 0

    def status_at(self, now: float) -> str:
        elapsed = now - self.created_at
        if elapsed >= self.duration:
            return "failed" if self.error is not None else "completed"
        # Non-terminal phases share the job time equally: first status, anomalies, then "processing".
        phase = int(len(self.statuses) * elapsed / self.duration) if self.duration > 0 else 0
        return self.statuses[min(phase, len(self.statuses) - 1)]

    def public(self, now: float) -> dict[str, Any]:
        return {"id": self.id, "seq": self.seq, "version": self.version, "uid": self.uid, "category": self.category,
                "subcategory": self.subcategory, "params": self.params, "status": self.status_at(now),
                "duration": self.duration, "error": self.error, "response_calls": self.response_calls,
                "kind": self.kind, "outputs": self.outputs}


@dataclass
class Blob:
    data: bytes
    content_type: str


class Counters:
    """What a test or benchmark reads back (snapshot via `SimState.counters()` or `GET /_sim/counters`)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # "METHOD /route/template"
        self.generate_calls_by_input: Counter[str] = Counter()  # every generate attempt that reached the model
        self.tasks_by_input: Counter[str] = Counter()  # tasks actually created
        self.generate_calls_by_idempotency_key: Counter[str] = Counter()
        self.tasks_created = 0
        self.batch_items: dict[str, list[int]] = {}
        self.rate_limited = 0
        self.uploads = 0
        self.downloads = 0

    def snapshot(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "generate_calls_by_input": dict(self.generate_calls_by_input),
                "tasks_by_input": dict(self.tasks_by_input),
                "generate_calls_by_idempotency_key": dict(self.generate_calls_by_idempotency_key),
                "tasks_created": self.tasks_created, "batch_items": {k: list(v) for k, v in self.batch_items.items()},
                "rate_limited": self.rate_limited, "uploads": self.uploads, "downloads": self.downloads}

    def restore(self, saved: dict[str, Any]) -> None:
        """The inverse of `snapshot()` (state file)."""
        for name in ("requests", "generate_calls_by_input", "tasks_by_input", "generate_calls_by_idempotency_key"):
            getattr(self, name).update(saved.get(name) or {})
        self.tasks_created = int(saved.get("tasks_created", 0))
        self.batch_items = {k: list(v) for k, v in (saved.get("batch_items") or {}).items()}
        self.rate_limited = int(saved.get("rate_limited", 0))
        self.uploads = int(saved.get("uploads", 0))
        self.downloads = int(saved.get("downloads", 0))


class SimState:
    """One simulator's world. Handlers run on the server's event loop; tests read and reconfigure from other
    threads, so every mutation happens under one lock (cheap: no I/O inside)."""

    def __init__(self, settings: Settings | None = None, faults: FaultConfig | dict[str, Any] | None = None,
                 clock: Clock = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.initial_settings = settings or Settings()
        self.initial_settings.validate()
        self.settings = self.initial_settings
        self.catalog: Catalog = load_catalog(self.settings.discovery_dir)
        self.faults = FaultEngine(coerce_config(faults), self.settings.seed)
        self.reset(tasks=True)
        self.load_state()

    # -- configuration ------------------------------------------------------------------------------------
    def configure(self, faults: FaultConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        """Replace the fault config (if given) and/or change settings; counters and tasks are kept."""
        with self.lock:
            if settings:
                new = self.settings.updated(**settings)
                if new.discovery_dir != self.settings.discovery_dir:
                    self.catalog = load_catalog(new.discovery_dir)
                self.settings = new
            if faults is not None:
                self.faults = FaultEngine(coerce_config(faults), self.settings.seed)

    def reset(self, *, tasks: bool = False, faults: bool = False, settings: bool = False) -> None:
        """Zero the counters and the fault log; optionally also forget tasks/blobs, faults, settings."""
        with self.lock:
            self.counters = Counters()
            self.faults.log = []
            if settings:
                self.settings = self.initial_settings
            if faults:
                self.faults = FaultEngine(FaultConfig(), self.settings.seed)
            if tasks:
                self.tasks: dict[str, Task] = {}
                self.tasks_by_idempotency_key: dict[str, str] = {}
                self.blobs: dict[str, Blob] = {}
                self._task_seq = 0
                self.upload_seq = itertools.count()
                self._buckets: dict[str, tuple[float, float]] = {}

    # -- state file (Settings.state_file) ---------------------------------------------------------------------
    def persist(self) -> None:
        """Write tasks, blobs and counters to the state file (atomically), if one is set."""
        path = self.settings.state_file
        if path is None:
            return
        with self.lock:
            now = self.clock()
            tasks = []
            for task in self.tasks.values():
                saved = dataclasses.asdict(task)
                saved["age"] = now - saved.pop("created_at")  # clocks differ between processes; ages do not
                tasks.append(saved)
            upload_seq = next(self.upload_seq)
            doc = {"format": 1, "saved_at": time.time(), "task_seq": self._task_seq, "upload_seq": upload_seq,
                   "tasks": tasks, "tasks_by_idempotency_key": self.tasks_by_idempotency_key,
                   "blobs": {k: {"data": base64.b64encode(b.data).decode(), "content_type": b.content_type}
                             for k, b in self.blobs.items()},
                   "counters": self.counters.snapshot()}
            self.upload_seq = itertools.count(upload_seq)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(doc), encoding="utf-8")
            os.replace(tmp, path)

    def load_state(self) -> None:
        """Take over what a previous run saved to the state file. Time spent down counts as job time (the
        back end keeps working while the front door is closed), unless the clock is a ManualClock."""
        path = self.settings.state_file
        if path is None or not Path(path).exists():
            return
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        down = max(0.0, time.time() - float(doc["saved_at"])) if not isinstance(self.clock, ManualClock) else 0.0
        with self.lock:
            now = self.clock()
            for saved in doc["tasks"]:
                saved = dict(saved)
                saved["created_at"] = now - float(saved.pop("age")) - down
                task = Task(**saved)
                self.tasks[task.id] = task
            self.tasks_by_idempotency_key = dict(doc["tasks_by_idempotency_key"])
            self.blobs = {k: Blob(base64.b64decode(v["data"]), v["content_type"]) for k, v in doc["blobs"].items()}
            self._task_seq = int(doc["task_seq"])
            self.upload_seq = itertools.count(int(doc["upload_seq"]))
            self.counters.restore(doc["counters"])

    def counters_snapshot(self) -> dict[str, Any]:
        with self.lock:
            snap = self.counters.snapshot()
            snap["faults_fired"] = [dict(e) for e in self.faults.log]
            snap["tasks_total"] = len(self.tasks)
            return snap

    # -- tasks --------------------------------------------------------------------------------------------
    def create_task(self, version: str, model: Model, uid: str, params: dict[str, Any], key: str) -> Task:
        with self.lock:
            seq = self._task_seq
            self._task_seq += 1
            cfg, st = self.faults.config, self.settings
            # One RNG per task number: outcomes replay for the same seed whatever the request interleaving.
            rng = random.Random(f"{self.faults.seed}:task:{seq}")
            token = "".join(rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(10))
            task_id = f"task-{token}" if version == "v1" else f"pred_{token}"
            high = st.job_seconds_max if st.job_seconds_max is not None else st.job_seconds
            duration = rng.uniform(st.job_seconds, high)
            failed = rng.random() < cfg.task_failure_rate
            error_output = rng.random() < cfg.error_output_rate
            empty = rng.random() < cfg.empty_output_rate
            first = "starting" if version == "v1" else "queued"
            task = Task(id=task_id, seq=seq, version=version, uid=uid, category=model.category,
                        subcategory=model.subcategory, params=params, created_at=self.clock(), duration=duration,
                        kind=kind_for_model(model.category, model.subcategory), outputs=self._output_count(model, params),
                        error=cfg.failure_message if failed else None, error_output=error_output,
                        empty_fetches_left=cfg.empty_output_fetches if empty else 0,
                        statuses=[first, *cfg.extra_statuses, "processing"])
            self.tasks[task_id] = task
            self.counters.tasks_created += 1
            self.counters.tasks_by_input[key] += 1
            return task

    def _output_count(self, model: Model, params: dict[str, Any]) -> int:
        props = (model.schema or {}).get("properties") or {}
        for name in _COUNT_FIELDS:
            value = params.get(name, (props.get(name) or {}).get("default") if isinstance(props, dict) else None)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                return min(value, self.settings.max_outputs)
        return 1

    def status_of(self, task: Task) -> str:
        return task.status_at(self.clock())

    # -- rate limit ---------------------------------------------------------------------------------------
    def take_token(self, token: str) -> float | None:
        """Token bucket per access token: None if allowed, else seconds until the next request may pass."""
        rps = self.settings.rate_limit_rps
        if rps is None:
            return None
        burst = float(self.settings.rate_limit_burst or max(1, math.ceil(rps)))
        with self.lock:
            now = self.clock()
            level, last = self._buckets.get(token, (burst, now))
            level = min(burst, level + (now - last) * rps)
            if level >= 1.0:
                self._buckets[token] = (level - 1.0, now)
                return None
            self._buckets[token] = (level, now)
            self.counters.rate_limited += 1
            return (1.0 - level) / rps
