"""One request loop with retries, for every GenVR call (sync and async twins share the decisions).

Calls come in two kinds. Reads (status, response, uploads' SAS request, downloads) are idempotent: any
connection error, 408, 429 or 5xx is retried with jittered exponential backoff. A generate call creates a
paid task, so it is retried only when the server cannot have acted on it (nothing sent, 408, 429, 503 with
Retry-After); a call that was sent but whose outcome is unknown raises AmbiguousSubmissionError unless the
caller opted in to resending it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from genvr_runtime._calls import Call, CallKind, Gate, RetryPolicy, parse_retry_after
from genvr_runtime._errors import APIConnectionError

log = logging.getLogger("genvr_runtime")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Nothing reached the server: safe to resend even a generate call.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


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


def connection_error(call: Call, exc: httpx.HTTPError) -> APIConnectionError:
    return APIConnectionError(
        f"{call.label} request to {public_url(call.url)} failed: {describe_connection_error(exc)}",
        model=call.model, task_id=call.task_id,
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
                raise connection_error(call, exc) from None
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
                raise connection_error(call, exc) from None
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
