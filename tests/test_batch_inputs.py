"""Bad batch input files: every problem is a short error naming the file or the line, never a traceback, and
nothing is sent (issue 9, item 8)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from genvr_runtime import BaseClient, GenVRError
from genvr_runtime._batch.jsonl import validate_file
from genvr_runtime.cli import main as cli_main
from simulator import SimulatorServer
from test_batch_runner import resolve

GOOD = '{"custom_id": "a", "model": "imagegen/flux_dev", "input": {"prompt": "ok"}}\n'
RESOLVER = ["--resolver", "test_batch_runner:resolve"]


def run_cli(sim: SimulatorServer, jobs: Path, out: Path, *extra: str) -> int:
    return cli_main(["batch", "run", str(jobs), "--out", str(out), "--base-url", sim.base_url, "--no-progress",
                     *RESOLVER, *extra])


@pytest.fixture
def credentials(genvr_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    return genvr_simulator


def non_utf8_file(path: Path) -> Path:
    path.write_bytes(
        GOOD.encode()
        + b'{"custom_id": "b", "model": "imagegen/flux_dev", "input": {"prompt": "caf\xe9"}}\n'  # Latin-1
        + b'{"custom_id": "c", "model": "imagegen/flux_dev", "input": {"prompt": "x", "aspect_ratio": "7:7"}}\n'
        + b'\xff\xfe{"custom_id": "d"}\n'
    )
    return path


def test_non_utf8_lines_are_per_line_errors_with_their_number(tmp_path: Path) -> None:
    report = validate_file(non_utf8_file(tmp_path / "jobs.jsonl"), resolve)
    assert not report.ok and report.jobs == 4
    by_line = {e.line: str(e) for e in report.errors}
    assert sorted(by_line) == [2, 3, 4]
    assert "not UTF-8" in by_line[2] and "0xe9" in by_line[2] and "column 74" in by_line[2]
    assert "aspect_ratio" in by_line[3]  # the lines after a bad one are still checked
    assert "not UTF-8" in by_line[4] and "column 1" in by_line[4]


@pytest.mark.parametrize("dry_run", [False, True])
def test_cli_non_utf8_file_exits_2_naming_lines_and_sends_nothing(credentials: SimulatorServer, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str], dry_run: bool) -> None:
    jobs = non_utf8_file(tmp_path / "jobs.jsonl")
    code = run_cli(credentials, jobs, tmp_path / "out.jsonl", *(["--dry-run"] if dry_run else []))
    err = capsys.readouterr().err
    assert code == 2
    assert "invalid: line 2 (b)" not in err  # the line could not be read: no custom id is guessed from it
    assert "invalid: line 2: not UTF-8" in err and "invalid: line 4: not UTF-8" in err
    assert "Traceback" not in err and "UnicodeDecodeError" not in err
    assert credentials.counters()["requests"] == {} and not (tmp_path / "out.jsonl").exists()


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert validate_file(jobs, resolve).ok


def test_crlf_files_keep_their_fingerprint(tmp_path: Path) -> None:
    """A journal started by an earlier version (text-mode reading) must still match the same CRLF file."""
    lf, crlf = tmp_path / "lf.jsonl", tmp_path / "crlf.jsonl"
    lf.write_bytes((GOOD * 2).encode())
    crlf.write_bytes((GOOD * 2).replace("\n", "\r\n").encode())
    assert validate_file(crlf, resolve).input_sha256 == validate_file(lf, resolve).input_sha256


def unreadable(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "jobs.jsonl"
    if kind == "directory":
        path.mkdir()
    elif kind == "permission":  # tests run as root, where chmod 000 does not stop a read: refuse the open instead
        path.write_text(GOOD)
        real_open = Path.open

        def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refuse)
    return path


REASONS = {"missing": "No such file or directory", "directory": "Is a directory", "permission": "Permission denied"}


@pytest.mark.parametrize("kind", sorted(REASONS))
@pytest.mark.parametrize("dry_run", [False, True])
def test_cli_unreadable_input_file_is_one_line(credentials: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], kind: str, dry_run: bool) -> None:
    jobs = unreadable(kind, tmp_path, monkeypatch)
    code = run_cli(credentials, jobs, tmp_path / "out.jsonl", *(["--dry-run"] if dry_run else []))
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [f"error: cannot read the jobs file {jobs}: {REASONS[kind]}"]
    assert credentials.counters()["requests"] == {}


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_python_batch_raises_a_typed_error_for_an_unreadable_file(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    from genvr_runtime import InputFileError

    jobs = unreadable(kind, tmp_path, monkeypatch)
    with BaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url) as client:
        with pytest.raises(InputFileError, match=REASONS[kind]) as caught:
            client.batch(jobs, tmp_path / "out.jsonl", resolver=resolve, progress=False)
    assert isinstance(caught.value, GenVRError) and caught.value.path == jobs
    assert genvr_simulator.counters()["requests"] == {}


@pytest.mark.parametrize("action", ["status", "results"])
@pytest.mark.parametrize("kind", ["missing", "directory", "not-sqlite", "other-sqlite"])
def test_status_and_results_on_a_bad_journal_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          action: str, kind: str) -> None:
    journal = tmp_path / "results.jsonl.journal.db"
    if kind == "directory":
        journal.mkdir()
    elif kind == "not-sqlite":
        journal.write_text("hello\n" * 100)
    elif kind == "other-sqlite":
        with sqlite3.connect(journal) as db:
            db.execute("CREATE TABLE t (x)")
    extra = ["--out", str(tmp_path / "rebuilt.jsonl")] if action == "results" else []
    code = cli_main(["batch", action, str(journal), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and str(journal) in err[0], err
    assert not (tmp_path / "rebuilt.jsonl").exists()


def test_a_bad_resolver_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(GOOD)
    for spec in ("no_such_module_xyz:resolve", "test_batch_runner:nope", "test_batch_runner"):
        code = cli_main(["batch", "run", str(jobs), "--out", str(tmp_path / "o.jsonl"), "--dry-run", "--resolver", spec])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and spec in err[0], err


def test_valid_results_are_unchanged_by_binary_reading(credentials: SimulatorServer, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(GOOD.replace('"ok"', '"caf\u00e9 \u2603"'), encoding="utf-8")
    assert run_cli(credentials, jobs, tmp_path / "out.jsonl") == 0
    [row] = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["status"] == "succeeded" and row["custom_id"] == "a"


@pytest.mark.parametrize("which", ["--out", "--journal"])
def test_an_out_or_journal_path_that_is_a_directory_is_one_line(credentials: SimulatorServer, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str], which: str) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(GOOD)
    folder = tmp_path / "folder"
    folder.mkdir()
    out = folder if which == "--out" else tmp_path / "out.jsonl"
    extra = ["--journal", str(folder)] if which == "--journal" else []
    code = run_cli(credentials, jobs, out, *extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [f"error: {which} {folder} is a directory; give a file path"]
    assert credentials.counters()["requests"] == {}
