"""Downloads: redirects are followed, HTTP failures become a DownloadError naming the model and task, and no
request object's repr can show the API key."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from genvr_runtime import BaseClient, DownloadError, GenerationResult
from genvr_runtime._http import Call

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
