"""The three-step flow (generate → status → response), sync and async.

Thin on purpose: one request per step, no retries yet. Generated clients subclass these and add one
namespace per GenVR category.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx

from genvr_runtime._errors import APIConnectionError, GenVRError, TaskFailedError, WaitTimeoutError
from genvr_runtime._inputs import GenVRInput
from genvr_runtime._protocol import (
    DEFAULT_BASE_URL,
    PATHS,
    TERMINAL_STATUSES,
    ApiVersion,
    generate_body,
    parse_envelope,
    task_body,
)
from genvr_runtime._results import GenerationResult


class _Settings:
    """Connection settings shared by the sync and async clients. The key never appears in a repr."""

    def __init__(
        self,
        api_key: str | None,
        uid: str | None,
        base_url: str | None,
        api_version: ApiVersion,
        timeout: float,
        wait_timeout: float,
        poll_interval: float,
        max_poll_interval: float,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("GENVR_API_KEY")
        user = uid if uid is not None else os.environ.get("GENVR_UID")
        if not key:
            raise GenVRError("no API key: pass api_key= or set GENVR_API_KEY")
        if not user:
            raise GenVRError("no user id: pass uid= or set GENVR_UID")
        if api_version not in PATHS:
            raise GenVRError(f"api_version must be 'v1' or 'v2', got {api_version!r}")
        self._api_key = key
        self.uid = user
        self.base_url = (base_url or os.environ.get("GENVR_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_version: ApiVersion = api_version
        self.paths = PATHS[api_version]
        self.timeout = timeout
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"}

    def next_interval(self, current: float) -> float:
        # Start quick (short jobs finish fast), then back off to GenVR's documented 1–2 s polling guidance.
        return min(current * 1.5, self.max_poll_interval)

    def __repr__(self) -> str:
        return f"<settings base_url={self.base_url!r} uid={self.uid!r} api_version={self.api_version} api_key=***>"


class Job:
    """A submitted task: poll it, wait for it, or stop waiting (the task itself cannot be cancelled)."""

    def __init__(self, client: BaseClient, params: GenVRInput, task_id: str, status: str, submitted_at: float) -> None:
        self._client = client
        self.model = type(params).genvr_model
        self.task_id = task_id
        self.last_status = status
        self.submitted_at = submitted_at
        self._statuses = [status]
        self._polls = 0
        self._result: GenerationResult | None = None

    def __repr__(self) -> str:
        return f"<Job {self.model.key} task_id={self.task_id!r} status={self.last_status!r}>"

    def status(self) -> str:
        data = self._client._post("status", self._task_body(), model=self.model.key, task_id=self.task_id)
        self._polls += 1
        self.last_status = str(data.get("status", "unknown"))
        if self.last_status != self._statuses[-1]:
            self._statuses.append(self.last_status)
        if self.last_status == "failed":
            raise TaskFailedError("task failed", error=_text(data.get("error")), model=self.model.key, task_id=self.task_id)
        return self.last_status

    def wait(self, timeout: float | None = None) -> GenerationResult:
        if self._result is not None:
            return self._result
        settings = self._client._settings
        deadline = time.monotonic() + (settings.wait_timeout if timeout is None else timeout)
        interval = settings.poll_interval
        while self.status() not in TERMINAL_STATUSES:
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError("task still running at the wait timeout", model=self.model.key, task_id=self.task_id)
            time.sleep(interval)
            interval = settings.next_interval(interval)
        return self.result()

    def result(self) -> GenerationResult:
        if self._result is None:
            data = self._client._post("response", self._task_body(), model=self.model.key, task_id=self.task_id)
            self._result = _to_result(self, data)
        return self._result

    def _task_body(self) -> dict[str, Any]:
        return task_body(self._client._settings.uid, self.task_id, self.model.category, self.model.subcategory)


class BaseClient:
    """Synchronous GenVR client: `run(input)` blocks until the output is ready, `submit(input)` returns a Job."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        uid: str | None = None,
        base_url: str | None = None,
        api_version: ApiVersion = "v2",
        timeout: float = 120.0,
        wait_timeout: float = 1800.0,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._settings = _Settings(api_key, uid, base_url, api_version, timeout, wait_timeout, poll_interval, max_poll_interval)
        self._http = http_client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._settings!r}>"

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, params: GenVRInput) -> Job:
        body = generate_body(self._settings.uid, params)
        key = type(params).genvr_model.key
        data = self._post("generate", body, model=key)
        task_id = _task_id(data, key)
        return Job(self, params, task_id, str(data.get("status", "queued")), time.time())

    def run(self, params: GenVRInput, *, wait_timeout: float | None = None) -> GenerationResult:
        return self.submit(params).wait(wait_timeout)

    def _post(self, step: str, body: dict[str, Any], *, model: str, task_id: str | None = None) -> dict[str, Any]:
        url = self._settings.base_url + self._settings.paths[step]
        try:
            response = self._http.post(url, json=body, headers=self._settings.headers)
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"{step} request failed: {type(exc).__name__}", model=model, task_id=task_id) from None
        return parse_envelope(response, model=model, task_id=task_id)


class AsyncJob:
    """The async twin of Job."""

    def __init__(self, client: AsyncBaseClient, params: GenVRInput, task_id: str, status: str, submitted_at: float) -> None:
        self._client = client
        self.model = type(params).genvr_model
        self.task_id = task_id
        self.last_status = status
        self.submitted_at = submitted_at
        self._statuses = [status]
        self._polls = 0
        self._result: GenerationResult | None = None

    def __repr__(self) -> str:
        return f"<AsyncJob {self.model.key} task_id={self.task_id!r} status={self.last_status!r}>"

    async def status(self) -> str:
        data = await self._client._post("status", self._task_body(), model=self.model.key, task_id=self.task_id)
        self._polls += 1
        self.last_status = str(data.get("status", "unknown"))
        if self.last_status != self._statuses[-1]:
            self._statuses.append(self.last_status)
        if self.last_status == "failed":
            raise TaskFailedError("task failed", error=_text(data.get("error")), model=self.model.key, task_id=self.task_id)
        return self.last_status

    async def wait(self, timeout: float | None = None) -> GenerationResult:
        if self._result is not None:
            return self._result
        settings = self._client._settings
        deadline = time.monotonic() + (settings.wait_timeout if timeout is None else timeout)
        interval = settings.poll_interval
        while await self.status() not in TERMINAL_STATUSES:
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError("task still running at the wait timeout", model=self.model.key, task_id=self.task_id)
            await asyncio.sleep(interval)
            interval = settings.next_interval(interval)
        return await self.result()

    async def result(self) -> GenerationResult:
        if self._result is None:
            data = await self._client._post("response", self._task_body(), model=self.model.key, task_id=self.task_id)
            self._result = _to_result(self, data)
        return self._result

    def _task_body(self) -> dict[str, Any]:
        return task_body(self._client._settings.uid, self.task_id, self.model.category, self.model.subcategory)


class AsyncBaseClient:
    """Asynchronous GenVR client."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        uid: str | None = None,
        base_url: str | None = None,
        api_version: ApiVersion = "v2",
        timeout: float = 120.0,
        wait_timeout: float = 1800.0,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = _Settings(api_key, uid, base_url, api_version, timeout, wait_timeout, poll_interval, max_poll_interval)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._settings!r}>"

    async def __aenter__(self) -> AsyncBaseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def submit(self, params: GenVRInput) -> AsyncJob:
        body = generate_body(self._settings.uid, params)
        key = type(params).genvr_model.key
        data = await self._post("generate", body, model=key)
        return AsyncJob(self, params, _task_id(data, key), str(data.get("status", "queued")), time.time())

    async def run(self, params: GenVRInput, *, wait_timeout: float | None = None) -> GenerationResult:
        job = await self.submit(params)
        return await job.wait(wait_timeout)

    async def _post(self, step: str, body: dict[str, Any], *, model: str, task_id: str | None = None) -> dict[str, Any]:
        url = self._settings.base_url + self._settings.paths[step]
        try:
            response = await self._http.post(url, json=body, headers=self._settings.headers)
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"{step} request failed: {type(exc).__name__}", model=model, task_id=task_id) from None
        return parse_envelope(response, model=model, task_id=task_id)


def _task_id(data: dict[str, Any], model: str) -> str:
    task_id = data.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise GenVRError(f"generate reply has no task id: {data!r}", model=model)
    return task_id


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _to_result(job: Job | AsyncJob, data: dict[str, Any]) -> GenerationResult:
    output = data.get("output")
    status = str(data.get("status", job.last_status))
    if not isinstance(output, list) or not output:
        raise TaskFailedError(f"task {status} with no output", model=job.model.key, task_id=job.task_id)
    urls = [str(u) for u in output]
    bad = [u for u in urls if not u.startswith(("http://", "https://", "data:"))]
    if bad:  # GenVR sometimes puts an error message where a URL belongs (API.md §4.4)
        raise TaskFailedError("output holds an error, not a URL", error=bad[0], model=job.model.key, task_id=job.task_id)
    return GenerationResult(
        task_id=job.task_id,
        model=job.model.key,
        status=status,
        output=urls,
        submitted_at=job.submitted_at,
        completed_at=time.time(),
        polls=job._polls,
        statuses_seen=list(job._statuses),
    )
