"""A call to GenVR as data (what to send, how to treat failures), retry timing and the shared rate-limit pause.

Standard library only: `Client()` builds these before any request; the request loop itself is in `_http`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from genvr_runtime._errors import AmbiguousSubmissionError

CallKind = Literal["read", "create"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait. Defaults follow Stainless SDKs (2 retries, 0.5 s·2ⁿ ≤ 8 s)."""

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a server asking for longer gets this, then the retry proceeds

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        delay: float = min(self.initial_backoff * 2.0**attempt, self.max_backoff)
        return delay * random.uniform(0.75, 1.0)  # jitter: spread retries of many workers


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, `Retry-After: <seconds>` or `Retry-After: <HTTP date>`."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    import email.utils  # only for the rare date form

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class Gate:
    """A pause shared by every caller of one call class: a 429 with Retry-After stops all of them, not one."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()
        self.rate_limited = 0  # 429s seen by callers of this gate (the batch runner adapts its cap to it)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(self._until - time.monotonic(), 0.0)

    def wait_sync(self) -> None:
        while (left := self.remaining()) > 0:
            time.sleep(left)

    async def wait_async(self) -> None:
        import asyncio  # loaded already by whoever awaits this

        while (left := self.remaining()) > 0:
            await asyncio.sleep(left)


@dataclass
class Call:
    """One logical call: what to send and how to treat failures. `label` names it in errors and logs."""

    method: str
    url: str
    label: str
    kind: CallKind = "read"
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = field(default=None, repr=False)  # may carry the Bearer key
    timeout: float | None = None
    follow_redirects: bool = False  # downloads only: a redirected POST could start a second paid job
    model: str | None = None
    task_id: str | None = None
    idempotency_key: str | None = None
    resend_ambiguous: bool = False  # the user opted in to resending a generate whose outcome is unknown

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers or {})
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key  # same key on every retry of this call
        return headers

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"headers": self.request_headers()}
        if self.json is not None:
            out["json"] = self.json
        if self.content is not None:
            out["content"] = self.content
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.follow_redirects:
            out["follow_redirects"] = True
        return out

    def effective_kind(self) -> CallKind:
        return "read" if self.resend_ambiguous else self.kind

    def ambiguous(self, cause: str) -> AmbiguousSubmissionError:
        return AmbiguousSubmissionError(
            f"{self.label}: sent, but the outcome is unknown ({cause}); the task may exist and is not resent",
            idempotency_key=self.idempotency_key,
            model=self.model,
        )
