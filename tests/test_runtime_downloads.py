"""Downloads: redirects are followed, HTTP failures become a DownloadError naming the model and task, and no
request object's repr can show the API key."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from genvr_runtime import AsyncBaseClient, BaseClient, DownloadError, GenerationResult
from genvr_runtime._calls import Call, RetryPolicy

RESULT = GenerationResult(task_id="pred_1", model="imagegen/flux_dev", status="completed",
                          output=["https://cdn.test/out/0.png?sig=abc"], submitted_at=0.0, completed_at=1.0)


def client() -> BaseClient:
    return BaseClient(api_key="secret-key-xyz", uid="u", base_url="https://api.test", max_retries=0)


@respx.mock
def test_download_follows_redirects_to_the_file(tmp_path: Path) -> None:
    respx.get("https://cdn.test/out/0.png").mock(return_value=httpx.Response(302, headers={"Location": "https://blob.test/real.png"}))
    respx.get("https://blob.test/real.png").mock(return_value=httpx.Response(200, content=b"\x89PNG-bytes"))
    with client() as c:
        assert c.download_bytes(RESULT) == [b"\x89PNG-bytes"]
        saved = c.download(RESULT, tmp_path)
    assert saved[0].path.read_bytes() == b"\x89PNG-bytes"


@respx.mock
def test_an_expired_output_url_raises_a_download_error_naming_model_and_task() -> None:
    respx.get("https://cdn.test/out/0.png").mock(return_value=httpx.Response(403, text="AuthenticationFailed"))
    with client() as c, pytest.raises(DownloadError) as info:
        c.download_bytes(RESULT)
    text = str(info.value)
    assert "HTTP 403" in text and "imagegen/flux_dev" in text and "pred_1" in text
    assert "secret-key-xyz" not in text


def test_a_call_repr_never_shows_headers() -> None:
    call = Call("POST", "https://api.test/v2/generate", label="generate", headers={"Authorization": "Bearer secret-key-xyz"})
    assert "secret-key-xyz" not in repr(call) and "secret-key-xyz" not in str(call)


QUICK = RetryPolicy(max_retries=4, initial_backoff=0.001, max_backoff=0.005)


@respx.mock
def test_a_body_shorter_than_its_content_length_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("genvr_runtime._files.DOWNLOAD_RETRY", QUICK, raising=False)
    short = httpx.Response(200, headers={"content-length": "100"}, content=b"\x89PNG-only-part")
    respx.get("https://cdn.test/out/0.png").mock(return_value=short)
    with client() as c:
        with pytest.raises(DownloadError, match="100 bytes"):
            c.download_bytes(RESULT)
        with pytest.raises(DownloadError, match="100 bytes"):
            c.download(RESULT, tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the final name nor a .part file


@respx.mock
def test_download_retries_server_errors_with_backoff_then_saves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("genvr_runtime._files.DOWNLOAD_RETRY", QUICK, raising=False)
    route = respx.get("https://cdn.test/out/0.png").mock(side_effect=[httpx.Response(503), httpx.Response(500),
                                                                      httpx.Response(502), httpx.Response(200, content=b"png")])
    with client() as c:
        saved = c.download(RESULT, tmp_path)
    assert saved[0].path.read_bytes() == b"png" and route.call_count == 4


@respx.mock
def test_a_refused_download_is_not_retried_and_carries_its_http_status(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("genvr_runtime._files.DOWNLOAD_RETRY", QUICK, raising=False)
    route = respx.get("https://cdn.test/out/0.png").mock(return_value=httpx.Response(403, text="expired"))
    with client() as c, pytest.raises(DownloadError) as info:
        c.download(RESULT, tmp_path)
    assert route.call_count == 1 and info.value.status_code == 403  # type: ignore[attr-defined]
    assert "HTTP 403" in str(info.value) and "sig=abc" not in str(info.value)


@respx.mock
async def test_async_downloads_refuse_short_bodies_and_retry_server_errors(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("genvr_runtime._files.DOWNLOAD_RETRY", QUICK, raising=False)
    short = httpx.Response(200, headers={"content-length": "100"}, content=b"\x89PNG-only-part")
    route = respx.get("https://cdn.test/out/0.png").mock(side_effect=[short, short, short, short, short,
                                                                      httpx.Response(503), httpx.Response(200, content=b"png")])
    async with AsyncBaseClient(api_key="secret-key-xyz", uid="u", base_url="https://api.test") as c:
        with pytest.raises(DownloadError, match="after 5 attempts: incomplete body: expected 100 bytes"):
            await c.download_bytes(RESULT)
        assert await c.download_bytes(RESULT) == [b"png"]
    assert route.call_count == 7
