"""The batch runner: validates a JSONL file, then drives every job through GenVR's batch endpoints.

One asyncio loop schedules three kinds of calls, each carrying at most BATCH_LIMIT items:
- generate-batch for pending jobs while fewer than `max_in_flight` tasks are in flight (intent journaled first);
- status-batch for in-flight tasks that are due (interval grows with each task's age);
- response-batch for tasks that reported `completed`.
Memory stays O(in-flight): pending jobs are paged from the journal, results are streamed from it at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from genvr_runtime._batch.jsonl import (
    InputResolver,
    JobLine,
    LineError,
    ValidationReport,
    checked_lines,
    default_resolver,
    iter_raw_lines,
    local_file_refs,
    parse_line,
    validate_file,
    write_jsonl_atomic,
)
from genvr_runtime._batch.journal import (
    Journal,
    JobRow,
    JournalMismatchError,
    default_journal_path,
    error_record,
    lock_file,
    result_rows,
    unlock_file,
)
from genvr_runtime._batch.progress import Counts, ProgressDisplay
from genvr_runtime._batch.stop import StopRequest
from genvr_runtime._errors import APIConnectionError, APIError, GenVRError, InputFileError
from genvr_runtime._calls import Call, Gate, RetryPolicy, parse_retry_after
from genvr_runtime._files import (
    DownloadError,
    check_put,
    download_async,
    guess_mime,
    output_filename,
    output_kind_warnings,
    parse_sas_reply,
    put_headers,
)
from genvr_runtime._http import NOT_SENT_ERRORS, describe_connection_error, send_async
from genvr_runtime._polling import BatchPollSchedule
from genvr_runtime._protocol import BATCH_LIMIT, BATCH_PATHS, DOCUMENTED_STATUSES, EXAMPLE_STATUSES, envelope_data, error_message, is_output_url, json_or_none, task_body
from genvr_runtime._redact import reply_json, reply_reason

if TYPE_CHECKING:
    from genvr_runtime._client import _Settings

log = logging.getLogger("genvr_runtime.batch")

EXIT_OK, EXIT_FAILURES, EXIT_INVALID, EXIT_UNKNOWN, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130
URL_REFRESHES = 2  # a refused download URL (expired signature) is replaced through /response this many times per run
ItemCallback = Callable[[dict[str, Any]], None]


@dataclass
class BatchOptions:
    """Everything a batch run can be told. Defaults follow GenVR's guidance; tests shrink the times."""

    journal: Path | None = None  # default: <out>.journal.db
    max_in_flight: int = 100  # tasks submitted and not finished; a multiple of BATCH_LIMIT wastes no slots
    max_concurrent_calls: int = 8
    poll: BatchPollSchedule = field(default_factory=BatchPollSchedule)
    max_wait: float = 3600.0  # per task; past it the task is `timed_out` (the next run polls it again)
    resubmit_unknown: bool = False
    retry_failed: bool = False  # resend jobs whose task failed on GenVR (the failed attempt kept in `previous`)
    skip_invalid: bool = False  # send the valid lines; the invalid ones become `invalid` result lines
    download_dir: Path | None = None
    dry_run: bool = False
    force: bool = False  # resume even though the input file changed (pending lines take the new payload)
    progress: bool | None = None  # None: a rich bar when stderr is a terminal
    on_item_done: ItemCallback | None = None
    on_progress: Callable[[Counts], None] | None = None
    resolver: InputResolver | None = None
    generate_timeout: float = 120.0  # long: a cut-off generate call is an ambiguous one
    read_timeout: float = 30.0
    max_retries: int = 5
    lost_after: int = 3  # "task not found" this many times in a row, and for `lost_after_seconds` → `lost`
    lost_after_seconds: float = 60.0  # (a rerun asks again: the server is the truth; lost jobs are never resubmitted)
    give_up_after: float = 60.0  # no answer from the server at all for this long → stop (resumable, exit 5)
    empty_output_retries: int = 2
    response_linger: float | None = None  # wait this long to fill a response call; default poll.base
    handle_signals: bool = False  # the CLI sets this: Ctrl-C stops submitting, a second Ctrl-C stops
    stop: StopRequest | None = None  # or pass your own and call `request()` (e.g. from another thread's signal)
    transport: httpx.AsyncBaseTransport | None = None  # tests
    download_retry: RetryPolicy | None = None  # per output file; default DOWNLOAD_RETRY (a few growing, jittered waits)


@dataclass
class BatchReport:
    jobs: int
    counts: dict[str, int]
    exit_code: int
    results_path: Path | None
    journal_path: Path | None
    validation: ValidationReport | None = None
    calls: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    aborted: str | None = None
    recovered: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


@dataclass
class _Task:
    line: int
    custom_id: str
    model: str
    task_id: str
    submitted: float  # monotonic
    state: str = "processing"
    next_poll: float = 0.0
    busy: bool = False
    not_found: int = 0  # consecutive "task not found" answers
    not_found_since: float | None = None
    empty_fetches: int = 0
    ready_at: float = 0.0  # completed: response due from
    fetch_since: float | None = None  # first response fetch (bounds a response that never comes)
    known_files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of files saved for THIS task
    url_refreshes: int = 0
    kind_refetched: bool = False
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def routing(self) -> tuple[str, str]:
        category, subcategory = self.model.split("/")
        return category, subcategory


def run_batch_sync(settings: _Settings, jobs: Path, out: Path, options: BatchOptions) -> BatchReport:
    return asyncio.run(run_batch(settings, jobs, out, options))


async def run_batch(settings: _Settings, jobs: Path, out: Path, options: BatchOptions) -> BatchReport:
    stop = options.stop or StopRequest()
    with stop.on_signals(options.handle_signals):  # from the very start: Ctrl-C while validating sends nothing
        return await _run_batch(settings, jobs, out, options, stop)


def _refuse_overwriting_input(jobs: Path, out: Path, journal: Path) -> None:
    source = jobs.resolve()
    for what, path in (("--out", out), ("--journal", journal)):
        if path.resolve() == source or (path.exists() and jobs.exists() and path.samefile(jobs)):
            raise GenVRError(f"{what} {path} is the input file {jobs}; writing it would destroy your jobs")


async def _run_batch(settings: _Settings, jobs: Path, out: Path, options: BatchOptions, stop: StopRequest) -> BatchReport:
    resolver = options.resolver or default_resolver
    journal_path = options.journal or default_journal_path(out)
    if not options.dry_run:
        _refuse_overwriting_input(jobs, out, journal_path)
    validation = validate_file(jobs, resolver, should_stop=lambda: stop.requested)
    if stop.requested:
        return BatchReport(validation.jobs, {}, EXIT_INTERRUPTED, None, None, validation, interrupted=True)
    if (not validation.ok and not options.skip_invalid) or options.dry_run:
        return BatchReport(
            validation.jobs, {}, EXIT_OK if validation.ok else EXIT_INVALID, None, None, validation=validation
        )
    # One runner per results file as well as per journal: two journals writing one results file would each
    # submit every job. The lock sits beside the real file (the results file itself is replaced by rename).
    out_lock = lock_file(Path(f"{out.resolve()}.lock"), f"results file {out}")
    try:
        with Journal(journal_path) as journal:
            _load_input(journal, jobs, validation, settings, options)
            recovered = journal.recover(resubmit_unknown=options.resubmit_unknown, retry_failed=options.retry_failed)
            uploads = await _upload_local_files(settings, journal, jobs.parent, resolver)
            runner = _Runner(settings, journal, options, stop)
            runner.base_dir, runner.uploads = jobs.parent, uploads
            try:
                await runner.run()
            finally:
                write_jsonl_atomic(out, result_rows(journal._db))
            counts = journal.counts()
    finally:
        unlock_file(out_lock)
    report = BatchReport(
        validation.jobs, counts, _exit_code(counts, runner), out, journal_path, validation, dict(runner.calls),
        runner.interrupted, runner.aborted, recovered,
    )
    return report


def _exit_code(counts: dict[str, int], runner: _Runner) -> int:
    if runner.aborted == "auth":
        return EXIT_AUTH
    if runner.aborted == "unreachable":
        return EXIT_UNREACHABLE
    if (runner.interrupted or counts["pending"] or counts["processing"] or counts["completed"] or counts["timed_out"]
            or counts["download_failed"]):
        return EXIT_INTERRUPTED if runner.interrupted else EXIT_FAILURES
    if counts["unknown"]:
        return EXIT_UNKNOWN
    if counts["failed"] or counts["rejected"] or counts["lost"] or counts["invalid"]:
        return EXIT_FAILURES
    return EXIT_OK


def _load_input(journal: Journal, path: Path, validation: ValidationReport, settings: _Settings, options: BatchOptions) -> None:
    """First run: copy every job into the journal. Resume: refuse a changed input unless `force`."""
    meta = journal.meta()
    if not meta:
        invalid: list[tuple[int, str, str, str, str, str]] = []
        if validation.ok:
            rows: Any = (
                (job.line, job.custom_id, job.model, json.dumps(job.input, ensure_ascii=False), job.payload_hash)
                for job in _jobs(path)
            )
        else:  # --skip-invalid: valid lines are jobs, the others are recorded as `invalid` (never sent)
            rows, invalid = _split_invalid(path, options.resolver or default_resolver)
        journal.load(rows, {
            "format": "1", "input_path": str(path.resolve()), "input_sha256": validation.input_sha256,
            "uid": settings.uid, "base_url": settings.base_url, "created_at": str(time.time()),
        }, invalid)
        return
    # Tasks live on one server under one user: polling them elsewhere would find none and mark them lost.
    for key, now in (("base_url", settings.base_url), ("uid", settings.uid)):
        if meta.get(key) not in (None, now) and not options.force:
            raise JournalMismatchError(
                f"this journal was started with {key} {meta[key]!r}, not {now!r}: its submitted tasks exist only "
                "there; resume with the same settings, or --force"
            )
    if meta.get("input_sha256") == validation.input_sha256:
        return
    new_jobs = {job.line: job for job in _jobs(path)}  # only on a changed file: rare, and then we must compare
    stored = {line: (digest, custom_id) for line, digest, custom_id in journal.fingerprints()}
    changed = sorted(
        line for line in set(new_jobs) | set(stored)
        if line not in new_jobs or stored.get(line) != (new_jobs[line].payload_hash, new_jobs[line].custom_id)
    )
    if not changed:
        return
    if not options.force:
        shown = ", ".join(map(str, changed[:20])) + (" …" if len(changed) > 20 else "")
        raise JournalMismatchError(
            f"the input file changed since this journal was started (lines {shown}); "
            "use a new --out/--journal, or --force to resume with the new content of unsubmitted lines"
        )
    upserts = [
        (line, job.custom_id, job.model, json.dumps(job.input, ensure_ascii=False), job.payload_hash)
        for line in changed if (job := new_jobs.get(line)) is not None
    ]
    kept = journal.apply_input_changes(upserts, [line for line in changed if line not in new_jobs],
                                       {"input_sha256": validation.input_sha256})["kept_as_sent"]
    if kept:
        log.warning("--force: line(s) %s changed after they were sent; they keep the job they were sent as",
                    ", ".join(map(str, kept[:20])))


def _split_invalid(path: Path, resolver: InputResolver) -> tuple[list[tuple[int, str, str, str, str]], list[tuple[int, str, str, str, str, str]]]:
    valid, invalid = [], []
    taken: set[str] = set()
    report = ValidationReport(0, [], 0, {}, "")
    for number, job, problems in checked_lines(path, resolver, report):
        if job is not None and not problems:
            valid.append((job.line, job.custom_id, job.model, json.dumps(job.input, ensure_ascii=False), job.payload_hash))
            taken.add(job.custom_id)
            continue
        custom_id = job.custom_id if job is not None and job.custom_id not in taken else f"line-{number}-invalid"
        taken.add(custom_id)
        error = error_record("invalid", "; ".join(str(p).split(": ", 1)[-1] if p.field is None else f"field {p.field!r}: {p.message}"
                                                  for p in problems))
        invalid.append((number, custom_id, job.model if job is not None else "", json.dumps(job.input if job else {}),
                        job.payload_hash if job else "", json.dumps(error)))
    return valid, invalid


async def _upload_local_files(settings: _Settings, journal: Journal, base_dir: Path, resolver: InputResolver) -> dict[str, str]:
    """Upload every local file (`{"path": ...}`) that jobs still to be sent name, once; the URL is recorded in
    the journal, so a resumed run reuses it (unless the file's content changed)."""
    needed: dict[str, str] = {}  # path → category to upload under
    classes: dict[str, Any] = {}
    for model, payload in journal.pending_payloads():
        if model not in classes:
            classes[model] = resolver(*model.split("/"))
        for _, path in local_file_refs(payload, classes[model].genvr_model.file_inputs):
            needed.setdefault(path, model.split("/")[0])
    known = journal.uploads()
    urls = {}
    if not needed:
        return {path: url for path, (_, url) in known.items()}
    async with httpx.AsyncClient(timeout=settings.timeout) as http:
        for path, category in needed.items():
            try:
                data = (base_dir / path).read_bytes()
            except OSError as exc:
                raise InputFileError(f"cannot read {path} (a file input of the jobs file): {exc.strerror or exc}",
                                     path=base_dir / path) from None
            digest = hashlib.sha256(data).hexdigest()
            if path in known and known[path][0] == digest:
                urls[path] = known[path][1]
                continue
            name = Path(path).name
            reply = await send_async(http, settings.sas_call(name, category), settings.retry, Gate())
            url = parse_sas_reply(reply.status_code, json_or_none(reply))
            put = Call("PUT", url, label="upload PUT", content=data, headers=put_headers(guess_mime(name, data)))
            check_put(await send_async(http, put, settings.retry))
            journal.record_upload(path, digest, url)
            urls[path] = url
    return urls


def _jobs(path: Path) -> Any:
    for number, text in iter_raw_lines(path):
        parsed = parse_line(number, text)
        if isinstance(parsed, JobLine):
            yield parsed


class _Runner:
    def __init__(self, settings: _Settings, journal: Journal, options: BatchOptions, stop: StopRequest) -> None:
        self.settings = settings
        self.journal = journal
        self.options = options
        self.stop = stop
        self.stop_event = asyncio.Event()  # set when no generate call may leave any more (Ctrl-C, 402, abort)
        self.hard_stop = False  # second Ctrl-C: calls on the wire are abandoned too (next run: `unknown`)
        self.chunk_size = BATCH_LIMIT  # halved after an ambiguous generate call: a lost reply costs fewer unknowns
        self.not_created_streak = 0  # generate calls in a row that provably created nothing (backoff exponent)
        self.unreachable_since: float | None = None  # first of a run of calls that got no HTTP answer at all
        self.unreachable_cause = ""
        self.retry_note: str | None = None
        self.connection_failures = 0  # in a row, across all calls
        self.poll = options.poll
        self.linger = options.poll.base if options.response_linger is None else options.response_linger
        self.validator_resolver = options.resolver or default_resolver
        self.max_cap = max(options.max_in_flight, 1)
        self.cap = self.max_cap
        self.pending: deque[JobRow] = deque()
        self.requeued: deque[JobRow] = deque()
        self.pending_cursor = 0
        self.pending_exhausted = False
        self.in_flight: dict[int, _Task] = {}
        self.submitting = 0
        self.running: set[asyncio.Future[None]] = set()
        self.submit_tasks: set[asyncio.Future[None]] = set()
        self.calls: dict[str, int] = {}
        self.gate_generate = Gate()
        self.gate_read = Gate()
        self.policy = RetryPolicy(max_retries=options.max_retries, initial_backoff=0.2, max_backoff=5.0)
        self.call_slots = asyncio.Semaphore(max(options.max_concurrent_calls, 1))
        self.stop_submitting = False
        self.stop_now = False
        self.interrupted = False
        self.aborted: str | None = None
        self.warned_statuses: set[str] = set()
        self.wake = asyncio.Event()
        self.counts = Counts.from_states(journal.counts())
        self.display = ProgressDisplay(options.progress, total=self.counts.total)
        self._validator: Any = None
        self.base_dir = Path(".")  # where `{"path": ...}` file inputs live, and their uploaded URLs
        self.uploads: dict[str, str] = {}
        self.crash: BaseException | None = None
        # Downloads share the connection pool (max_concurrent_calls + 4) with API calls: they never starve them.
        self.download_slots = asyncio.Semaphore(4)
        self.warned_foreign = False
        self.resume_cursor, self.resume_done = 0, False  # jobs whose outputs are still to be saved, paged in

    # -- main loop -------------------------------------------------------------------------------------------
    async def run(self) -> None:
        for row in self.journal.active():
            assert row.task_id is not None
            task = _Task(row.line, row.custom_id, row.model, row.task_id, time.monotonic(), state=row.state)
            task.next_poll = time.monotonic()
            task.ready_at = time.monotonic()
            self.in_flight[row.line] = task
        self._resume_downloads()
        loop = asyncio.get_running_loop()

        def schedule_stop() -> None:  # runs inside the signal handler: only hand the work to the loop
            loop.call_soon_threadsafe(self._on_stop)

        unlisten = self.stop.listen(schedule_stop)
        if self.stop.requested:
            self._on_stop()
        limits = httpx.Limits(max_connections=self.options.max_concurrent_calls + 4, max_keepalive_connections=self.options.max_concurrent_calls + 4)
        timeout = httpx.Timeout(self.options.read_timeout, connect=10.0)
        inner = self.options.transport or httpx.AsyncHTTPTransport(limits=limits)
        self.http = httpx.AsyncClient(timeout=timeout, limits=limits, transport=_Watched(inner, self),
                                      event_hooks={"request": [self._count_call]})
        self.display.start(self.counts)
        try:
            await self._loop()
        finally:
            # Let generate calls in flight finish and journal their outcome: cancelling them would turn a
            # known answer into an `unknown` job. Reads are safe to drop (the next run polls again).
            # Calls still waiting for a slot or a Retry-After never leave (they saw stop_event).
            self.stop_event.set()
            if self.submit_tasks and not self.hard_stop:
                await asyncio.gather(*self.submit_tasks, return_exceptions=True)
            for t in list(self.running):
                t.cancel()
            if self.running:
                await asyncio.gather(*self.running, return_exceptions=True)
            await self.http.aclose()
            unlisten()
            self.display.stop(self.counts)
        if self.crash is not None:
            raise self.crash  # a bug, not a GenVR failure: the journal is consistent, the traceback matters

    async def _loop(self) -> None:
        while not self.stop_now:
            now = time.monotonic()
            if self.unreachable_since is not None and now - self.unreachable_since >= self.options.give_up_after:
                self._abort("unreachable", f"cannot reach {self.settings.base_url}: {self.unreachable_cause} (no answer for "
                            f"{now - self.unreachable_since:.0f}s); nothing is lost: re-run the same command to resume")
                break
            self._launch_submits()
            self._launch_polls(now)
            self._launch_responses(now)
            if not self.running and not self.in_flight and (self.stop_submitting or self._no_pending()):
                break
            self.wake.clear()
            timeout = self._next_wakeup(time.monotonic())
            if self.running:
                await asyncio.wait(self.running | {asyncio.ensure_future(self.wake.wait())}, timeout=timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
            else:
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
            self.display.update(self.counts, self._note())
            if self.options.on_progress is not None:
                self.options.on_progress(self.counts)

    def _next_wakeup(self, now: float) -> float:
        candidates = [0.5]
        for task in self.in_flight.values():
            if task.busy:
                continue
            due = task.next_poll if task.state == "processing" else task.ready_at + self.linger
            candidates.append(due - now)
        if self.gate_generate.remaining() > 0:
            candidates.append(self.gate_generate.remaining())
        return max(min(candidates), 0.005)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(coro)
        self.running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[None]) -> None:
        self.running.discard(task)
        self.submit_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.crash = self.crash or task.exception()
            self.aborted = self.aborted or "internal error"
            self.stop_now = True
        self.wake.set()

    async def _count_call(self, request: httpx.Request) -> None:
        path = request.url.path
        key = path if path in BATCH_PATHS.values() else "download"
        self.calls[key] = self.calls.get(key, 0) + 1

    # -- submitting ------------------------------------------------------------------------------------------
    def _no_pending(self) -> bool:
        if self.pending or self.requeued:
            return False
        self._refill()
        return not self.pending

    def _refill(self) -> None:
        if self.pending_exhausted or len(self.pending) >= BATCH_LIMIT * 4:
            return
        rows = self.journal.pending_after(self.pending_cursor, 500)
        if not rows:
            self.pending_exhausted = True
            return
        self.pending.extend(rows)
        self.pending_cursor = rows[-1].line

    def _launch_submits(self) -> None:
        while not self.stop_submitting and self.gate_generate.remaining() == 0:
            free = self.cap - len(self.in_flight) - self.submitting
            if free <= 0:
                return
            self._refill()
            available = len(self.pending) + len(self.requeued)
            if available == 0:
                return
            size = min(self.chunk_size, free, available)
            more_coming = available > size or not self.pending_exhausted
            # A part-filled chunk wastes a call; wait for slots unless nothing else is running.
            if size < self.chunk_size and more_coming and free < self.chunk_size and (self.in_flight or self.submitting):
                return
            chunk = [self.requeued.popleft() if self.requeued else self.pending.popleft() for _ in range(size)]
            self.submitting += len(chunk)
            self.submit_tasks.add(self._spawn(self._submit(chunk)))

    async def _submit(self, rows: list[JobRow]) -> None:
        try:
            await self._submit_chunk(rows)
        finally:
            self.submitting -= len(rows)

    async def _submit_chunk(self, rows: list[JobRow]) -> None:
        bodies: dict[int, dict[str, Any]] = {}
        rejected: dict[int, dict[str, Any]] = {}
        for row in rows:
            try:
                bodies[row.line] = self._body(row)
            except (GenVRError, ValueError) as exc:  # input no longer valid (e.g. --force with a new payload)
                rejected[row.line] = error_record("invalid_input", str(exc))
        if rejected:
            self.journal.record_submission({}, rejected, {}, [])
            self._finished_many([(r, "rejected", None, None, rejected[r.line]) for r in rows if r.line in rejected], from_state="pending")
        valid = [r for r in rows if r.line in bodies]
        if not valid:
            return
        if not await self._wait_to_send():  # Ctrl-C (or a stop) while waiting: this call never leaves
            self.requeued.extend(valid)
            return
        try:
            await self._send_chunk(valid, bodies)
        finally:
            self.call_slots.release()

    async def _wait_to_send(self) -> bool:
        """Wait out a Retry-After pause and for a call slot; False when submitting stopped meanwhile."""
        while True:
            pause = self.gate_generate.remaining()
            if pause > 0 and not await self._sleep(pause):
                return False
            if not await self._acquire_slot():
                return False
            if self.gate_generate.remaining() == 0:
                return True
            self.call_slots.release()  # a 429 arrived while we queued for the slot: wait it out first

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless submitting stops first; True when it is still fine to send."""
        try:
            await asyncio.wait_for(self.stop_event.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        return not self.stop_event.is_set()

    async def _acquire_slot(self) -> bool:
        acquire = asyncio.ensure_future(self.call_slots.acquire())
        stopped = asyncio.ensure_future(self.stop_event.wait())
        try:
            await asyncio.wait({acquire, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not acquire.done():
                acquire.cancel()
        got = acquire.done() and not acquire.cancelled()
        if got and self.stop_event.is_set():
            self.call_slots.release()
            return False
        return got

    async def _send_chunk(self, rows: list[JobRow], bodies: dict[int, dict[str, Any]]) -> None:
        chunk_id = uuid.uuid4().hex
        key = f"genvr-batch-{chunk_id}"
        # fsync'd before the call: a crash from here on is detectable. Compare-and-set: only jobs still pending.
        marked = set(self.journal.mark_intent([r.line for r in rows], chunk_id, key))
        if len(marked) < len(rows):
            log.warning("line(s) %s were no longer pending in the journal; not sent again",
                        ", ".join(str(r.line) for r in rows if r.line not in marked))
            rows = [r for r in rows if r.line in marked]
            if not rows:
                return
        self.counts.move("pending", "submitting", len(rows))
        call = Call(
            "POST", self.settings.base_url + BATCH_PATHS["generate"], label="generate-batch", kind="create",
            json={"requests": [bodies[r.line] for r in rows]}, headers=self.settings.headers,
            timeout=self.options.generate_timeout, idempotency_key=key,
        )
        # One attempt, never retried inside: whatever provably created nothing goes back to `pending` in the
        # journal before any wait, so neither Ctrl-C nor kill -9 during a backoff can make it `unknown`.
        try:
            response = await self.http.request(call.method, call.url, **call.kwargs())
        except httpx.HTTPError as exc:
            if isinstance(exc, NOT_SENT_ERRORS):
                self._not_created(rows, None)
            else:
                self._ambiguous(rows, call.ambiguous(describe_connection_error(exc)).message)
            return
        self._handle_generate_reply(rows, response)

    def _not_created(self, rows: list[JobRow], retry_after: float | None) -> None:
        """The generate call created nothing: the jobs are pending again, and every submitter waits a while."""
        delay = self.policy.backoff(self.not_created_streak, retry_after)
        self.not_created_streak += 1
        self.gate_generate.pause(delay)
        self._record_outcome(rows, {}, {}, {}, [r.line for r in rows])

    def _ambiguous(self, rows: list[JobRow], message: str, http_status: int | None = None) -> None:
        # The tasks may exist: never resend blindly. Smaller chunks for a while, so one more lost reply costs
        # fewer unknown jobs (the price: more generate calls until clean chunks double the size back).
        self.chunk_size = max(1, self.chunk_size // 2)
        err = error_record("unknown", message, http_status)
        self._record_outcome(rows, {}, {}, {r.line: err for r in rows}, [])

    def _handle_generate_reply(self, rows: list[JobRow], response: httpx.Response) -> None:
        status = response.status_code
        retry_after = parse_retry_after(response.headers)
        if status == 429 or status == 408 or (status == 503 and retry_after is not None):
            if status == 429:
                self.gate_generate.rate_limited += 1
                self._on_rate_limited()
            self._not_created(rows, retry_after)
            return
        self.not_created_streak = 0
        if status in (401, 403):
            self._abort("auth", f"generate-batch answered HTTP {status}: {self._message(response)}")
            self._record_outcome(rows, {}, {}, {}, [r.line for r in rows])
            return
        if status == 402:
            log.error("generate-batch: HTTP 402 (%s); no more submissions this run", self._message(response))
            self._halt_submissions()
            self._record_outcome(rows, {}, {}, {}, [r.line for r in rows])
            return
        if status >= 500:
            self._ambiguous(rows, f"generate-batch: sent, but the outcome is unknown (HTTP {status}); the tasks may "
                            "exist and are not resent", status)
            return
        if status >= 400:
            err = error_record("rejected", self._message(response), status)
            self._record_outcome(rows, {}, {r.line: err for r in rows}, {}, [])
            return
        try:
            payload = reply_json(response)
            data = envelope_data(payload, model=None)
            results = data["results"]
            if not isinstance(results, list):
                raise ValueError("results is not a list")
        except (ValueError, KeyError, APIError) as exc:
            # The server probably created the tasks; we cannot tell which: never resend blindly.
            self._ambiguous(rows, f"generate-batch reply unreadable ({type(exc).__name__}); tasks may exist")
            return
        by_index: dict[int, list[dict[str, Any]]] = {}
        for item in results:
            if isinstance(item, dict) and isinstance(item.get("index"), int):
                by_index.setdefault(item["index"], []).append(item)
        submitted: dict[int, str] = {}
        rejected: dict[int, dict[str, Any]] = {}
        unknown: dict[int, dict[str, Any]] = {}
        requeue: list[int] = []
        for index, row in enumerate(rows):
            items = by_index.get(index, [])
            if len(items) != 1:
                why = "missing from" if not items else "duplicated in"
                unknown[row.line] = error_record("unknown", f"item {index} {why} the generate-batch reply; the task may exist")
                continue
            item = items[0]
            raw_status = item.get("status")
            item_status: int = raw_status if isinstance(raw_status, int) else 200
            body = item.get("body")
            if item_status == 429:
                requeue.append(row.line)
            elif item_status >= 500:
                unknown[row.line] = error_record("unknown", f"sub-call answered {item_status}: {error_message(body) or 'no message'}", item_status)
            elif item_status >= 400 or (isinstance(body, dict) and body.get("success") is False):
                rejected[row.line] = error_record("rejected", error_message(body) or f"sub-call answered {item_status}", item_status)
            else:
                try:
                    task_id = envelope_data(body, model=row.model).get("id")
                except APIError:
                    task_id = None
                if isinstance(task_id, str) and task_id:
                    submitted[row.line] = task_id
                else:
                    unknown[row.line] = error_record("unknown", "sub-call succeeded without a task id")
        if requeue:
            self._on_rate_limited()
        if unknown:
            self.chunk_size = max(1, self.chunk_size // 2)
        elif not rejected and not requeue:
            self.cap = min(self.cap + BATCH_LIMIT, self.max_cap)  # additive increase after a clean chunk
            self.chunk_size = min(self.chunk_size * 2, BATCH_LIMIT)
        self._record_outcome(rows, submitted, rejected, unknown, requeue)

    def _record_outcome(
        self,
        rows: list[JobRow],
        submitted: dict[int, str],
        rejected: dict[int, dict[str, Any]],
        unknown: dict[int, dict[str, Any]],
        requeue: list[int],
    ) -> None:
        self.journal.record_submission(submitted, rejected, unknown, requeue)  # committed before anything else
        now = time.monotonic()
        by_line = {r.line: r for r in rows}
        for line, task_id in submitted.items():
            row = by_line[line]
            self.in_flight[line] = _Task(line, row.custom_id, row.model, task_id, now, next_poll=now + self.poll.first_delay())
        self.counts.move("submitting", "processing", len(submitted))
        for line in requeue:
            self.requeued.append(by_line[line])
        self.counts.move("submitting", "pending", len(requeue))
        done = [(by_line[l], "rejected", None, None, e) for l, e in rejected.items()]
        done += [(by_line[l], "unknown", None, None, e) for l, e in unknown.items()]
        self._finished_many(done, from_state="submitting")

    def _on_rate_limited(self) -> None:
        # Multiplicative decrease, never below one chunk; recovers by +1 chunk per clean generate call.
        self.cap = max(BATCH_LIMIT, self.cap // 2) if self.max_cap >= BATCH_LIMIT else self.max_cap

    def _body(self, row: JobRow) -> dict[str, Any]:
        from genvr_runtime._batch.jsonl import InputValidator

        if self._validator is None:
            self._validator = InputValidator(self.validator_resolver, base_dir=self.base_dir, uploads=self.uploads)
        job = JobLine(row.line, row.custom_id, row.model, row.payload, row.payload_hash)
        body: dict[str, Any] = self._validator.body(job, self.settings.uid)
        return body

    # -- polling ---------------------------------------------------------------------------------------------
    def _launch_polls(self, now: float) -> None:
        idle = [t for t in self.in_flight.values() if t.state == "processing" and not t.busy]
        due = sorted((t for t in idle if t.next_poll <= now), key=lambda t: t.next_poll)
        if not due:
            return
        # Fill the last call's spare slots with the tasks due soonest: free items, fewer calls later.
        spare = (-len(due)) % BATCH_LIMIT
        if spare:
            later = sorted((t for t in idle if t.next_poll > now), key=lambda t: t.next_poll)
            due += [t for t in later[:spare] if t.next_poll - now <= self.poll.base]
        for start in range(0, len(due), BATCH_LIMIT):
            group = due[start:start + BATCH_LIMIT]
            for t in group:
                t.busy = True
            self._spawn(self._poll(group))

    async def _poll(self, group: list[_Task]) -> None:
        try:
            items = await self._read_batch("status", group)
            now = time.monotonic()
            completed: list[_Task] = []
            finished: list[tuple[_Task, str, Any, Any, dict[str, Any] | None]] = []
            for task, item in zip(group, items):
                task.next_poll = now + self.poll.interval(now - task.submitted)
                seen = "without a usable status reply"
                if item is not None:
                    status_code, body = item
                    if self._not_found(status_code, body):
                        if self._gone(task, now):
                            finished.append((task, "lost", None, None, self._lost_error(task, status_code)))
                            continue
                    elif status_code < 400:
                        task.not_found, task.not_found_since = 0, None  # the server knows it: evidence resets
                        try:
                            data = envelope_data(body, model=task.model, task_id=task.task_id)
                        except APIError:
                            data = None
                        if data is not None:
                            status = str(data.get("status") or "unknown")
                            self._note_status(status, task)
                            if status == "failed":
                                message = str(data.get("error") or data.get("message") or "task failed (no message)")
                                finished.append((task, "failed", None, None, error_record("task_failed", message)))
                                continue
                            if status == "completed":
                                completed.append(task)
                                continue
                            seen = repr(status)
                # Still running, or every status reply failed: either way the wait is bounded (resumable).
                if now - task.submitted > self.options.max_wait:
                    finished.append((task, "timed_out", None, None, error_record("timed_out", f"still {seen} after {self.options.max_wait:g}s; resumable")))
            if completed:
                self.journal.mark_completed([t.line for t in completed])
                for t in completed:
                    t.state, t.ready_at = "completed", now
                self.counts.move("processing", "completed", len(completed))
            self._finish_tasks(finished)
        finally:
            for t in group:
                t.busy = False

    def _note_status(self, status: str, task: _Task) -> None:
        if status not in DOCUMENTED_STATUSES and status not in self.warned_statuses:
            self.warned_statuses.add(status)
            log.log(logging.INFO if status in EXAMPLE_STATUSES else logging.WARNING,"GenVR reports undocumented status %r (first seen on %s, task %s); treating it as running",
                        status, task.custom_id, task.task_id)

    def _gone(self, task: _Task, now: float) -> bool:
        """One more "not found": lost only after `lost_after` of them in a row spanning `lost_after_seconds`."""
        task.not_found += 1
        if task.not_found_since is None:
            task.not_found_since = now
        return task.not_found >= self.options.lost_after and now - task.not_found_since >= self.options.lost_after_seconds

    def _lost_error(self, task: _Task, status_code: int) -> dict[str, Any]:
        span = time.monotonic() - (task.not_found_since or time.monotonic())
        return error_record("lost", f"GenVR answered 'task not found' {task.not_found} times in a row over {span:.0f}s; "
                            "a re-run asks again", status_code)

    @staticmethod
    def _not_found(status_code: int, body: Any) -> bool:
        if status_code == 404:
            return True
        message = (error_message(body) or "").lower()
        return status_code >= 400 and "not found" in message

    async def _read_batch(self, step: str, group: list[_Task]) -> list[tuple[int, Any] | None]:
        """Per-item (HTTP status, body) of a status/response batch call, or None where nothing usable came."""
        bodies = [task_body(self.settings.uid, t.task_id, *t.routing) for t in group]
        call = Call("POST", self.settings.base_url + BATCH_PATHS[step], label=f"{step}-batch", json={"requests": bodies},
                    headers=self.settings.headers)
        try:
            response = await send_async(self.http, call, self.policy, self.gate_read, self.call_slots, self._on_retry)
        except APIConnectionError:
            return [None] * len(group)
        if response.status_code in (401, 403):
            self._abort("auth", f"{step}-batch answered HTTP {response.status_code}")
            return [None] * len(group)
        if response.status_code >= 400:
            return [None] * len(group)
        try:
            results = envelope_data(reply_json(response), model=None)["results"]
        except (ValueError, KeyError, APIError, TypeError):
            return [None] * len(group)
        # An item naming a task id belongs to that task, whatever its index; only items naming none go by index.
        wanted = {t.task_id for t in group}
        by_id: dict[str, list[Any]] = {}
        by_index: dict[int, list[Any]] = {}
        for item in results if isinstance(results, list) else []:
            if not isinstance(item, dict):
                continue
            named = _item_task_id(item.get("body"))
            if named is not None:
                if named in wanted:
                    by_id.setdefault(named, []).append(item)
                else:
                    self._note_foreign(step, f"an item for task {named!r}, which was not asked for")
            elif isinstance(item.get("index"), int):
                if 0 <= item["index"] < len(group):
                    by_index.setdefault(item["index"], []).append(item)
                else:
                    self._note_foreign(step, f"an item with index {item['index']} (only {len(group)} were asked)")
        out: list[tuple[int, Any] | None] = []
        for index, task in enumerate(group):
            items = by_id.get(task.task_id) or by_index.get(index, [])
            if len(items) > 1 and all(i == items[0] for i in items[1:]):
                items = items[:1]  # the same item twice says nothing new
            if len(items) != 1:
                out.append(None)  # missing or duplicated: ask again later rather than guess
                continue
            status = items[0].get("status")
            out.append((status if isinstance(status, int) else 200, items[0].get("body")))
        return out

    def _note_foreign(self, step: str, what: str) -> None:
        # Never applied to any job (the tasks concerned are simply asked again); loud once, quiet after.
        level = logging.DEBUG if self.warned_foreign else logging.WARNING
        self.warned_foreign = True
        log.log(level, "%s-batch reply carries %s; ignored (the tasks asked for are asked again)", step, what)

    # -- responses -------------------------------------------------------------------------------------------
    def _launch_responses(self, now: float) -> None:
        ready = sorted((t for t in self.in_flight.values() if t.state == "completed" and not t.busy and t.ready_at <= now),
                       key=lambda t: t.ready_at)
        if not ready:
            return
        quiet = not any(t.state == "processing" for t in self.in_flight.values())
        for start in range(0, len(ready), BATCH_LIMIT):
            group = ready[start:start + BATCH_LIMIT]
            # Linger to fill a call, unless the oldest has waited long enough or nothing else will come soon.
            if len(group) < BATCH_LIMIT and not quiet and now - group[0].ready_at < self.linger:
                return
            for t in group:
                t.busy = True
            self._spawn(self._fetch(group))

    async def _fetch(self, group: list[_Task]) -> None:
        try:
            items = await self._read_batch("response", group)
            finished: list[tuple[_Task, str, Any, Any, dict[str, Any] | None]] = []
            not_done: list[_Task] = []
            downloads: list[tuple[_Task, list[str]]] = []
            now = time.monotonic()
            for task, item in zip(group, items):
                if task.fetch_since is None:
                    task.fetch_since = now
                retry_fetch = item is None
                if item is not None:
                    status_code, body = item
                    if self._not_found(status_code, body):
                        if self._gone(task, now):
                            finished.append((task, "lost", None, None, self._lost_error(task, status_code)))
                            continue
                        retry_fetch = True
                    elif status_code >= 400:
                        retry_fetch = True
                if not retry_fetch:
                    task.not_found, task.not_found_since = 0, None
                if retry_fetch:
                    if now - task.fetch_since > self.options.max_wait:  # the response never came: bounded, resumable
                        finished.append((task, "timed_out", None, None, error_record(
                            "timed_out", f"completed, but no usable response after {self.options.max_wait:g}s; resumable")))
                    else:
                        task.ready_at = now + self.poll.base
                    continue
                try:
                    data = envelope_data(body, model=task.model, task_id=task.task_id)
                except APIError as exc:
                    finished.append((task, "failed", None, None, error_record("task_failed", exc.message)))
                    continue
                output = data.get("output")
                status = data.get("status")
                if status == "failed" or data.get("error"):
                    finished.append((task, "failed", None, None, error_record("task_failed", str(data.get("error") or "task failed"))))
                elif isinstance(status, str) and status != "completed":
                    not_done.append(task)  # processing/queued/...: not an empty output, the task is not done yet
                elif not isinstance(output, list) or not output:
                    task.empty_fetches += 1
                    if task.empty_fetches > self.options.empty_output_retries:
                        finished.append((task, "failed", [], None, error_record("no_output", "task completed with an empty output")))
                    else:
                        task.ready_at = now + self.poll.base  # GenVR may still be writing the output
                elif not all(is_output_url(u) for u in output):
                    bad = next(str(u) for u in output if not is_output_url(u))
                    finished.append((task, "failed", [str(u) for u in output], None, error_record("output_error", bad[:500])))
                else:
                    urls = [str(u) for u in output]
                    task.warnings = output_kind_warnings(task.model, urls)
                    if task.warnings and not task.kind_refetched:
                        # Most likely another task's item (a response carries no task id): ask once more first.
                        task.kind_refetched = True
                        task.ready_at = now + self.poll.base
                        continue
                    downloads.append((task, urls))
            self._back_to_polling(not_done, now)
            self._finish_tasks(finished)  # journaled before the downloads, which may take a while
            if downloads:
                saved = await asyncio.gather(*(self._download(t, urls) for t, urls in downloads))
                downloaded = []
                for (task, urls), (files, error, refresh) in zip(downloads, saved):
                    if refresh:
                        task.ready_at = time.monotonic()  # fresh URLs through /response, then download again
                    else:
                        downloaded.append((task, "succeeded" if error is None else "download_failed", urls, files, error))
                self._finish_tasks(downloaded)
        finally:
            for t in group:
                t.busy = False

    def _back_to_polling(self, tasks: list[_Task], now: float) -> None:
        if not tasks:
            return
        self.journal.mark_processing([t.line for t in tasks])
        for t in tasks:
            t.state, t.fetch_since = "processing", None
            t.next_poll = now + self.poll.interval(now - t.submitted)
        self.counts.move("completed", "processing", len(tasks))

    def _resume_downloads(self) -> None:
        """Jobs whose task completed but whose outputs are not saved: `download_failed` ones and, with a download
        folder, succeeded ones without files. Their URLs may have expired: fetch fresh ones, then download.
        Paged in as room frees up (at most max_in_flight tasks in memory, like submissions)."""
        room = self.max_cap - len(self.in_flight)
        if self.resume_done or room < min(BATCH_LIMIT, self.max_cap):
            return
        rows = self.journal.downloads_to_resume(with_succeeded=self.options.download_dir is not None,
                                                after_line=self.resume_cursor, limit=room)
        self.resume_done = len(rows) < room
        if not rows:
            return
        self.resume_cursor = rows[-1][0].line
        self.journal.mark_completed([row.line for row, _ in rows])
        now = time.monotonic()
        for row, files in rows:
            assert row.task_id is not None
            task = _Task(row.line, row.custom_id, row.model, row.task_id, now, state="completed", ready_at=now)
            task.known_files = {str(f["path"]): str(f["sha256"]) for f in files if isinstance(f, dict) and "path" in f and "sha256" in f}
            self.in_flight[row.line] = task
            self.counts.move(row.state, "completed", 1)

    async def _download(self, task: _Task, urls: list[str]) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None, bool]:
        """(files saved, error, refresh): `refresh` when a URL was refused and fresh ones from /response may work.
        A file already on disk is kept only if this task saved it (journal: path + sha256); else it is replaced."""
        if self.options.download_dir is None:
            return None, None, False
        files: list[dict[str, Any]] = []
        for i, url in enumerate(urls):
            dest = self.options.download_dir / output_filename(task.custom_id, i, url)
            try:
                async with self.download_slots:
                    saved = await download_async(
                        self.http, url, dest, policy=self.options.download_retry, trust_existing=False,
                        known_sha256=task.known_files.get(str(dest)), model=task.model, task_id=task.task_id,
                    )
            except DownloadError as exc:
                if exc.url_refused and task.url_refreshes < URL_REFRESHES:
                    task.url_refreshes += 1
                    log.info("output %d of %s answered HTTP %s; fetching fresh URLs", i, task.custom_id, exc.status_code)
                    return files, None, True
                return files, error_record("download_failed", exc.message, exc.status_code), False
            task.known_files[str(saved.path)] = saved.sha256
            files.append(saved.as_dict())
        return files, None, False

    # -- ends ------------------------------------------------------------------------------------------------
    def _finish_tasks(self, finished: list[tuple[_Task, str, Any, Any, dict[str, Any] | None]]) -> None:
        if not finished:
            return
        # Warnings describe the outputs kept; a job that ends without them has none.
        noted = {t.line: t.warnings for t, state, *_ in finished if t.warnings and state in ("succeeded", "download_failed")}
        self.journal.finish([(t.line, state, out, files, err) for t, state, out, files, err in finished], noted)
        for t, state, out, files, err in finished:
            self.in_flight.pop(t.line, None)
            self.counts.move(t.state, state, 1)
            self._item_done(t.line, t.custom_id, t.model, state, t.task_id, out, files, err, noted.get(t.line))
        self._resume_downloads()  # room freed: page in more outputs to save, if any

    def _finished_many(self, done: Sequence[tuple[JobRow, str, Any, Any, dict[str, Any] | None]], *, from_state: str) -> None:
        for row, state, out, files, err in done:
            self.counts.move(from_state, state, 1)
            self._item_done(row.line, row.custom_id, row.model, state, None, out, files, err)

    def _item_done(self, line: int, custom_id: str, model: str, state: str, task_id: str | None, out: Any, files: Any,
                   err: dict[str, Any] | None, warnings: list[dict[str, Any]] | None = None) -> None:
        if self.options.on_item_done is None:
            return
        item = {"line": line, "custom_id": custom_id, "model": model, "status": state,
                "task_id": task_id, "output": out or [], "files": files or [], "error": err}
        if warnings:
            item["warnings"] = warnings
        self.options.on_item_done(item)

    def _abort(self, reason: str, message: str) -> None:
        if self.aborted is None:
            log.error("stopping the batch: %s", message)
        self.aborted = reason
        self._halt_submissions()
        self.stop_now = True

    def _halt_submissions(self) -> None:
        self.stop_submitting = True
        self.stop_event.set()  # wakes submitters waiting for a slot or a Retry-After: they send nothing
        self.wake.set()

    # -- is the server there at all? ----------------------------------------------------------------------
    def _connection_failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.unreachable_cause = describe_connection_error(exc)
        self.connection_failures += 1
        if self.unreachable_since is None:
            self.unreachable_since = now
            log.warning("cannot reach %s (%s); retrying for up to %gs", self.settings.base_url,
                        self.unreachable_cause, self.options.give_up_after)

    def _connection_ok(self) -> None:
        if self.unreachable_since is not None:
            log.warning("reached %s again", self.settings.base_url)
        self.unreachable_since = None
        self.connection_failures = 0
        self.retry_note = None

    def _on_retry(self, call: Call, attempt: int, delay: float, why: str) -> None:
        self.retry_note = f"{call.label}: {why}; retrying (attempt {attempt}, next in {delay:.1f}s)"

    def _note(self) -> str | None:
        if self.unreachable_since is not None:
            waited = time.monotonic() - self.unreachable_since
            return (f"cannot reach {self.settings.base_url} ({self.unreachable_cause}) for {waited:.0f}s; retrying "
                    f"(attempt {self.connection_failures + 1}, next in {self.gate_generate.remaining():.1f}s; "
                    f"giving up after {self.options.give_up_after:g}s)")
        if self.gate_generate.remaining() > 1:
            return f"submissions paused {self.gate_generate.remaining():.0f}s (rate limit)"
        return self.retry_note

    @staticmethod
    def _message(response: httpx.Response) -> str:
        try:
            payload = reply_json(response)
        except ValueError:
            payload = None
        return error_message(payload) or reply_reason(response) or f"HTTP {response.status_code}"

    # -- Ctrl-C ----------------------------------------------------------------------------------------------
    def _on_stop(self) -> None:
        """Runs on the loop after each Ctrl-C (`StopRequest` schedules it from the signal handler)."""
        if self.stop.count > 1:
            if not self.hard_stop:
                log.warning("stopping now; re-run the same command to resume")
            self.hard_stop = self.stop_now = True
            for t in list(self.submit_tasks):
                t.cancel()  # on the wire: the journal keeps them `submitting`, the next run reports them
        elif not self.interrupted:
            log.warning("interrupted: nothing more is sent; collecting tasks already paid for (Ctrl-C again to stop now)")
        self.interrupted = True
        self._halt_submissions()


class _Watched(httpx.AsyncBaseTransport):
    """Tells the runner whether the server answers at all: any HTTP response, or a transport failure."""

    def __init__(self, inner: httpx.AsyncBaseTransport, runner: _Runner) -> None:
        self.inner = inner
        self.runner = runner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        api = str(request.url).startswith(self.runner.settings.base_url)  # not output files on another host
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            if api:
                self.runner._connection_failed(exc)
            raise
        if api:
            self.runner._connection_ok()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _item_task_id(body: Any) -> str | None:
    """The task id a status/response item names (`body.data.id`, or a top-level `taskId`/`id`), if any."""
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    for source, key in ((data, "id"), (data, "taskId"), (body, "taskId"), (body, "id")):
        if isinstance(source, dict) and isinstance(source.get(key), str) and source[key]:
            return str(source[key])
    return None


def estimate_calls(jobs: int) -> dict[str, int]:
    """The physical minimum of HTTP calls for `jobs` jobs (batch-anchors.md §3): generate + status + response."""
    chunks = math.ceil(jobs / BATCH_LIMIT)
    return {"generate-batch": chunks, "status-batch (at least)": chunks, "response-batch": chunks}


__all__ = ["BatchOptions", "BatchReport", "run_batch", "run_batch_sync", "estimate_calls", "LineError"]
