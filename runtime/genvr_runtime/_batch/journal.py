"""The batch journal: one SQLite file (WAL, synchronous=FULL) that survives kill -9 at any point.

Tables:
- `meta(key, value)`: format version, input path and sha256, uid, api base URL (never the key).
- `jobs(line, custom_id, model, payload, payload_hash, state, task_id, chunk_id, idempotency_key, attempts,
  submitted_at, finished_at, output, files, error, previous)`: one row per input job, the current state.
- `events(seq, at, line, kind, detail)`: append-only history (intent, submitted, rejected, unknown, …).

Protocol (batch-anchors.md §4.3): the intent to submit a chunk (`state = 'submitting'`, chunk id, idempotency
key) is committed — fsync'd — BEFORE the generate call; its outcome (task ids, rejections, unknowns) is
committed right after the reply is parsed. A row still `submitting` when a run starts was sent by a run that
died mid-call: it becomes `unknown` and is never resent unless the user asks for it.

States: pending → submitting → processing → completed (output not fetched yet) → succeeded; terminal
failures: failed, rejected, unknown; timed_out and lost keep their task id and are polled again on the next run
(the server is the truth); download_failed (the task completed, its outputs could not be saved: the next run
fetches fresh URLs and downloads again). A job is `submitting` only while its generate call may be on the wire: a
call that provably created nothing (not sent, 429, Ctrl-C before sending) puts it back to `pending`.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from genvr_runtime._errors import GenVRError

FORMAT_VERSION = "1"
# `invalid`: a line --skip-invalid left out (never sent); `rejected`: GenVR refused the job at submission.
TERMINAL_STATES = ("succeeded", "failed", "rejected", "invalid", "unknown", "lost")
ACTIVE_STATES = ("processing", "completed")
ALL_STATES = ("pending", "submitting", "processing", "completed", "timed_out", "download_failed", *TERMINAL_STATES)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    line INTEGER PRIMARY KEY,
    custom_id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    task_id TEXT,
    chunk_id TEXT,
    idempotency_key TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    submitted_at REAL,
    finished_at REAL,
    output TEXT,
    files TEXT,
    error TEXT,
    previous TEXT,
    warnings TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, line);
CREATE TABLE IF NOT EXISTS uploads (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    line INTEGER,
    kind TEXT NOT NULL,
    detail TEXT
);
"""


class JournalLockedError(GenVRError):
    """Another runner holds this journal."""


class JournalMismatchError(GenVRError):
    """The input file changed since the journal was started."""


@dataclass
class JobRow:
    line: int
    custom_id: str
    model: str
    payload: dict[str, Any]
    payload_hash: str
    state: str
    task_id: str | None
    submitted_at: float | None
    attempts: int


def error_record(kind: str, message: str, http_status: int | None = None) -> dict[str, Any]:
    return {"type": kind, "message": message, "http_status": http_status}


class Journal:
    """Single-writer access to one journal file; `open` takes an exclusive lock (released even on kill -9)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fh: Any = None
        self.db: sqlite3.Connection | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def open(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The lock is on the database file itself (its inode), so a symlink or any other spelling of the same
        # journal meets it. SQLite's own locks are POSIX record locks, which flock() does not interact with.
        self._lock_fh = lock_file(self.path, f"journal {self.path}")
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # the two protocol points switch to FULL (fsync) for their commit
        db.executescript(_SCHEMA)
        _add_missing_columns(db)
        self.db = db
        return self

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_fh is not None:
            unlock_file(self._lock_fh)
            self._lock_fh = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _db(self) -> sqlite3.Connection:
        if self.db is None:
            raise GenVRError("journal is not open")
        return self.db

    @classmethod
    def open_readonly(cls, path: Path) -> sqlite3.Connection:
        if not path.exists():
            raise GenVRError(f"no journal at {path}")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    # -- meta --------------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str]) -> None:
        with self._tx():
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())

    def job_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM jobs").fetchone()[0])

    # -- loading the input -------------------------------------------------------------------------------
    def insert_jobs(self, rows: Iterable[tuple[int, str, str, str, str]]) -> None:
        """(line, custom_id, model, payload json, payload hash) rows, in one transaction."""
        with self._tx():
            self._db.executemany(
                "INSERT INTO jobs (line, custom_id, model, payload, payload_hash) VALUES (?, ?, ?, ?, ?)", rows
            )

    def load(self, rows: Iterable[tuple[int, str, str, str, str]], meta: dict[str, str],
             invalid: Iterable[tuple[int, str, str, str, str, str]] = ()) -> None:
        """First run: every job and the meta row in ONE commit, so a run killed while loading leaves either
        nothing or a complete journal. Jobs without meta (left by a run that died between two commits) were
        never sent: they are replaced. `invalid`: lines --skip-invalid leaves out, with their error (json)."""
        with self._tx():
            self._db.execute("DELETE FROM jobs WHERE state IN ('pending', 'invalid')")
            self._db.executemany(
                "INSERT INTO jobs (line, custom_id, model, payload, payload_hash) VALUES (?, ?, ?, ?, ?)", rows
            )
            self._db.executemany(
                "INSERT INTO jobs (line, custom_id, model, payload, payload_hash, state, error) "
                "VALUES (?, ?, ?, ?, ?, 'invalid', ?)", invalid
            )
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())

    def hashes(self) -> Iterator[tuple[int, str]]:
        yield from self._db.execute("SELECT line, payload_hash FROM jobs ORDER BY line")

    def fingerprints(self) -> Iterator[tuple[int, str, str]]:
        """(line, payload hash, custom_id) of every job: what resuming compares with the input file."""
        yield from self._db.execute("SELECT line, payload_hash, custom_id FROM jobs ORDER BY line")

    def apply_input_changes(
        self, upserts: list[tuple[int, str, str, str, str]], removed: list[int], meta: dict[str, str]
    ) -> dict[str, list[int]]:
        """`--force`: take the edited input for jobs not sent yet, in one commit. `upserts` are (line, custom_id,
        model, payload json, payload hash) of changed or new lines; `removed` lines left the file. Jobs already
        sent keep what they were sent with (their task is paid for); removed unsent jobs are dropped."""
        kept: list[int] = []
        with self._tx():
            states = dict(self._db.execute("SELECT line, state FROM jobs"))
            for line in removed:
                if states.get(line) == "pending":
                    self._db.execute("DELETE FROM jobs WHERE line = ?", (line,))
                elif line in states:
                    kept.append(line)
            # An `invalid` line (left out by --skip-invalid) was never sent either: its edited version is a job.
            unsent = ("pending", "invalid")
            updates = [u for u in upserts if states.get(u[0]) in unsent]
            kept += [u[0] for u in upserts if u[0] in states and states[u[0]] not in unsent]
            # Park the custom ids being rewritten first, so two unsent lines may swap theirs.
            self._db.executemany("UPDATE jobs SET custom_id = ? WHERE line = ?", [(f"\0moving-{u[0]}", u[0]) for u in updates])
            try:
                self._db.executemany(
                    "UPDATE jobs SET custom_id = ?, model = ?, payload = ?, payload_hash = ?, state = 'pending', "
                    "error = NULL WHERE line = ?",
                    [(cid, model, payload, digest, line) for line, cid, model, payload, digest in updates],
                )
                self._db.executemany(
                    "INSERT INTO jobs (line, custom_id, model, payload, payload_hash) VALUES (?, ?, ?, ?, ?)",
                    [u for u in upserts if u[0] not in states],
                )
            except sqlite3.IntegrityError:
                raise JournalMismatchError(
                    "the edited input reuses a custom_id that this journal holds for another line; give it a new one"
                ) from None
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
        return {"kept_as_sent": sorted(kept)}

    # -- recovery ----------------------------------------------------------------------------------------
    def recover(self, *, resubmit_unknown: bool, retry_failed: bool = False) -> dict[str, int]:
        """Fold what a dead run left behind; return how many rows each rule touched."""
        now = time.time()
        with self._tx():
            crashed = self._db.execute(
                "SELECT line FROM jobs WHERE state = 'submitting'"
            ).fetchall()
            self._db.execute(
                "UPDATE jobs SET state = 'unknown', error = ? WHERE state = 'submitting'",
                (json.dumps(error_record("unknown", "the run stopped while this job's generate call was in flight; "
                                         "the task may exist (not resent; use --resubmit-unknown)")),),
            )
            self._events([(line, "unknown", {"cause": "crash during generate"}) for (line,) in crashed], now)
            # The server is the truth: tasks we stopped waiting for, or gave up as lost, are asked about again.
            resumed = self._db.execute(
                "UPDATE jobs SET state = 'processing' WHERE state IN ('timed_out', 'lost') AND task_id IS NOT NULL"
            ).rowcount
            resubmitted = 0
            if resubmit_unknown:
                rows = self._db.execute("SELECT line, chunk_id, idempotency_key, error FROM jobs WHERE state = 'unknown'").fetchall()
                for line, chunk_id, key, error in rows:
                    previous = json.dumps({"chunk_id": chunk_id, "idempotency_key": key, "error": json.loads(error) if error else None})
                    self._db.execute(
                        "UPDATE jobs SET state = 'pending', previous = ?, error = NULL, chunk_id = NULL WHERE line = ?",
                        (previous, line),
                    )
                self._events([(line, "resubmit_unknown", None) for line, *_ in rows], now)
                resubmitted = len(rows)
            retried = self._retry_failed() if retry_failed else 0
        return {"crashed_in_flight": len(crashed), "resumed_timed_out": resumed, "resubmitted_unknown": resubmitted,
                "retried_failed": retried}

    def _retry_failed(self) -> int:
        """Jobs whose task failed on GenVR (it said failed, or ended without a usable output) go back to `pending`,
        the failed attempt kept in `previous` (chained to any earlier one). Never a job that succeeded, is
        unknown, was rejected or invalid, or whose download alone failed (that output is paid and still there)."""
        rows = self._db.execute(
            "SELECT line, task_id, chunk_id, idempotency_key, error, previous FROM jobs WHERE state = 'failed' "
            "AND task_id IS NOT NULL AND json_extract(error, '$.type') IN ('task_failed', 'no_output', 'output_error')"
        ).fetchall()
        for line, task_id, chunk_id, key, error, previous in rows:
            attempt = {"task_id": task_id, "chunk_id": chunk_id, "idempotency_key": key,
                       "error": json.loads(error) if error else None}
            if previous:
                attempt["previous"] = json.loads(previous)
            self._db.execute(
                "UPDATE jobs SET state = 'pending', previous = ?, error = NULL, chunk_id = NULL, task_id = NULL, "
                "output = NULL, files = NULL, warnings = NULL, finished_at = NULL WHERE line = ?",
                (json.dumps(attempt), line),
            )
        self._events([(line, "retry_failed", None) for line, *_ in rows], time.time())
        return len(rows)

    # -- local files given to file inputs --------------------------------------------------------------------
    def uploads(self) -> dict[str, tuple[str, str]]:
        """path → (sha256 of the content uploaded, URL)."""
        return {path: (sha, url) for path, sha, url in self._db.execute("SELECT path, sha256, url FROM uploads")}

    def record_upload(self, path: str, sha256: str, url: str) -> None:
        with self._tx(durable=True):
            self._db.execute("INSERT OR REPLACE INTO uploads (path, sha256, url) VALUES (?, ?, ?)", (path, sha256, url))

    def pending_payloads(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for model, payload in self._db.execute("SELECT model, payload FROM jobs WHERE state = 'pending'"):
            yield model, json.loads(payload)

    # -- reading work ------------------------------------------------------------------------------------
    def pending_after(self, line: int, limit: int) -> list[JobRow]:
        cur = self._db.execute(
            "SELECT line, custom_id, model, payload, payload_hash, state, task_id, submitted_at, attempts "
            "FROM jobs WHERE state = 'pending' AND line > ? ORDER BY line LIMIT ?",
            (line, limit),
        )
        return [_row(r) for r in cur]

    def active(self) -> list[JobRow]:
        cur = self._db.execute(
            "SELECT line, custom_id, model, payload, payload_hash, state, task_id, submitted_at, attempts "
            "FROM jobs WHERE state IN ('processing', 'completed') ORDER BY line"
        )
        return [_row(r) for r in cur]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ALL_STATES, 0)
        for state, n in self._db.execute("SELECT state, count(*) FROM jobs GROUP BY state"):
            out[state] = n
        return out

    # -- the two fsync points ----------------------------------------------------------------------------
    def mark_intent(self, lines: list[int], chunk_id: str, idempotency_key: str) -> list[int]:
        """Committed (fsync'd) before the generate call: a crash after this line is detectable. Compare-and-set:
        only jobs still `pending` are marked, and only those (returned) may be sent."""
        now = time.time()
        marked: list[int] = []
        with self._tx(durable=True):
            for line in lines:
                cur = self._db.execute(
                    "UPDATE jobs SET state = 'submitting', chunk_id = ?, idempotency_key = ?, attempts = attempts + 1 "
                    "WHERE line = ? AND state = 'pending'",
                    (chunk_id, idempotency_key, line),
                )
                if cur.rowcount == 1:
                    marked.append(line)
            self._events([(line, "intent", {"chunk_id": chunk_id}) for line in marked], now)
        return marked

    def record_submission(
        self,
        submitted: dict[int, str],
        rejected: dict[int, dict[str, Any]],
        unknown: dict[int, dict[str, Any]],
        requeued: list[int],
    ) -> None:
        """The outcome of one generate call, in one commit (fsync'd), before anything else happens."""
        now = time.time()
        with self._tx(durable=True):
            self._db.executemany(
                "UPDATE jobs SET state = 'processing', task_id = ?, submitted_at = ? WHERE line = ?",
                [(task_id, now, line) for line, task_id in submitted.items()],
            )
            self._db.executemany(
                "UPDATE jobs SET state = ?, error = ?, finished_at = ? WHERE line = ?",
                [("rejected", json.dumps(err), now, line) for line, err in rejected.items()]
                + [("unknown", json.dumps(err), now, line) for line, err in unknown.items()],
            )
            self._db.executemany("UPDATE jobs SET state = 'pending', chunk_id = NULL WHERE line = ?", [(line,) for line in requeued])
            self._events(
                [(line, "submitted", {"task_id": t}) for line, t in submitted.items()]
                + [(line, "rejected", e) for line, e in rejected.items()]
                + [(line, "unknown", e) for line, e in unknown.items()]
                + [(line, "requeued", None) for line in requeued],
                now,
            )

    # -- later events (committed, but their loss would only mean re-polling) ------------------------------
    def mark_completed(self, lines: list[int]) -> None:
        if lines:
            with self._tx():
                self._db.executemany("UPDATE jobs SET state = 'completed' WHERE line = ?", [(line,) for line in lines])

    def mark_processing(self, lines: list[int]) -> None:
        """Back to polling: the response said the task is not done after all."""
        if lines:
            with self._tx():
                self._db.executemany("UPDATE jobs SET state = 'processing' WHERE line = ?", [(line,) for line in lines])

    def downloads_to_resume(self, *, with_succeeded: bool, after_line: int = 0, limit: int = -1,
                            ) -> list[tuple[JobRow, list[dict[str, Any]]]]:
        """`download_failed` jobs and, when `with_succeeded` (a run with a download folder), succeeded jobs that
        have no files yet, from `after_line` on; each with the files already recorded for its task (the only
        ones a rerun may reuse). Journals of earlier versions recorded a download failure as `failed` with an
        error of type download_failed: those paid tasks are taken too."""
        states = ("download_failed", "failed", "succeeded") if with_succeeded else ("download_failed", "failed")
        cur = self._db.execute(
            "SELECT line, custom_id, model, payload, payload_hash, state, task_id, submitted_at, attempts, files "
            f"FROM jobs WHERE state IN ({', '.join('?' * len(states))}) AND task_id IS NOT NULL AND line > ? "
            "AND (state = 'download_failed' OR (state = 'failed' AND error LIKE ?) "
            "OR (state = 'succeeded' AND (files IS NULL OR files = '[]'))) ORDER BY line LIMIT ?",
            (*states, after_line, '{"type": "download_failed"%', limit),
        )
        return [(_row(r[:9]), json.loads(r[9]) if r[9] else []) for r in cur]

    def finish(self, outcomes: list[tuple[int, str, list[str] | None, list[dict[str, Any]] | None, dict[str, Any] | None]],
               warnings: dict[int, list[dict[str, Any]]] | None = None) -> None:
        """(line, state, output, files, error) for jobs that reached an end state (or timed_out);
        `warnings` by line for results that were kept but look wrong (e.g. an output of the wrong kind)."""
        if not outcomes:
            return
        now = time.time()
        noted = warnings or {}
        with self._tx():
            self._db.executemany(
                "UPDATE jobs SET state = ?, output = ?, files = ?, error = ?, warnings = ?, finished_at = ? WHERE line = ?",
                [
                    (state, _dump(output), _dump(files), _dump(error), _dump(noted.get(line) or None), now, line)
                    for line, state, output, files, error in outcomes
                ],
            )
            self._events([(line, state, error) for line, state, _, _, error in outcomes], now)

    # -- helpers -----------------------------------------------------------------------------------------
    def _events(self, rows: list[tuple[int, str, Any]], now: float) -> None:
        self._db.executemany(
            "INSERT INTO events (at, line, kind, detail) VALUES (?, ?, ?, ?)",
            [(now, line, kind, _dump(detail)) for line, kind, detail in rows],
        )

    def _tx(self, *, durable: bool = False) -> _Transaction:
        return _Transaction(self._db, durable)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT; `durable` commits with synchronous=FULL, i.e. the WAL is fsync'd (which also
    makes every earlier commit durable)."""

    def __init__(self, db: sqlite3.Connection, durable: bool) -> None:
        self.db = db
        self.durable = durable

    def __enter__(self) -> None:
        if self.durable:
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        if self.durable:
            self.db.execute("PRAGMA synchronous=NORMAL")


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Journals written by an older version lack the newer columns: add them (NULL for existing rows)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    if "warnings" not in have:
        db.execute("ALTER TABLE jobs ADD COLUMN warnings TEXT")


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _row(r: tuple[Any, ...]) -> JobRow:
    return JobRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])


def result_rows(db: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """The results file's lines, in input order, straight from a journal (streamed)."""
    has_warnings = any(row[1] == "warnings" for row in db.execute("PRAGMA table_info(jobs)"))  # older journals: no column
    cur = db.execute(
        "SELECT line, custom_id, model, state, task_id, output, files, error, previous, attempts, "
        f"{'warnings' if has_warnings else 'NULL'} FROM jobs ORDER BY line"
    )
    for line, custom_id, model, state, task_id, output, files, error, previous, attempts, warnings in cur:
        row: dict[str, Any] = {
            "line": line,
            "custom_id": custom_id,
            "model": model,
            "status": state,
            "task_id": task_id,
            "output": json.loads(output) if output else [],
            "files": json.loads(files) if files else [],
            "error": json.loads(error) if error else None,
            "attempts": attempts,
        }
        if previous:
            row["previous"] = json.loads(previous)
        if warnings:
            row["warnings"] = json.loads(warnings)
        if state not in TERMINAL_STATES or state == "lost":  # a rerun asks the server about lost tasks again
            row["resumable"] = True
        yield row


def read_counts(db: sqlite3.Connection) -> dict[str, int]:
    out = dict.fromkeys(ALL_STATES, 0)
    for state, n in db.execute("SELECT state, count(*) FROM jobs GROUP BY state"):
        out[state] = n
    return out


def lock_file(path: Path, what: str) -> IO[str]:
    """An exclusive lock on `path` (created if missing), held until `unlock_file`; released by the OS on kill -9."""
    fh = open(path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise JournalLockedError(f"{what} is in use by another runner") from None
    return fh


def unlock_file(fh: IO[str]) -> None:
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    fh.close()


def default_journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal.db")


def remove_journal(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
