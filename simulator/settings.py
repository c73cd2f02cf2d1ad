"""Run settings of one simulator instance (everything a test or the CLI may choose)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Dialect = Literal["inputjson", "parameters"]
DIALECTS: tuple[Dialect, ...] = ("inputjson", "parameters")

# Fake credentials for tests and local runs; nothing here resembles a real GenVR key.
DEFAULT_TOKEN = "sim-token"
DEFAULT_UID = "sim-user"


def default_discovery_dir() -> Path:
    """The committed snapshot beside this package: discovery/ of the checkout, or genvr_bindings/discovery installed."""
    return Path(__file__).resolve().parent.parent / "discovery"


@dataclass
class Settings:
    """Behaviour switches. Fault injection lives separately in `FaultConfig` (it changes at run time more often)."""

    discovery_dir: Path = field(default_factory=default_discovery_dir)
    dialect: Dialect = "parameters"
    # Job clock: a task spends `job_seconds` (or a seeded U(job_seconds, job_seconds_max)) before completing.
    job_seconds: float = 0.1
    job_seconds_max: float | None = None
    seed: int = 0
    # token -> uid; a body `uid` must match the uid of the token that sent it.
    tokens: dict[str, str] = field(default_factory=lambda: {DEFAULT_TOKEN: DEFAULT_UID})
    reject_unknown_fields: bool = False
    # Per-token rate limit (token bucket); None disables it.
    rate_limit_rps: float | None = None
    rate_limit_burst: int | None = None
    # GenVR documents no idempotency key; when True the simulator honours `Idempotency-Key` on single generate.
    honor_idempotency_key: bool = False
    # Upper bound on outputs per task (models with num_outputs/num_images/… ask for several).
    max_outputs: int = 4
    # Keep tasks, blobs and counters across a restart: loaded at start, rewritten after every change (an outage
    # then looks like one, not like amnesia). For tests and demos; None keeps everything in memory only.
    state_file: Path | None = None

    def updated(self, **changes: Any) -> Settings:
        """A copy with `changes` applied; unknown names raise (so typos in tests fail loudly)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {unknown}")
        if "discovery_dir" in changes:
            changes["discovery_dir"] = Path(changes["discovery_dir"])
        if changes.get("state_file") is not None:
            changes["state_file"] = Path(changes["state_file"])
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        if self.dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}, got {self.dialect!r}")
        if self.job_seconds < 0 or (self.job_seconds_max is not None and self.job_seconds_max < self.job_seconds):
            raise ValueError("job_seconds must be >= 0 and job_seconds_max >= job_seconds")
        if self.rate_limit_rps is not None and self.rate_limit_rps <= 0:
            raise ValueError("rate_limit_rps must be > 0")

    def public(self) -> dict[str, Any]:
        """JSON view for `/_sim/settings` (tokens shown as a count only)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "tokens"}
        out["discovery_dir"] = str(self.discovery_dir)
        out["state_file"] = None if self.state_file is None else str(self.state_file)
        out["token_count"] = len(self.tokens)
        return out
