"""Live counts of a batch run: a rich progress bar on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from genvr_runtime._batch.journal import ALL_STATES, TERMINAL_STATES

# What the bar shows, in this order, by the journal's own state names (the summary, `batch status` and the results
# file use the same words): succeeded and failed always, the others when non-zero.
SHOWN = ("succeeded", "failed", "pending", "submitting", "processing", "completed", "download_failed", "timed_out",
         "rejected", "invalid", "unknown", "lost")


@dataclass
class Counts:
    by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_STATES, 0))

    @classmethod
    def from_states(cls, states: dict[str, int]) -> Counts:
        return cls({**dict.fromkeys(ALL_STATES, 0), **states})

    def move(self, src: str, dst: str, n: int) -> None:
        if n:
            self.by_state[src] = self.by_state.get(src, 0) - n
            self.by_state[dst] = self.by_state.get(dst, 0) + n

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def done(self) -> int:
        return sum(self.by_state.get(s, 0) for s in TERMINAL_STATES)

    @property
    def queued(self) -> int:
        return self.by_state.get("pending", 0)

    @property
    def processing(self) -> int:
        return sum(self.by_state.get(s, 0) for s in ("submitting", "processing", "completed"))

    @property
    def completed(self) -> int:
        return self.by_state.get("succeeded", 0)

    @property
    def failed(self) -> int:
        return sum(self.by_state.get(s, 0) for s in ("failed", "rejected", "unknown", "lost"))

    def line(self) -> str:
        return " | ".join(f"{state} {self.by_state.get(state, 0)}" for state in SHOWN
                          if state in ("succeeded", "failed") or self.by_state.get(state, 0))


class ProgressDisplay:
    """A rich bar when `enabled` (None: when stderr is a terminal); plain lines every 5 s when explicitly enabled."""

    def __init__(self, enabled: bool | None, total: int) -> None:
        tty = sys.stderr.isatty()
        self.rich = (enabled is None and tty) or (enabled is True and tty)
        self.plain = enabled is True and not tty
        self.total = total
        self._progress: Any = None
        self._task: Any = None
        self._last_plain = 0.0
        self._first_done: int | None = None
        self._started = time.monotonic()

    def start(self, counts: Counts) -> None:
        if not self.rich:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        from rich.table import Column

        # Done/total, rate and ETA come first and stay whole on an 80-column terminal; the counts take what is
        # left and are cut with an ellipsis.
        self._progress = Progress(
            BarColumn(bar_width=16), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
            TextColumn("eta"), TimeRemainingColumn(compact=True),
            TextColumn("{task.fields[counts]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            transient=False, expand=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("batch", total=self.total, completed=counts.done, counts=counts.line(),
                                             rate=self._rate(counts))

    def update(self, counts: Counts, note: str | None = None) -> None:
        """`note`: what the run is waiting for right now (a retry, a rate-limit pause), shown after the counts."""
        text = counts.line() + (f" | {note}" if note else "")
        if self._progress is not None:
            self._progress.update(self._task, completed=counts.done, counts=text, rate=self._rate(counts))
        elif self.plain and time.monotonic() - self._last_plain >= 5.0:
            self._last_plain = time.monotonic()
            print(f"[genvr batch] {counts.done}/{self.total} done | {self._rate(counts)} | {text}", file=sys.stderr, flush=True)

    def _rate(self, counts: Counts) -> str:
        """Jobs finished per second since this run started (jobs done by earlier runs do not count)."""
        if self._first_done is None:
            self._first_done, self._started = counts.done, time.monotonic()
        elapsed = time.monotonic() - self._started
        done = counts.done - self._first_done
        return f"{done / elapsed:.1f}/s" if done and elapsed > 0 else "-/s"

    def stop(self, counts: Counts) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=counts.done, counts=counts.line())
            self._progress.stop()
