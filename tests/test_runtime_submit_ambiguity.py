"""A generate call answered 200 whose body cannot be read (truncated JSON, no task id) may have created a paid
task: the single-job client reports it as AmbiguousSubmissionError (never a plain error a caller would retry),
sync and async alike (batch-anchors.md §4.2: "200 with malformed or truncated JSON → unknown")."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from genvr_runtime import AmbiguousSubmissionError, AsyncBaseClient, BaseClient, GenVRInput, ModelInfo

BASE = "https://genvr.test"


class Flux(GenVRInput):
    prompt: str


Flux.genvr_model = ModelInfo(category="imagegen", subcategory="flux_dev", name="Flux Dev")

REPLIES = {
    "truncated": httpx.Response(200, content=b'{"success": true, "data": {"id": "pred_1", "sta'),
    "no-id": httpx.Response(200, json={"success": True, "data": {"status": "queued"}}),
    "not-an-object": httpx.Response(200, json=["pred_1"]),
}


@respx.mock
@pytest.mark.parametrize("reply", list(REPLIES))
def test_unreadable_generate_reply_is_ambiguous_sync(reply: str) -> None:
    route = respx.post(f"{BASE}/v2/generate").mock(return_value=REPLIES[reply])
    with BaseClient(api_key="sk-secret-key", uid="u", base_url=BASE) as client:
        with pytest.raises(AmbiguousSubmissionError) as info:
            client.submit(Flux(prompt="a cat"))
    assert route.call_count == 1 and "sk-secret-key" not in str(info.value)
    assert info.value.idempotency_key and info.value.model == "imagegen/flux_dev"


@respx.mock
@pytest.mark.parametrize("reply", list(REPLIES))
def test_unreadable_generate_reply_is_ambiguous_async(reply: str) -> None:
    route = respx.post(f"{BASE}/v2/generate").mock(return_value=REPLIES[reply])

    async def go() -> None:
        async with AsyncBaseClient(api_key="sk-secret-key", uid="u", base_url=BASE) as client:
            await client.submit(Flux(prompt="a cat"))

    with pytest.raises(AmbiguousSubmissionError):
        asyncio.run(go())
    assert route.call_count == 1
