"""The request loop in isolation (respx): which failures are retried, Retry-After, ambiguity of generate calls."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
import respx

from genvr_runtime import AmbiguousSubmissionError, APIConnectionError
from genvr_runtime._calls import Call, Gate, RetryPolicy, parse_retry_after
from genvr_runtime._http import send, send_async

URL = "https://genvr.test/v2/generate"
FAST = RetryPolicy(max_retries=3, initial_backoff=0.001, max_backoff=0.002, max_retry_after=0.05)


def test_retry_after_forms() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(httpx.Headers({"retry-after": date})) or 0) <= 30
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None


def test_backoff_grows_with_jitter_and_caps() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, max_retry_after=60)
    delays = [policy.backoff(n) for n in range(6)]
    assert all(0.375 <= d <= 8.0 for d in delays) and delays[-1] > delays[0]
    assert policy.backoff(0, retry_after=500) == 60  # a huge Retry-After is capped


@respx.mock
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_reads_retry_transient_statuses(status: int) -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(status), httpx.Response(200, json={"ok": 1})])
    with httpx.Client() as http:
        response = send(http, Call("POST", URL, label="status"), FAST)
    assert response.status_code == 200 and route.call_count == 2


@respx.mock
def test_reads_retry_connection_errors_then_give_up() -> None:
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with httpx.Client() as http, pytest.raises(APIConnectionError):
        send(http, Call("POST", URL, label="status"), FAST)
    assert route.call_count == FAST.max_retries + 1


@respx.mock
@pytest.mark.parametrize("failure", [httpx.ReadTimeout("t"), httpx.RemoteProtocolError("closed"), httpx.WriteTimeout("w")])
def test_generate_sent_but_unanswered_is_ambiguous_and_not_resent(failure: Exception) -> None:
    route = respx.post(URL).mock(side_effect=failure)
    call = Call("POST", URL, label="generate", kind="create", model="imagegen/flux_dev", idempotency_key="k1")
    with httpx.Client() as http, pytest.raises(AmbiguousSubmissionError) as info:
        send(http, call, FAST)
    assert route.call_count == 1
    assert info.value.idempotency_key == "k1" and "imagegen/flux_dev" in str(info.value)


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 504])
def test_generate_5xx_is_ambiguous(status: int) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(status))
    with httpx.Client() as http, pytest.raises(AmbiguousSubmissionError):
        send(http, Call("POST", URL, label="generate", kind="create"), FAST)
    assert route.call_count == 1


@respx.mock
def test_generate_retries_what_cannot_have_created_a_task_with_a_stable_key() -> None:
    route = respx.post(URL).mock(side_effect=[
        httpx.ConnectError("refused"),
        httpx.Response(429, headers={"retry-after": "0.01"}),
        httpx.Response(503, headers={"retry-after": "0"}),
        httpx.Response(200, json={"success": True}),
    ])
    gate = Gate()
    with httpx.Client() as http:
        response = send(http, Call("POST", URL, label="generate", kind="create", idempotency_key="same"), FAST, gate)
    assert response.status_code == 200 and route.call_count == 4
    assert {c.request.headers["idempotency-key"] for c in route.calls} == {"same"}
    assert gate.rate_limited == 1


@respx.mock
def test_generate_resend_is_opt_in() -> None:
    route = respx.post(URL).mock(side_effect=[httpx.ReadTimeout("t"), httpx.Response(200, json={})])
    call = Call("POST", URL, label="generate", kind="create", resend_ambiguous=True, idempotency_key="k")
    with httpx.Client() as http:
        assert send(http, call, FAST).status_code == 200
    assert route.call_count == 2


@respx.mock
async def test_async_twin_same_rules() -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"retry-after-ms": "5"}), httpx.Response(200)])
    async with httpx.AsyncClient() as http:
        assert (await send_async(http, Call("POST", URL, label="generate", kind="create"), FAST)).status_code == 200
        respx.post(URL).mock(side_effect=httpx.ReadTimeout("t"))
        with pytest.raises(AmbiguousSubmissionError):
            await send_async(http, Call("POST", URL, label="generate", kind="create"), FAST)
    assert route.call_count >= 2


def test_gate_pause_is_shared() -> None:
    gate = Gate()
    gate.pause(0.2)
    assert 0.1 < gate.remaining() <= 0.2
    gate.pause(0.01)  # a shorter pause never shortens a longer one
    assert gate.remaining() > 0.1
