"""Review findings on the batch runner: resume edges (--force, a crash while loading the input), download file
names, reads that never answer usefully. Each test failed before its fix."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from genvr_runtime._batch.journal import Journal
from genvr_runtime._batch.jsonl import parse_line
from simulator import SimulatorServer
from test_batch_runner import check_invariants, run, write_jobs


def _lines(path: Path, jobs: list[dict[str, Any] | None]) -> Path:
    path.write_text("".join((json.dumps(j) if j is not None else "") + "\n" for j in jobs))
    return path


def _flux(cid: str) -> dict[str, Any]:
    return {"custom_id": cid, "model": "imagegen/flux_dev", "input": {"prompt": f"prompt of {cid}"}}


def _start_journal_without_running(tmp: Path, jobs: Path) -> None:
    """What a run leaves when it dies right after loading its input: every job `pending`, meta written."""
    from genvr_runtime._batch.runner import BatchOptions, _load_input
    from genvr_runtime._batch.jsonl import validate_file
    from test_batch_runner import resolve

    class _S:
        uid, base_url = "u", "http://x"

    with Journal(tmp / "results.jsonl.journal.db") as journal:
        _load_input(journal, jobs, validate_file(jobs, resolve), _S(), BatchOptions())  # type: ignore[arg-type]


def test_force_resume_takes_new_model_new_lines_and_drops_removed_pending(genvr_simulator: SimulatorServer,
                                                                           tmp_path: Path) -> None:
    jobs = _lines(tmp_path / "jobs.jsonl", [_flux("a"), _flux("b"), _flux("c")])
    _start_journal_without_running(tmp_path, jobs)
    # Edited before anything was sent: line 2 now targets another model, line 3 removed, line 4 added.
    upscale = {"custom_id": "b", "model": "imgutils/recraft_crisp_upscale", "input": {"image": "https://example.com/b.png"}}
    _lines(jobs, [_flux("a"), upscale, None, _flux("d")])
    report, results = run(genvr_simulator, tmp_path, jobs, force=True)
    assert [(r["line"], r["custom_id"], r["model"], r["status"]) for r in results] == [
        (1, "a", "imagegen/flux_dev", "succeeded"),
        (2, "b", "imgutils/recraft_crisp_upscale", "succeeded"),  # was sent as flux_dev (and rejected) before
        (4, "d", "imagegen/flux_dev", "succeeded"),  # was silently dropped before
    ]  # line 3 was removed before it was sent: not paid for, not in the results
    tasks = {t["id"]: t for t in genvr_simulator_tasks(genvr_simulator)}
    assert tasks[results[1]["task_id"]]["subcategory"] == "recraft_crisp_upscale"
    assert len(tasks) == 3
    assert report.exit_code == 0


def genvr_simulator_tasks(sim: SimulatorServer) -> list[dict[str, Any]]:
    import httpx

    tasks: list[dict[str, Any]] = httpx.get(sim.url("/_sim/tasks")).json()["tasks"]
    return tasks


def test_crash_between_loading_jobs_and_meta_is_resumable(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 4)
    # A run killed after the jobs were inserted but before the meta row was committed.
    with Journal(tmp_path / "results.jsonl.journal.db") as journal:
        rows = []
        for number, text in enumerate(jobs.read_text().splitlines(), start=1):
            job = parse_line(number, text)
            assert not isinstance(job, Exception) and hasattr(job, "payload_hash")
            rows.append((job.line, job.custom_id, job.model, json.dumps(job.input), job.payload_hash))  # type: ignore[union-attr]
        journal.insert_jobs(rows)
    report, results = run(genvr_simulator, tmp_path, jobs)
    assert [r["status"] for r in results] == ["succeeded"] * 4
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_download_names_never_collide_between_custom_ids(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    ids = ["a/b", "a_b", "a b", "x" * 130 + "1", "x" * 130 + "2"]
    jobs = _lines(tmp_path / "jobs.jsonl", [_flux(cid) for cid in ids])
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files")
    paths = [f["path"] for r in results for f in r["files"]]
    assert len(paths) == len(set(paths)) == 5, paths
    for r in results:  # each job's file is its own output, not another job's
        for f in r["files"]:
            assert f["url"] in r["output"] and Path(f["path"]).stat().st_size == f["bytes"]
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def _run_with_deadline(seconds: float, fn: Any) -> Any:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the batch run did not end within {seconds}s"
    return box[0]


def test_status_items_that_always_error_end_as_timed_out(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    genvr_simulator.configure(faults={"rules": [{"kind": "item_error", "route": "/v2/status-batch", "status": 500}]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    report, results = _run_with_deadline(20, lambda: run(genvr_simulator, tmp_path, jobs, max_wait=0.5))
    assert [r["status"] for r in results] == ["timed_out"] * 3 and all(r["task_id"] for r in results)
    assert all(r.get("resumable") for r in results)
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_response_items_that_always_error_end_as_timed_out(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    genvr_simulator.configure(faults={"rules": [{"kind": "item_error", "route": "/v2/response-batch", "status": 500}]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    report, results = _run_with_deadline(20, lambda: run(genvr_simulator, tmp_path, jobs, max_wait=0.5))
    assert [r["status"] for r in results] == ["timed_out"] * 3 and all(r["task_id"] for r in results)
    # The next run (faults cleared) collects them: nothing was resubmitted.
    genvr_simulator.configure(faults={"rules": []})
    report, results = run(genvr_simulator, tmp_path, jobs)
    assert [r["status"] for r in results] == ["succeeded"] * 3
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_resume_against_another_server_is_refused_unless_forced(genvr_simulator: SimulatorServer, genvr_simulator_factory: Any,
                                                                 tmp_path: Path) -> None:
    import pytest

    from genvr_runtime._batch.journal import JournalMismatchError

    jobs = _lines(tmp_path / "jobs.jsonl", [_flux("a"), _flux("b")])
    report, _ = run(genvr_simulator, tmp_path, jobs)
    assert report.counts["succeeded"] == 2
    other = genvr_simulator_factory()
    with pytest.raises(JournalMismatchError, match="base_url"):
        run(other, tmp_path, jobs)
    assert other.counters()["tasks_created"] == 0  # nothing was sent to the other server
    report, results = run(other, tmp_path, jobs, force=True)  # finished jobs stay finished
    assert [r["status"] for r in results] == ["succeeded", "succeeded"] and other.counters()["tasks_created"] == 0
