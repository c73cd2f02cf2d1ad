"""One request loop with retries, for every GenVR call (sync and async twins share the decisions).

Calls come in two kinds. Reads (status, response, uploads' SAS request, downloads) are idempotent: any
connection error, 408, 429 or 5xx is retried with jittered exponential backoff. A generate call creates a
paid task, so it is retried only when the server cannot have acted on it (nothing sent, 408, 429, 503 with
Retry-After); a call that was sent but whose outcome is unknown raises AmbiguousSubmissionError unless the
caller opted in to resending it.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, Literal

import httpx

from genvr_runtime._errors import AmbiguousSubmissionError, APIConnectionError
from genvr_runtime._redact import install_httpx_log_filter

log = logging.getLogger("genvr_runtime")
install_httpx_log_filter()  # httpx's INFO line per request becomes a DEBUG line of ours (see _redact)

CallKind = Literal["read", "create"]
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Nothing reached the server: safe to resend even a generate call.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


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


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
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
        while (left := self.remaining()) > 0:
            await asyncio.sleep(left)


@dataclass(frozen=True)
class _Decision:
    retry: bool
    delay: float = 0.0
    ambiguous: bool = False  # create call sent, outcome unknown


def _decide_response(response: httpx.Response, kind: CallKind, attempt: int, policy: RetryPolicy) -> _Decision:
    status = response.status_code
    if status not in RETRYABLE_STATUSES:
        return _Decision(retry=False)
    retry_after = parse_retry_after(response.headers)
    if kind == "create" and status >= 500 and not (status == 503 and retry_after is not None):
        # Some or all of the tasks may have been created before the error: never resend blindly.
        return _Decision(retry=False, ambiguous=True)
    if attempt >= policy.max_retries:
        return _Decision(retry=False)
    return _Decision(retry=True, delay=policy.backoff(attempt, retry_after))


def _decide_error(exc: httpx.HTTPError, kind: CallKind, attempt: int, policy: RetryPolicy) -> _Decision:
    sent = not isinstance(exc, NOT_SENT_ERRORS)
    if kind == "create" and sent:
        return _Decision(retry=False, ambiguous=True)
    if attempt >= policy.max_retries:
        return _Decision(retry=False)
    return _Decision(retry=True, delay=policy.backoff(attempt))


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

    def connection_error(self, exc: httpx.HTTPError) -> APIConnectionError:
        return APIConnectionError(
            f"{self.label} request to {public_url(self.url)} failed: {describe_connection_error(exc)}",
            model=self.model, task_id=self.task_id,
        )


def public_url(url: str) -> str:
    """The URL without its query: signed URLs carry their signature there."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


def describe_connection_error(exc: BaseException) -> str:
    """A short cause a user can act on: refused, DNS, TLS, timeout, reset."""
    causes: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(causes) < 8:  # anyio wraps the OSError that says what happened
        causes.append(link)
        link = link.__cause__ or link.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "DNS lookup failed (unknown host)"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return f"TLS error ({next(c for c in causes if isinstance(c, ssl.SSLError))!s:.200})"
    text = " ".join(str(c) for c in causes).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out waiting for the server"
    if "refused" in text:
        return "connection refused"
    if any(s in text for s in ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo")):
        return "DNS lookup failed (unknown host)"
    if any(s in text for s in ("ssl", "certificate", "tls")):
        return f"TLS error ({str(exc)[:200]})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return "connection reset"
    return f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__


# Told of every retry before its wait: (call, attempt number about to be made, wait in s, why).
RetryHook = Callable[[Call, int, float, str], None]


def _log_retry(call: Call, attempt: int, delay: float, why: str, hook: RetryHook | None = None) -> None:
    log.debug("retrying %s (%s) in %.2fs, attempt %d", call.label, why, delay, attempt + 1)
    if hook is not None:
        hook(call, attempt + 1, delay, why)


def send(http: httpx.Client, call: Call, policy: RetryPolicy, gate: Gate | None = None,
         on_retry: RetryHook | None = None) -> httpx.Response:
    """Send `call`, retrying what is safe to retry; return the last response (any status)."""
    attempt = 0
    while True:
        if gate is not None:
            gate.wait_sync()
        try:
            response = http.request(call.method, call.url, **call.kwargs())
        except httpx.HTTPError as exc:
            decision = _decide_error(exc, call.effective_kind(), attempt, policy)
            if decision.ambiguous:
                raise call.ambiguous(type(exc).__name__) from None
            if not decision.retry:
                raise call.connection_error(exc) from None
            _log_retry(call, attempt, decision.delay, describe_connection_error(exc), on_retry)
            time.sleep(decision.delay)
            attempt += 1
            continue
        decision = _decide_response(response, call.effective_kind(), attempt, policy)
        if gate is not None and response.status_code == 429 and not decision.retry:
            gate.rate_limited += 1
        if decision.ambiguous:
            raise call.ambiguous(f"HTTP {response.status_code}")
        if not decision.retry:
            return response
        if gate is not None and response.status_code == 429:
            gate.rate_limited += 1
            gate.pause(decision.delay)
        _log_retry(call, attempt, decision.delay, f"HTTP {response.status_code}", on_retry)
        time.sleep(decision.delay)
        attempt += 1


async def send_async(
    http: httpx.AsyncClient,
    call: Call,
    policy: RetryPolicy,
    gate: Gate | None = None,
    slots: asyncio.Semaphore | None = None,
    on_retry: RetryHook | None = None,
) -> httpx.Response:
    """The async twin of `send`. `slots` bounds concurrent attempts (not backoff sleeps, which hold no slot)."""
    attempt = 0
    while True:
        if gate is not None:
            await gate.wait_async()
        try:
            if slots is None:
                response = await http.request(call.method, call.url, **call.kwargs())
            else:
                async with slots:
                    response = await http.request(call.method, call.url, **call.kwargs())
        except httpx.HTTPError as exc:
            decision = _decide_error(exc, call.effective_kind(), attempt, policy)
            if decision.ambiguous:
                raise call.ambiguous(type(exc).__name__) from None
            if not decision.retry:
                raise call.connection_error(exc) from None
            _log_retry(call, attempt, decision.delay, describe_connection_error(exc), on_retry)
            await asyncio.sleep(decision.delay)
            attempt += 1
            continue
        decision = _decide_response(response, call.effective_kind(), attempt, policy)
        if gate is not None and response.status_code == 429 and not decision.retry:
            gate.rate_limited += 1
        if decision.ambiguous:
            raise call.ambiguous(f"HTTP {response.status_code}")
        if not decision.retry:
            return response
        if gate is not None and response.status_code == 429:
            gate.rate_limited += 1
            gate.pause(decision.delay)
        _log_retry(call, attempt, decision.delay, f"HTTP {response.status_code}", on_retry)
        await asyncio.sleep(decision.delay)
        attempt += 1
