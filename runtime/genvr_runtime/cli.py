"""`genvr` command line: one model at a time (models, schema, run, job, download) and batch runs over JSONL files.

    genvr models [--category C] [--search TEXT]          # key, name, category, output kind, inputs count
    genvr schema imagegen/flux_dev                        # inputs: type, required, default, range/choices
    genvr run imagegen/flux_dev prompt="a cat" aspect_ratio=16:9 [--download DIR] [--no-wait] [--json]
    genvr job imagegen/flux_dev <task_id> [--download DIR]
    genvr download results.jsonl DIR | genvr download <task_id> DIR --model imagegen/flux_dev
    genvr batch run jobs.jsonl --out results.jsonl [--dry-run] [--download DIR] [--resubmit-unknown] ...
    genvr batch status results.jsonl.journal.db     # counts and unknown jobs, offline
    genvr batch results results.jsonl.journal.db --out results.jsonl   # rebuild the results file offline

Tables on a terminal, tab-separated text when piped, JSON with --json.
Credentials: GENVR_API_KEY and GENVR_UID (never written to the journal, the results or the logs); GENVR_BASE_URL.
Exit codes: 0 all succeeded, 1 some jobs failed/rejected/lost/timed out or their outputs could not be downloaded
(`download_failed`: re-run the same command to fetch fresh URLs and download again), 2 invalid input or usage
(also an unreadable jobs file or journal, an unusable --out), 3 some jobs are `unknown` (may have been created;
see `status`), 4 authentication refused, 5 the server could not be reached for --give-up-after seconds,
130 interrupted (Ctrl-C: nothing more is sent; re-run the same command to resume). Single runs: 0 done, 1 the task
failed or timed out, 2 bad usage or input (unknown model or input, bad value, missing file, no GENVR_API_KEY),
4 authentication refused, 5 server unreachable, 130 interrupted (the task id is printed: `genvr job` picks it up).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from genvr_runtime import _cli_single
from genvr_runtime._batch.jsonl import InputResolver, validate_file, write_jsonl_atomic
from genvr_runtime._batch.journal import Journal, default_journal_path, read_counts, result_rows
from genvr_runtime._batch.runner import EXIT_INVALID, BatchOptions, BatchReport, estimate_calls, run_batch
from genvr_runtime._errors import (
    APIConnectionError,
    AuthenticationError,
    GenVRError,
    InputFileError,
    TaskFailedError,
    UnknownInputError,
    UnknownModelError,
)
from genvr_runtime._polling import BatchPollSchedule
from genvr_runtime._protocol import BATCH_LIMIT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genvr", description="GenVR command line",
                                     epilog=__doc__.split("Tables on a terminal", 1)[1].strip() if __doc__ else None,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    _cli_single.add_parsers(sub)
    batch = sub.add_parser("batch", help="run many jobs from a JSONL file").add_subparsers(dest="action", required=True)

    run = batch.add_parser("run", help="validate, submit, poll and collect every job of a JSONL file (resumable)")
    run.add_argument("jobs", type=Path, help='JSONL, one job a line: {"custom_id", "model": "category/subcategory", "input": {...}}')
    run.add_argument("--out", type=Path, required=True, help="results JSONL: one line per job, in input order")
    run.add_argument("--journal", type=Path, help="journal file (default: <out>.journal.db)")
    run.add_argument("--dry-run", action="store_true", help="validate every line and print the plan; send nothing")
    run.add_argument("--download", type=Path, metavar="DIR", help="download outputs here (<custom_id>_<i>.<ext>)")
    run.add_argument("--max-in-flight", type=int, default=100, help="tasks in flight at once (default 100)")
    run.add_argument("--max-concurrent-calls", type=int, default=8)
    run.add_argument("--poll-interval", type=float, default=1.0, help="base status interval, s (GenVR: 1-2 s)")
    run.add_argument("--max-poll-interval", type=float, default=10.0)
    run.add_argument("--poll-growth", type=float, default=0.05, help="interval as a fraction of a task's age")
    run.add_argument("--first-poll", type=float, default=None, help="delay of the first status check, s")
    run.add_argument("--max-wait", type=float, default=3600.0, help="per task; then `timed_out` (resumable)")
    run.add_argument("--resubmit-unknown", action="store_true", help="resend jobs whose earlier submission is unknown")
    run.add_argument("--retry-failed", action="store_true",
                     help="resend jobs whose task failed on GenVR (never succeeded or unknown ones); the failed "
                          "attempt stays in the result line's `previous`")
    run.add_argument("--skip-invalid", action="store_true",
                     help="send the valid lines; the invalid ones become result lines with status `invalid`")
    run.add_argument("--force", action="store_true", help="resume although the input file changed")
    run.add_argument("--retries", type=int, default=5)
    run.add_argument("--generate-timeout", type=float, default=120.0)
    run.add_argument("--read-timeout", type=float, default=30.0)
    run.add_argument("--give-up-after", type=float, default=60.0, metavar="SECONDS",
                     help="stop (exit 5, resumable) when the server has not answered at all for this long")
    run.add_argument("--no-progress", action="store_true")
    run.add_argument("--progress", action="store_true", help="progress lines even when not on a terminal")
    run.add_argument("--base-url", help="API base URL (default GENVR_BASE_URL or GenVR's)")
    run.add_argument("--notify-command", help="shell command run at the end (env GENVR_BATCH_RESULTS, GENVR_BATCH_EXIT)")
    run.add_argument("--resolver", help="module:function returning an input class for (category, subcategory)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="the runtime's debug log: every HTTP request, retry and status note (signed URLs redacted)")

    status = batch.add_parser("status", help="counts and unknown jobs from a journal (offline)")
    status.add_argument("journal", type=Path, help="journal file, or the results path it belongs to")
    status.add_argument("--json", action="store_true")

    results = batch.add_parser("results", help="rebuild the results file from a journal (offline)")
    results.add_argument("journal", type=Path)
    results.add_argument("--out", type=Path, required=True)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"genvr {version('genvr-bindings')}"
    except PackageNotFoundError:
        return "genvr (not installed as a package)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    if args.command != "batch":
        return _single(args)
    try:
        if args.action == "run":
            return _run(args)
        if args.action == "status":
            return _status(args)
        return _results(args)
    except AuthenticationError as exc:  # e.g. uploading a jobs file's local files before the run
        print(f"error: {exc} (check GENVR_API_KEY)", file=sys.stderr)
        return 4
    except APIConnectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 5
    except GenVRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (OSError, sqlite3.Error) as exc:  # e.g. an unwritable --out or journal folder: one line, no traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INVALID


def _single(args: argparse.Namespace) -> int:
    """One command, its errors as one or two lines with an exit code by cause (see the module docstring)."""
    try:
        return _cli_single.COMMANDS[args.command](args)
    except KeyboardInterrupt:  # waiting for a task is handled in the command (it names the task to pick up)
        where = " while submitting: the task may have been created (its id never arrived)" if args.command == "run" else ""
        print(f"interrupted{where}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `genvr models | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UnknownModelError, UnknownInputError, _cli_single.UsageError, InputFileError) as exc:
        code = EXIT_INVALID
        message = exc.message
    except AuthenticationError as exc:
        code, message = 4, f"{exc} (check GENVR_API_KEY)"
    except APIConnectionError as exc:
        code, message = 5, str(exc)
    except TaskFailedError as exc:
        code, message = 1, str(exc)
    except GenVRError as exc:
        code, message = 1, str(exc)
    except OSError as exc:
        code, message = EXIT_INVALID, f"{type(exc).__name__}: {exc}"
    print(f"error: {message}", file=sys.stderr)
    return code


def _configure_logging(verbose: bool) -> None:
    """Warnings only by default. -v opens the runtime's own loggers down to DEBUG, not every library's: the
    root stays at WARNING, so no other library's debug output (httpcore's, say) floods the terminal."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbose:
        logging.getLogger("genvr_runtime").setLevel(logging.DEBUG)
        logging.getLogger("httpx").setLevel(logging.INFO)  # its request lines come back as genvr_runtime.http DEBUG


def _resolver(spec: str | None) -> InputResolver | None:
    if not spec:
        return None
    module, _, attr = spec.partition(":")
    try:
        resolver: InputResolver = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise GenVRError(f"--resolver {spec}: expected module:function ({type(exc).__name__}: {exc})") from None
    return resolver


def _run(args: argparse.Namespace) -> int:
    from genvr_runtime._batch.jsonl import default_resolver
    from genvr_runtime._client import _Settings

    resolver = _resolver(args.resolver) or default_resolver
    if args.dry_run:
        checked = validate_file(args.jobs, resolver)
        _print_validation(checked)
        if checked.ok:
            calls = estimate_calls(checked.jobs)
            print(f"plan: {checked.jobs} jobs, {len(checked.models)} model(s), ≤{BATCH_LIMIT} per call, "
                  f"at least {sum(calls.values())} calls ({', '.join(f'{k} {v}' for k, v in calls.items())}); "
                  "nothing was sent")
        return 0 if checked.ok else EXIT_INVALID
    for what, path in (("--out", args.out), ("--journal", args.journal or default_journal_path(args.out))):
        if path.is_dir():
            raise InputFileError(f"{what} {path} is a directory; give a file path", path=path)
    settings = _Settings(None, None, args.base_url, "v2", args.read_timeout, args.max_wait, 0.25, 2.0, args.retries, "upload", False, 2)
    options = BatchOptions(
        journal=args.journal, max_in_flight=args.max_in_flight, max_concurrent_calls=args.max_concurrent_calls,
        poll=BatchPollSchedule(base=args.poll_interval, growth=args.poll_growth, maximum=args.max_poll_interval, first=args.first_poll),
        max_wait=args.max_wait, resubmit_unknown=args.resubmit_unknown, retry_failed=args.retry_failed,
        skip_invalid=args.skip_invalid, download_dir=args.download, force=args.force,
        progress=False if args.no_progress else (True if args.progress else None), resolver=resolver,
        generate_timeout=args.generate_timeout, read_timeout=args.read_timeout, max_retries=args.retries,
        give_up_after=args.give_up_after, handle_signals=True,
    )
    report = asyncio.run(run_batch(settings, args.jobs, args.out, options))
    if report.interrupted and report.results_path is None:
        print("interrupted while checking the input: nothing was sent", file=sys.stderr)
        return report.exit_code
    if report.validation is not None and not report.validation.ok:
        _print_validation(report.validation)
        if report.results_path is None:
            return report.exit_code
    _print_summary(report)
    if args.json:
        print(json.dumps({"jobs": report.jobs, "counts": report.counts, "exit_code": report.exit_code,
                          "results": str(report.results_path), "journal": str(report.journal_path),
                          "calls": report.calls, "interrupted": report.interrupted}))
    if args.notify_command:
        env = {**os.environ, "GENVR_BATCH_RESULTS": str(args.out), "GENVR_BATCH_EXIT": str(report.exit_code)}
        env.pop("GENVR_API_KEY", None)  # the hook does not need the key
        subprocess.run(args.notify_command, shell=True, env=env, check=False)
    return report.exit_code


def _print_validation(report: Any) -> None:
    for error in report.errors:
        print(f"invalid: {error}", file=sys.stderr)
    if report.error_count > len(report.errors):
        print(f"… and {report.error_count - len(report.errors)} more errors", file=sys.stderr)
    state = "valid" if report.ok else f"{report.error_count} error(s); nothing was sent (--skip-invalid sends the valid lines)"
    print(f"{report.jobs} jobs checked: {state}", file=sys.stderr)


def _print_summary(report: BatchReport) -> None:
    shown = {k: v for k, v in report.counts.items() if v}
    calls = sum(report.calls.values())
    print(f"summary: {report.jobs} jobs | " + " | ".join(f"{k} {v}" for k, v in shown.items())
          + f" | {calls} HTTP calls | results {report.results_path}", file=sys.stderr)
    if report.interrupted:
        print("interrupted: nothing more was sent; re-run the same command to resume", file=sys.stderr)
    if report.counts.get("unknown"):
        print(f"{report.counts['unknown']} job(s) are `unknown` (their generate call may have created a task); "
              "they were not resent. See `genvr batch status`, or re-run with --resubmit-unknown.", file=sys.stderr)
    if report.counts.get("download_failed"):
        print(f"{report.counts['download_failed']} job(s) completed (paid) but their outputs could not be downloaded "
              "(`download_failed`); re-run the same command to fetch fresh URLs and download them.", file=sys.stderr)


def _journal_path(path: Path) -> Path:
    return path if path.suffix == ".db" else default_journal_path(path)


def _open_journal(given: Path) -> sqlite3.Connection:
    """The journal, read-only, checked to be one: a wrong path is one line, not a sqlite traceback."""
    path = _journal_path(given)
    if path.is_dir():
        raise InputFileError(f"{path} is a directory, not a batch journal", path=path)
    db = None
    try:
        db = Journal.open_readonly(path)  # a missing file is a GenVRError naming it
        db.execute("SELECT line, custom_id, model, state FROM jobs LIMIT 1").fetchall()
        db.execute("SELECT key, value FROM meta LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        raise InputFileError(f"{path} is not a readable batch journal ({exc})", path=path) from None
    return db


# Columns of `batch status`, in the journal's own state names (the bar and the summary use the same words).
_STATUS_COLUMNS = ("succeeded", "failed", "rejected", "invalid", "unknown", "lost", "download_failed", "timed_out",
                   "pending", "submitting", "processing", "completed")
_SHOWN_FAILURES = 50


def _status(args: argparse.Namespace) -> int:
    db = _open_journal(args.journal)
    counts = read_counts(db)
    by_model: dict[str, dict[str, int]] = {}
    for model, state, n in db.execute("SELECT model, state, count(*) FROM jobs GROUP BY model, state ORDER BY model"):
        by_model.setdefault(model, {})[state] = n
    failures = [
        {"line": line, "custom_id": cid, "model": model, "status": state, "task_id": task,
         "error": json.loads(err) if err else None}
        for line, cid, model, state, task, err in db.execute(
            "SELECT line, custom_id, model, state, task_id, error FROM jobs WHERE state NOT IN "
            "('succeeded', 'pending', 'submitting', 'processing', 'completed') ORDER BY line")
    ]
    db.close()
    if args.json:
        listed = {state: [f for f in failures if f["status"] == state] for state in ("unknown", "download_failed")}
        print(json.dumps({"counts": counts, "by_model": by_model, "failures": failures, **listed}))
        return 0
    columns = [c for c in _STATUS_COLUMNS if c in ("succeeded", "failed") or counts.get(c)]
    rows = [[model, sum(states.values()), *(states.get(c, 0) for c in columns)] for model, states in by_model.items()]
    rows.append(["total", sum(counts.values()), *(counts.get(c, 0) for c in columns)])
    _cli_single.table("batch status", ["model", "total", *columns], rows)
    for item in failures[:_SHOWN_FAILURES]:
        print(f"{item['status']}: line {item['line']} ({item['custom_id']}) [{item['model']}]: "
              f"{(item['error'] or {}).get('message')}")
    if len(failures) > _SHOWN_FAILURES:
        print(f"… and {len(failures) - _SHOWN_FAILURES} more (--json lists them all)")
    return 0


def _results(args: argparse.Namespace) -> int:
    db = _open_journal(args.journal)
    n = write_jsonl_atomic(args.out, result_rows(db))
    db.close()
    print(f"wrote {n} lines to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
