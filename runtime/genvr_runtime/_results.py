"""What a finished job returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GenerationResult:
    """A completed GenVR task."""

    task_id: str
    model: str  # "category/subcategory"
    status: str
    output: list[str]
    submitted_at: float  # time.time() when generate answered
    completed_at: float
    polls: int = 0
    statuses_seen: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The first output URL (most models return one)."""
        return self.output[0]

    @property
    def elapsed_seconds(self) -> float:
        return self.completed_at - self.submitted_at
