"""Ctrl-C for a batch run: the first one stops every generate call that has not left the process, the second
stops waiting for the rest. Signals land at any point (validating the input included), so the handler only
counts and wakes whoever listens; the runner reads the count before each step that would spend money."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    def __init__(self) -> None:
        self.count = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def requested(self) -> bool:
        return self.count > 0

    def request(self) -> None:
        self.count += 1
        for listener in list(self._listeners):
            listener()

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every request (from the signal handler: it must only schedule work); returns the
        function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @contextmanager
    def on_signals(self, enabled: bool = True) -> Iterator[StopRequest]:
        """SIGINT/SIGTERM call `request()` instead of raising KeyboardInterrupt, for the duration."""
        if not enabled:
            yield self
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.request()

        # A signal the parent set to be ignored stays ignored (`nohup`, a background job of a script): Ctrl-C on
        # the terminal is not meant for this process. Python itself keeps such a SIGINT ignored.
        wanted = [sig for sig in SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN]
        previous: dict[int, Any] = {sig: signal.signal(sig, handler) for sig in wanted}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
