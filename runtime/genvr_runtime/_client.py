"""The three-step flow (generate → status → response), sync and async, with retries, job handles and files.

Generated clients subclass BaseClient / AsyncBaseClient and add one namespace per GenVR category; every
namespace method ends in `self._client.run(SomeInput.from_call(...))`.

Importing this module (and building a client) loads neither httpx, pydantic nor asyncio: the first request
creates the HTTP client and imports the request loop (`_http`), so `Client().imagegen.flux_dev` stays cheap.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from genvr_runtime._calls import Call, Gate, RetryPolicy, parse_retry_after
from genvr_runtime._common import ModelInfo, input_class
from genvr_runtime._errors import (
    APIError,
    GenVRError,
    OutputError,
    TaskFailedError,
    WaitCancelledError,
    WaitInterrupted,
    WaitTimeoutError,
)
from genvr_runtime._files import (
    DownloadedFile,
    FileMode,
    FileSource,
    check_put,
    data_uri,
    download_async,
    download_sync,
    fetch_bytes_async,
    fetch_bytes_sync,
    file_name_and_bytes,
    guess_mime,
    output_filename,
    parse_sas_reply,
    put_headers,
    replace_placeholders,
    sas_request_body,
)
from genvr_runtime._polling import SinglePollSchedule
from genvr_runtime._protocol import (
    DEFAULT_BASE_URL,
    DOCUMENTED_STATUSES,
    EXAMPLE_STATUSES,
    PATHS,
    TERMINAL_STATUSES,
    UPLOAD_PATH,
    ApiVersion,
    generate_body,
    is_output_url,
    json_or_none,
    parse_envelope,
    task_body,
)
from genvr_runtime._results import GenerationResult

if TYPE_CHECKING:
    import httpx

    from genvr_runtime._batch.runner import BatchOptions, BatchReport
    from genvr_runtime._inputs import GenVRInput

    ModelRef = Union[str, ModelInfo, type[GenVRInput]]
    BatchItem = Union[GenVRInput, Mapping[str, Any]]

log = logging.getLogger("genvr_runtime")

StatusCallback = Callable[[str], None]


def as_input(params: GenVRInput | str, inputs: Mapping[str, Any] | None) -> GenVRInput:
    """An input object as given (anything shaped like one: the ComfyUI pack passes its own), or the one a model
    key and a dict of inputs make (validated)."""
    if not isinstance(params, str):
        if inputs is not None:
            raise GenVRError("pass either an input object or a model key with a dict of inputs, not both")
        return params
    return input_class(params).from_call(**dict(inputs or {}))


def jobs_file(jobs: str | Path | Sequence[BatchItem], out: Path) -> Path:
    """The JSONL file of a batch: as given, or written from a list next to `out` (same list, same file)."""
    if isinstance(jobs, (str, Path)):
        return Path(jobs)
    def local_file(value: object) -> Any:  # a Path becomes the JSONL form of a local file (uploaded once)
        if isinstance(value, Path):
            return {"path": str(value.resolve())}
        raise GenVRError(f"a batch job can hold a local file as a Path, not {type(value).__name__}")

    from genvr_runtime._inputs import GenVRInput  # a list of jobs is validated anyway

    lines = []
    for index, item in enumerate(jobs):
        if isinstance(item, GenVRInput):
            files = {token: local_file(source) for token, source in item.pending_files.items()}
            body = item.model_dump(mode="json", by_alias=True, exclude_unset=True)
            row: dict[str, Any] = {"model": item.genvr_model.key, "input": replace_placeholders(body, files)}
        elif isinstance(item, Mapping):
            row = dict(item)
        else:
            raise GenVRError(f"job {index}: expected an input object or a dict, got {type(item).__name__}")
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True, default=local_file))
    path = out.with_name(out.name + ".jobs.jsonl")
    text = "".join(line + "\n" for line in lines)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


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
        max_retries: int,
        file_mode: FileMode,
        resend_ambiguous: bool,
        empty_output_retries: int,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("GENVR_API_KEY")
        user = uid if uid is not None else os.environ.get("GENVR_UID")
        if not key:
            raise GenVRError("no API key: pass api_key= or set GENVR_API_KEY")
        if not user:
            raise GenVRError("no user id: pass uid= or set GENVR_UID")
        if api_version not in PATHS:
            raise GenVRError(f"api_version must be 'v1' or 'v2', got {api_version!r}")
        if file_mode not in ("upload", "data_uri"):
            raise GenVRError(f"file_mode must be 'upload' or 'data_uri', got {file_mode!r}")
        self._api_key = key
        self.uid = user
        self.base_url = (base_url or os.environ.get("GENVR_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_version: ApiVersion = api_version
        self.paths = PATHS[api_version]
        self.timeout = timeout
        self.wait_timeout = wait_timeout
        self.poll = SinglePollSchedule(first=poll_interval, maximum=max_poll_interval)
        self.retry = RetryPolicy(max_retries=max_retries)
        self.file_mode: FileMode = file_mode
        self.resend_ambiguous = resend_ambiguous
        self.empty_output_retries = empty_output_retries

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"}

    @property
    def api_key(self) -> str:
        return self._api_key

    def call(self, step: str, body: dict[str, Any], *, model: str | None, task_id: str | None = None) -> Call:
        create = step == "generate"
        return Call(
            "POST",
            self.base_url + self.paths[step],
            label=f"{step} ({self.api_version})",
            kind="create" if create else "read",
            json=body,
            headers=self.headers,
            model=model,
            task_id=task_id,
            idempotency_key=f"genvr-{uuid.uuid4()}" if create else None,
            resend_ambiguous=self.resend_ambiguous,
        )

    def sas_call(self, file_name: str, category: str) -> Call:
        body = sas_request_body(self.uid, file_name, category)
        return Call("POST", self.base_url + UPLOAD_PATH, label="upload URL request", json=body, headers=self.headers)

    def __repr__(self) -> str:
        return f"<settings base_url={self.base_url!r} uid={self.uid!r} api_version={self.api_version} api_key=***>"


def model_info(model: ModelRef) -> ModelInfo:
    """ModelInfo from a "category/subcategory" key, a ModelInfo or a generated input class."""
    if isinstance(model, ModelInfo):
        return model
    if isinstance(model, str):
        category, sep, subcategory = model.partition("/")
        if not sep or not category or not subcategory:
            raise GenVRError(f"model key must be 'category/subcategory', got {model!r}")
        return ModelInfo(category=category, subcategory=subcategory, name=model)
    return model.genvr_model


class _JobState:
    """What sync and async job handles share: identity, statuses seen, and reading GenVR's replies."""

    def __init__(self, model: ModelInfo, task_id: str, status: str, submitted_at: float | None, idempotency_key: str | None) -> None:
        self.model = model
        self.task_id = task_id
        self.last_status = status
        self.submitted_at = time.time() if submitted_at is None else submitted_at
        self.idempotency_key = idempotency_key
        self._statuses = [status]
        self._polls = 0
        self._result: GenerationResult | None = None
        self._warned: set[str] = set()

    def _note_status(self, data: dict[str, Any]) -> str:
        self._polls += 1
        status = str(data.get("status") or "unknown")
        self.last_status = status
        if status != self._statuses[-1]:
            self._statuses.append(status)
        if status not in DOCUMENTED_STATUSES and status not in self._warned:
            self._warned.add(status)  # GenVR documents three statuses; others (starting, queued, …) mean running
            log.log(logging.DEBUG if status in EXAMPLE_STATUSES else logging.WARNING,"task %s (%s) reports undocumented status %r; treating it as running", self.task_id, self.model.key, status)
        if status == "failed":
            error = data.get("error") or data.get("message")
            raise TaskFailedError(
                f"task failed: {error}" if error else "task failed (GenVR gave no error message)",
                error=None if error is None else str(error),
                model=self.model.key,
                task_id=self.task_id,
            )
        return status

    def _output_problem(self, data: dict[str, Any]) -> OutputError | None:
        """None when `data.output` is a usable list of URLs; else the error describing it (API.md §4.4)."""
        if data.get("status") == "failed" or data.get("error"):
            error = str(data.get("error") or "task failed")
            return OutputError(f"task failed: {error}", error=error, model=self.model.key, task_id=self.task_id)
        output = data.get("output")
        if not isinstance(output, list) or not output:
            return OutputError(
                f"task reported {data.get('status', self.last_status)!r} with an empty output",
                model=self.model.key,
                task_id=self.task_id,
            )
        bad = [item for item in output if not is_output_url(item)]
        if bad:  # GenVR sometimes puts an error message where a URL belongs
            return OutputError(
                f"output holds an error message instead of a URL: {str(bad[0])[:300]}",
                error=str(bad[0]),
                model=self.model.key,
                task_id=self.task_id,
            )
        return None

    def _finish(self, data: dict[str, Any]) -> GenerationResult:
        self._result = GenerationResult(
            task_id=self.task_id,
            model=self.model.key,
            status=str(data.get("status") or "completed"),
            output=[str(u) for u in data["output"]],
            submitted_at=self.submitted_at,
            completed_at=time.time(),
            polls=self._polls,
            statuses_seen=list(self._statuses),
        )
        return self._result

    def _timeout_error(self, timeout: float) -> WaitTimeoutError:
        return WaitTimeoutError(
            f"task still {self.last_status!r} after waiting {timeout:g}s; pick it up later with "
            f"client.job({self.model.key!r}, {self.task_id!r})",
            model=self.model.key,
            task_id=self.task_id,
        )

    def _cancelled_error(self) -> WaitCancelledError:
        return WaitCancelledError(
            "stopped waiting (the task keeps running on GenVR)", model=self.model.key, task_id=self.task_id
        )

    def _body(self, uid: str) -> dict[str, Any]:
        return task_body(uid, self.task_id, self.model.category, self.model.subcategory)

    def _pick_up_hint(self) -> str:
        return (f"stopped waiting for task {self.task_id} ({self.model.key}, last status {self.last_status!r}); it is "
                f"paid for and keeps running on GenVR: pick it up with client.job({self.model.key!r}, {self.task_id!r})")

    def _describe(self, kind: str) -> str:
        return f"<{kind} {self.model.key} task_id={self.task_id!r} status={self.last_status!r}>"


class Job(_JobState):
    """A submitted task: `status()`, `wait(timeout=)`, `result()`; `cancel()` stops waiting (GenVR has no
    cancel endpoint, so the task itself runs on)."""

    def __init__(
        self,
        client: BaseClient,
        model: ModelInfo,
        task_id: str,
        status: str = "queued",
        submitted_at: float | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        super().__init__(model, task_id, status, submitted_at, idempotency_key)
        self._client = client
        self._cancelled = threading.Event()
        self._retry_after: float | None = None

    def __repr__(self) -> str:
        return self._describe("Job")

    def status(self) -> str:
        """Ask GenVR once; raise TaskFailedError if the task failed."""
        data = self._client._post("status", self._body(self._client._settings.uid), model=self.model.key, task_id=self.task_id)
        self._retry_after = data.pop("_retry_after", None)
        return self._note_status(data)

    def wait(self, timeout: float | None = None, *, on_update: StatusCallback | None = None) -> GenerationResult:
        """Poll until the task ends, then fetch its output. Raises WaitTimeoutError (with the task id) on timeout."""
        if self._result is not None:
            return self._result
        try:
            return self._wait(timeout, on_update)
        except WaitInterrupted:
            raise
        except KeyboardInterrupt:
            raise WaitInterrupted(self._pick_up_hint(), model=self.model.key, task_id=self.task_id) from None

    def _wait(self, timeout: float | None, on_update: StatusCallback | None) -> GenerationResult:
        settings = self._client._settings
        limit = settings.wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        interval = settings.poll.first
        while True:
            if self._cancelled.is_set():
                raise self._cancelled_error()
            status = self.status()
            if on_update is not None:
                on_update(status)
            if status in TERMINAL_STATUSES:
                return self._fetch_result()
            if time.monotonic() + interval > deadline:
                raise self._timeout_error(limit)
            if self._cancelled.wait(interval):
                raise self._cancelled_error()
            interval = settings.poll.next(interval, self._retry_after)

    def result(self, timeout: float | None = None) -> GenerationResult:
        """The output: waits first unless the task is already known to be completed."""
        if self._result is not None:
            return self._result
        if self.last_status != "completed":
            return self.wait(timeout)
        return self._fetch_result()

    def cancel(self) -> None:
        """Stop waiting: a blocked `wait()` raises WaitCancelledError promptly."""
        self._cancelled.set()

    def download(self, folder: str | Path) -> list[DownloadedFile]:
        return self._client.download(self.result(), folder)

    def _fetch_result(self) -> GenerationResult:
        settings = self._client._settings
        for attempt in range(settings.empty_output_retries + 1):
            data = self._client._post("response", self._body(settings.uid), model=self.model.key, task_id=self.task_id)
            data.pop("_retry_after", None)
            problem = self._output_problem(data)
            if problem is None:
                return self._finish(data)
            if problem.error is not None or attempt == settings.empty_output_retries:
                raise problem
            time.sleep(settings.poll.first)  # empty output right after `completed`: GenVR may still be writing it
        raise AssertionError("unreachable")


class BaseClient:
    """Synchronous GenVR client: `run(input)` blocks until the output is ready, `submit(input)` returns a Job.

    Keyword arguments (all optional):
        api_key: GenVR API key (default: GENVR_API_KEY). Never shown in reprs, logs or errors.
        uid: GenVR user id (default: GENVR_UID).
        base_url: API root (default: GENVR_BASE_URL, else GenVR's), e.g. a simulator's http://127.0.0.1:8765.
        api_version: "v2" (default) or "v1", the family of generate/status/response paths.
        timeout: seconds per HTTP request (120).
        wait_timeout: seconds `run()` / `Job.wait()` wait for a task before WaitTimeoutError (1800).
        poll_interval, max_poll_interval: first and largest pause between status checks, s (0.25, 2.0).
        http_client: your own httpx client (proxies, certificates); closed by `close()`.
        max_retries: retries of connection errors, 408, 429 and 5xx (2).
        file_mode: how local files given for file inputs travel: "upload" (GenVR's upload flow) or "data_uri".
        resend_ambiguous: resend a generate call whose outcome is unknown (may pay twice; default False).
        empty_output_retries: fetches again when a `completed` task has no output yet (2).
    """

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
        max_retries: int = 2,
        file_mode: FileMode = "upload",
        resend_ambiguous: bool = False,
        empty_output_retries: int = 2,
    ) -> None:
        self._settings = _Settings(
            api_key, uid, base_url, api_version, timeout, wait_timeout, poll_interval, max_poll_interval,
            max_retries, file_mode, resend_ambiguous, empty_output_retries,
        )
        self._http_client = http_client
        self._http_lock = threading.Lock()
        self._gate = Gate()

    @property
    def _http(self) -> httpx.Client:
        """The HTTP client, created with the first request (importing httpx costs more than the rest of a
        first call's set-up)."""
        if self._http_client is None:
            with self._http_lock:
                if self._http_client is None:
                    import httpx

                    self._http_client = httpx.Client(timeout=self._settings.timeout)
        return self._http_client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._settings!r}>"

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http_client is not None:
            self._http_client.close()

    def submit(self, params: GenVRInput | str, inputs: Mapping[str, Any] | None = None) -> Job:
        """Send the generate call and return at once with a Job handle.

        `params`: a generated input object, or a model key (`"imagegen/flux_dev"`) with `inputs` as a dict
        (validated by that model's input class before anything is sent)."""
        from genvr_runtime._http import send

        params = as_input(params, inputs)
        info = type(params).genvr_model
        body = self._with_files(generate_body(self._settings.uid, params), params)
        call = self._settings.call("generate", body, model=info.key)
        data = _generate_reply(call, send(self._http, call, self._settings.retry, self._gate))
        return Job(self, info, _task_id(data, info.key), str(data.get("status") or "queued"), time.time(), call.idempotency_key)

    def run(self, params: GenVRInput | str, inputs: Mapping[str, Any] | None = None, *,
            wait_timeout: float | None = None, on_update: StatusCallback | None = None) -> GenerationResult:
        """Submit and wait: `client.run("imagegen/flux_dev", {"prompt": "a cat"})` or `client.run(FluxDevInput(...))`.
        `on_update(status)` is called after each status check."""
        return self.submit(params, inputs).wait(wait_timeout, on_update=on_update)

    def job(self, model: ModelRef, task_id: str) -> Job:
        """Pick up a task submitted earlier (e.g. after a WaitTimeoutError) by its model and task id."""
        return Job(self, model_info(model), task_id, status="unknown")

    def upload(self, source: FileSource, *, category: str = "temp", file_name: str | None = None) -> str:
        """Upload a local file or bytes through GenVR's SAS flow and return the URL to pass as an input."""
        from genvr_runtime._http import send

        name, data = file_name_and_bytes(source)
        name = file_name or name
        reply = send(self._http, self._settings.sas_call(name, category), self._settings.retry, self._gate)
        url = parse_sas_reply(reply.status_code, json_or_none(reply))
        put = Call("PUT", url, label="upload PUT", content=data, headers=put_headers(guess_mime(name, data)))
        check_put(send(self._http, put, self._settings.retry))
        return url

    def download(self, result: GenerationResult, folder: str | Path) -> list[DownloadedFile]:
        """Save every output of `result` in `folder` as `<task_id>_<index>.<ext>` (temp file, then rename;
        transient failures retried with backoff; a body shorter than its Content-Length is never kept)."""
        return [
            download_sync(self._http, url, Path(folder) / output_filename(result.task_id, i, url),
                          model=result.model, task_id=result.task_id)
            for i, url in enumerate(result.output)
        ]

    def download_bytes(self, result: GenerationResult) -> list[bytes]:
        return [fetch_bytes_sync(self._http, url, model=result.model, task_id=result.task_id) for url in result.output]

    def batch(self, jobs: str | Path | Sequence[BatchItem], out: str | Path, **options: Any) -> BatchReport:
        """Run jobs through the batch endpoints; see `genvr_runtime._batch.runner.BatchOptions`.

        `jobs`: a JSONL file, or a list of input objects and/or dicts `{"model", "input", "custom_id"?}`, written
        to `<out>.jobs.jsonl` first (so the same call again resumes the same batch)."""
        from genvr_runtime._batch.runner import run_batch_sync

        return run_batch_sync(self._settings, jobs_file(jobs, Path(out)), Path(out), _batch_options(options))

    def _with_files(self, body: dict[str, Any], params: GenVRInput) -> dict[str, Any]:
        files = params.pending_files
        if not files:
            return body
        urls = {}
        for token, source in files.items():
            if self._settings.file_mode == "data_uri":
                name, data = file_name_and_bytes(source)
                urls[token] = data_uri(data, guess_mime(name, data))
            else:
                urls[token] = self.upload(source, category=type(params).genvr_model.category)
        return replace_placeholders(body, urls)

    def _send_json(self, call: Call) -> dict[str, Any]:
        from genvr_runtime._http import send

        response = send(self._http, call, self._settings.retry, self._gate)
        data = parse_envelope(response, model=call.model or "", task_id=call.task_id)
        data["_retry_after"] = parse_retry_after(response.headers)
        return data

    def _post(self, step: str, body: dict[str, Any], *, model: str, task_id: str | None = None) -> dict[str, Any]:
        return self._send_json(self._settings.call(step, body, model=model, task_id=task_id))


class AsyncJob(_JobState):
    """The async twin of Job."""

    def __init__(
        self,
        client: AsyncBaseClient,
        model: ModelInfo,
        task_id: str,
        status: str = "queued",
        submitted_at: float | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        import asyncio  # an async job is made inside a running event loop: asyncio is loaded already

        super().__init__(model, task_id, status, submitted_at, idempotency_key)
        self._client = client
        self._cancelled = asyncio.Event()
        self._retry_after: float | None = None

    def __repr__(self) -> str:
        return self._describe("AsyncJob")

    async def status(self) -> str:
        data = await self._client._post("status", self._body(self._client._settings.uid), model=self.model.key, task_id=self.task_id)
        self._retry_after = data.pop("_retry_after", None)
        return self._note_status(data)

    async def wait(self, timeout: float | None = None, *, on_update: StatusCallback | None = None) -> GenerationResult:
        import asyncio

        if self._result is not None:
            return self._result
        try:
            return await self._wait(timeout, on_update)
        except asyncio.CancelledError:
            log.warning("%s", self._pick_up_hint())  # a cancelled wait must stay a cancellation; say what it left
            raise

    async def _wait(self, timeout: float | None, on_update: StatusCallback | None) -> GenerationResult:
        import asyncio

        settings = self._client._settings
        limit = settings.wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        interval = settings.poll.first
        while True:
            if self._cancelled.is_set():
                raise self._cancelled_error()
            status = await self.status()
            if on_update is not None:
                on_update(status)
            if status in TERMINAL_STATUSES:
                return await self._fetch_result()
            if time.monotonic() + interval > deadline:
                raise self._timeout_error(limit)
            try:
                await asyncio.wait_for(self._cancelled.wait(), interval)
                raise self._cancelled_error()
            except asyncio.TimeoutError:
                pass
            interval = settings.poll.next(interval, self._retry_after)

    async def result(self, timeout: float | None = None) -> GenerationResult:
        if self._result is not None:
            return self._result
        if self.last_status != "completed":
            return await self.wait(timeout)
        return await self._fetch_result()

    def cancel(self) -> None:
        self._cancelled.set()

    async def download(self, folder: str | Path) -> list[DownloadedFile]:
        return await self._client.download(await self.result(), folder)

    async def _fetch_result(self) -> GenerationResult:
        import asyncio

        settings = self._client._settings
        for attempt in range(settings.empty_output_retries + 1):
            data = await self._client._post("response", self._body(settings.uid), model=self.model.key, task_id=self.task_id)
            data.pop("_retry_after", None)
            problem = self._output_problem(data)
            if problem is None:
                return self._finish(data)
            if problem.error is not None or attempt == settings.empty_output_retries:
                raise problem
            await asyncio.sleep(settings.poll.first)
        raise AssertionError("unreachable")


class AsyncBaseClient:
    """Asynchronous GenVR client; the same keyword arguments as `BaseClient` (`http_client`: an httpx.AsyncClient)."""

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
        max_retries: int = 2,
        file_mode: FileMode = "upload",
        resend_ambiguous: bool = False,
        empty_output_retries: int = 2,
    ) -> None:
        self._settings = _Settings(
            api_key, uid, base_url, api_version, timeout, wait_timeout, poll_interval, max_poll_interval,
            max_retries, file_mode, resend_ambiguous, empty_output_retries,
        )
        self._http_client = http_client
        self._gate = Gate()

    @property
    def _http(self) -> httpx.AsyncClient:
        """As `BaseClient._http` (no lock needed: one event loop runs the requests that create it)."""
        if self._http_client is None:
            import httpx

            self._http_client = httpx.AsyncClient(timeout=self._settings.timeout)
        return self._http_client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._settings!r}>"

    async def __aenter__(self) -> AsyncBaseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose()

    async def submit(self, params: GenVRInput | str, inputs: Mapping[str, Any] | None = None) -> AsyncJob:
        """As `BaseClient.submit`: an input object, or a model key with a dict of inputs."""
        from genvr_runtime._http import send_async

        params = as_input(params, inputs)
        info = type(params).genvr_model
        body = await self._with_files(generate_body(self._settings.uid, params), params)
        call = self._settings.call("generate", body, model=info.key)
        data = _generate_reply(call, await send_async(self._http, call, self._settings.retry, self._gate))
        return AsyncJob(self, info, _task_id(data, info.key), str(data.get("status") or "queued"), time.time(), call.idempotency_key)

    async def run(self, params: GenVRInput | str, inputs: Mapping[str, Any] | None = None, *,
                  wait_timeout: float | None = None, on_update: StatusCallback | None = None) -> GenerationResult:
        job = await self.submit(params, inputs)
        return await job.wait(wait_timeout, on_update=on_update)

    def job(self, model: ModelRef, task_id: str) -> AsyncJob:
        return AsyncJob(self, model_info(model), task_id, status="unknown")

    async def upload(self, source: FileSource, *, category: str = "temp", file_name: str | None = None) -> str:
        from genvr_runtime._http import send_async

        name, data = file_name_and_bytes(source)
        name = file_name or name
        reply = await send_async(self._http, self._settings.sas_call(name, category), self._settings.retry, self._gate)
        url = parse_sas_reply(reply.status_code, json_or_none(reply))
        put = Call("PUT", url, label="upload PUT", content=data, headers=put_headers(guess_mime(name, data)))
        check_put(await send_async(self._http, put, self._settings.retry))
        return url

    async def download(self, result: GenerationResult, folder: str | Path) -> list[DownloadedFile]:
        return [
            await download_async(self._http, url, Path(folder) / output_filename(result.task_id, i, url),
                                 model=result.model, task_id=result.task_id)
            for i, url in enumerate(result.output)
        ]

    async def download_bytes(self, result: GenerationResult) -> list[bytes]:
        return [await fetch_bytes_async(self._http, url, model=result.model, task_id=result.task_id) for url in result.output]

    async def batch(self, jobs: str | Path | Sequence[BatchItem], out: str | Path, **options: Any) -> BatchReport:
        from genvr_runtime._batch.runner import run_batch

        return await run_batch(self._settings, jobs_file(jobs, Path(out)), Path(out), _batch_options(options))

    async def _with_files(self, body: dict[str, Any], params: GenVRInput) -> dict[str, Any]:
        files = params.pending_files
        if not files:
            return body
        urls = {}
        for token, source in files.items():
            if self._settings.file_mode == "data_uri":
                name, data = file_name_and_bytes(source)
                urls[token] = data_uri(data, guess_mime(name, data))
            else:
                urls[token] = await self.upload(source, category=type(params).genvr_model.category)
        return replace_placeholders(body, urls)

    async def _send_json(self, call: Call) -> dict[str, Any]:
        from genvr_runtime._http import send_async

        response = await send_async(self._http, call, self._settings.retry, self._gate)
        data = parse_envelope(response, model=call.model or "", task_id=call.task_id)
        data["_retry_after"] = parse_retry_after(response.headers)
        return data

    async def _post(self, step: str, body: dict[str, Any], *, model: str, task_id: str | None = None) -> dict[str, Any]:
        return await self._send_json(self._settings.call(step, body, model=model, task_id=task_id))


def _generate_reply(call: Call, response: httpx.Response) -> dict[str, Any]:
    """`data` of a generate reply. An HTTP error or an explicit `success: false` raises its typed error (no task
    was created); a 2xx whose body cannot be read or carries no task id may stand for a created, billed task, so
    it raises AmbiguousSubmissionError (batch-anchors.md §4.2), which callers know not to resend blindly."""
    payload = json_or_none(response)
    explicit_refusal = isinstance(payload, dict) and payload.get("success") is False
    if response.status_code >= 400 or explicit_refusal:
        return parse_envelope(response, model=call.model or "", task_id=call.task_id)  # raises
    try:
        data = parse_envelope(response, model=call.model or "", task_id=call.task_id)
    except APIError:
        raise call.ambiguous(f"HTTP {response.status_code} with an unreadable reply") from None
    task_id = data.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise call.ambiguous(f"HTTP {response.status_code} without a task id")
    data["_retry_after"] = parse_retry_after(response.headers)
    return data


def _task_id(data: dict[str, Any], model: str) -> str:
    task_id = data.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise GenVRError(f"generate reply has no task id: {data!r}", model=model)
    return task_id


def _batch_options(options: dict[str, Any]) -> BatchOptions:
    from genvr_runtime._batch.runner import BatchOptions

    return BatchOptions(**options)
