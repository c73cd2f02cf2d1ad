"""Batch downloads and reply matching (issue 9, items 4 and 5), against the simulator with a tampering transport
placed between the runner and it: the simulator's tasks and files stay the ground truth.

Item 4: a download problem is a resumable `download_failed` (never `failed`), retried with backoff, refreshed
through /response when the URL is refused, picked up by the next run and by a rerun that adds `--download`;
short bodies are never accepted; files on disk are reused only when the journal says they are this task's.
Item 5: status/response items are matched by task id; a response still `processing` goes back to polling; an
output of the wrong kind for the model is flagged on the result line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from genvr_runtime import GenVRInput, ModelInfo
from genvr_runtime._calls import RetryPolicy
from genvr_runtime.cli import main as cli_main
from simulator import SimulatorServer
from simulator.media import make_file
from test_batch_runner import MODELS, check_invariants, run, statuses, write_jobs

QUICK_RETRY = RetryPolicy(max_retries=4, initial_backoff=0.001, max_backoff=0.005)


class Tripo(GenVRInput):
    image_url: str


Tripo.genvr_model = ModelInfo(category="3dgen", subcategory="tripo3d_2_5", name="Tripo3D 2.5")
WITH_3D: dict[str, type[GenVRInput]] = {**MODELS, "3dgen/tripo3d_2_5": Tripo}


def resolve_3d(category: str, subcategory: str) -> type[GenVRInput]:
    return WITH_3D[f"{category}/{subcategory}"]


Edit = Callable[[httpx.Request, httpx.Response, bytes], httpx.Response | None]


class Tamper(httpx.AsyncBaseTransport):
    """Forwards every request to the simulator; `edit(request, response, body)` may answer something else."""

    def __init__(self, edit: Edit) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.edit = edit
        self.edits = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        changed = self.edit(request, response, body)
        if changed is not None:
            self.edits += 1
            return changed
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def json_reply(payload: Any) -> httpx.Response:
    return httpx.Response(200, json=payload)


def is_download(request: httpx.Request) -> bool:
    return request.url.path.startswith("/files/")


def sim_tasks(sim: SimulatorServer) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in httpx.get(sim.url("/_sim/tasks")).json()["tasks"]}


def assert_files_are_the_simulators(sim: SimulatorServer, results: list[dict[str, Any]]) -> None:
    """Every succeeded line's files are byte-identical to what the simulator made for that line's task."""
    tasks = sim_tasks(sim)
    for r in results:
        if r["status"] != "succeeded":
            continue
        task = tasks[r["task_id"]]
        assert len(r["files"]) == len(r["output"]) >= 1
        for i, f in enumerate(r["files"]):
            kind = {"3dgen": "glb"}.get(task["category"], "png")
            expected = make_file(kind, f"{task['id']}/{i}".encode())
            assert Path(f["path"]).read_bytes() == expected, f["path"]
            assert f["sha256"] == hashlib.sha256(expected).hexdigest() and f["bytes"] == len(expected)


# -- item 4: downloads ---------------------------------------------------------------------------------------------

def test_download_5xx_is_retried_with_backoff_until_it_succeeds(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    failures: dict[str, int] = {}

    def flaky(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        if is_download(request) and failures.get(request.url.path, 0) < 3:  # three 5xx in a row, then the file
            failures[request.url.path] = failures.get(request.url.path, 0) + 1
            return httpx.Response(503, text="busy")
        return None

    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", transport=Tamper(flaky),
                          download_retry=QUICK_RETRY)
    assert statuses(results) == {"succeeded": 3} and report.exit_code == 0
    assert_files_are_the_simulators(genvr_simulator, results)
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_download_that_keeps_failing_is_resumable_and_the_next_run_gets_it(genvr_simulator: SimulatorServer,
                                                                           tmp_path: Path) -> None:
    broken = {"on": True}

    def down(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        return httpx.Response(502, text="bad gateway") if broken["on"] and is_download(request) else None

    jobs = write_jobs(tmp_path / "jobs.jsonl", 4)
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", transport=Tamper(down),
                          download_retry=QUICK_RETRY)
    assert statuses(results) == {"download_failed": 4}
    assert report.exit_code == 1
    for r in results:
        assert r["task_id"] and r["output"] and r.get("resumable") is True
        assert r["error"]["type"] == "download_failed" and r["error"]["http_status"] == 502
    generated = genvr_simulator.counters()["tasks_created"]
    # The same command again, downloads working: collected without a new generate call.
    broken["on"] = False
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", transport=Tamper(down),
                          download_retry=QUICK_RETRY)
    assert statuses(results) == {"succeeded": 4} and report.exit_code == 0
    assert report.calls.get("/v2/generate-batch", 0) == 0 and genvr_simulator.counters()["tasks_created"] == generated
    assert_files_are_the_simulators(genvr_simulator, results)
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_a_download_failure_recorded_as_failed_by_an_earlier_version_is_collected(genvr_simulator: SimulatorServer,
                                                                                    tmp_path: Path) -> None:
    import sqlite3

    genvr_simulator.configure(faults={"rules": [{"kind": "http_error", "route": "/files/*", "status": 503}]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 2)
    run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", download_retry=QUICK_RETRY)
    with sqlite3.connect(tmp_path / "results.jsonl.journal.db") as db:  # what the earlier version left behind
        db.execute("UPDATE jobs SET state = 'failed', error = ? WHERE line = 1",
                   (json.dumps({"type": "download_failed", "message": "download failed: HTTPStatusError", "http_status": None}),))
        db.execute("UPDATE jobs SET state = 'failed', error = ? WHERE line = 2",
                   (json.dumps({"type": "task_failed", "message": "NSFW", "http_status": None}),))
    genvr_simulator.configure(faults={"rules": []})
    _, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files")
    assert [r["status"] for r in results] == ["succeeded", "failed"]  # a real task failure stays what it is
    assert_files_are_the_simulators(genvr_simulator, results)


def test_an_expired_download_url_is_refreshed_through_response(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    def expiring(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        # The simulator signs each /response call's URLs anew (sig=<n>): the first URLs handed out have expired.
        if is_download(request) and request.url.params.get("sig") == "1":
            return httpx.Response(403, text="AuthenticationFailed: Signature not valid in the specified time frame")
        return None

    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", transport=Tamper(expiring),
                          download_retry=QUICK_RETRY)
    assert statuses(results) == {"succeeded": 3}
    assert all("sig=1" not in f["url"] for r in results for f in r["files"])
    assert_files_are_the_simulators(genvr_simulator, results)


def test_a_body_shorter_than_its_content_length_is_never_accepted(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    cut = {"left": 2}

    def short(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        if is_download(request) and cut["left"] > 0:
            cut["left"] -= 1
            return httpx.Response(200, headers={"content-length": str(len(body)), "content-type": "image/png"},
                                  content=body[: len(body) // 2])
        return None

    jobs = write_jobs(tmp_path / "jobs.jsonl", 1)
    _, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", transport=Tamper(short),
                     download_retry=QUICK_RETRY)
    assert statuses(results) == {"succeeded": 1}
    assert_files_are_the_simulators(genvr_simulator, results)

    # Always short: never `succeeded`, resumable, no file left behind under the final name.
    def always_short(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        if is_download(request):
            return httpx.Response(200, headers={"content-length": str(len(body))}, content=body[:10])
        return None

    jobs = write_jobs(tmp_path / "jobs2.jsonl", 1, tag="short")
    out_dir = tmp_path / "second"
    out_dir.mkdir()
    _, results = run(genvr_simulator, out_dir, jobs, download_dir=out_dir / "files", transport=Tamper(always_short),
                     download_retry=QUICK_RETRY)
    assert statuses(results) == {"download_failed": 1}
    assert "bytes" in results[0]["error"]["message"]
    assert not (out_dir / "files" / "short-0_0.png").exists() and not list((out_dir / "files").glob(".*.part"))


def test_adding_download_to_a_finished_batch_downloads_what_has_no_files(genvr_simulator: SimulatorServer,
                                                                           tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 12)
    report, results = run(genvr_simulator, tmp_path, jobs)
    assert statuses(results) == {"succeeded": 12} and all(not r["files"] for r in results)
    generated = genvr_simulator.counters()["tasks_created"]
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", max_in_flight=10)  # 2 pages
    assert statuses(results) == {"succeeded": 12} and report.exit_code == 0
    assert all(len(r["files"]) == 1 for r in results)
    assert genvr_simulator.counters()["tasks_created"] == generated and report.calls.get("/v2/generate-batch", 0) == 0
    assert_files_are_the_simulators(genvr_simulator, results)
    # And once they are there, the same command does nothing more.
    before = genvr_simulator.counters()["requests"]
    _, again = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files")
    assert again == results and genvr_simulator.counters()["requests"] == before


def test_a_reused_download_folder_never_reports_another_runs_file(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "job-0_0.png").write_bytes(b"left by an earlier batch with the same custom ids")
    jobs = write_jobs(tmp_path / "jobs.jsonl", 2)
    _, results = run(genvr_simulator, tmp_path, jobs, download_dir=files)
    assert statuses(results) == {"succeeded": 2}
    assert_files_are_the_simulators(genvr_simulator, results)


def test_part_files_left_by_a_killed_run_are_cleaned(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    dead_pid = 2**22 + 12345  # above Linux's default pid_max: no such process
    leftover = files / f".job-0_0.png.{dead_pid}.part"
    leftover.write_bytes(b"half a file")
    jobs = write_jobs(tmp_path / "jobs.jsonl", 1)
    _, results = run(genvr_simulator, tmp_path, jobs, download_dir=files)
    assert statuses(results) == {"succeeded": 1}
    assert not leftover.exists()
    assert sorted(p.name for p in files.iterdir()) == ["job-0_0.png"]


def test_cli_reports_download_failed_as_resumable(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "http_error", "route": "/files/*", "status": 404}]})
    monkeypatch.setenv("GENVR_API_KEY", sim.token)
    monkeypatch.setenv("GENVR_UID", sim.uid)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 2)
    out = tmp_path / "results.jsonl"
    argv = ["batch", "run", str(jobs), "--out", str(out), "--download", str(tmp_path / "files"), "--base-url", sim.base_url,
            "--resolver", "test_batch_runner:resolve", "--poll-interval", "0.02", "--max-poll-interval", "0.1",
            "--no-progress"]
    assert cli_main(argv) == 1
    err = capsys.readouterr().err
    assert "download_failed 2" in err and "re-run" in err
    assert cli_main(["batch", "status", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "total\t2\t0\t0\t2" in shown  # model, total, succeeded, failed, download_failed
    assert "download_failed: line 1 (job-0) [imagegen/flux_dev]: download failed" in shown
    sim.configure(faults={"rules": []})
    assert cli_main(argv) == 0
    results = [json.loads(x) for x in out.read_text().splitlines()]
    assert statuses(results) == {"succeeded": 2}
    assert_files_are_the_simulators(sim, results)


# -- item 5: replies matched to what was asked ------------------------------------------------------------------

def _rotate_items(request: httpx.Request, response: httpx.Response, body: bytes, path: str) -> httpx.Response | None:
    """Each item keeps its index but carries the next item's body (so its task id names another task)."""
    if request.url.path != path or response.status_code != 200:
        return None
    payload = json.loads(body)
    items = payload["data"]["results"]
    if len(items) < 2:
        return None
    bodies = [item["body"] for item in items]
    for i, item in enumerate(items):
        item["body"] = bodies[(i + 1) % len(items)]
    return json_reply(payload)


def test_status_items_are_applied_to_the_task_they_name(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    genvr_simulator.configure(faults={"seed": 3, "task_failure_rate": 0.5})
    tamper = Tamper(lambda rq, rs, b: _rotate_items(rq, rs, b, "/v2/status-batch"))
    jobs = write_jobs(tmp_path / "jobs.jsonl", 10)
    _, results = run(genvr_simulator, tmp_path, jobs, max_in_flight=10, transport=tamper)
    assert tamper.edits > 0
    truth = sim_tasks(genvr_simulator)
    assert {t["status"] for t in truth.values()} == {"completed", "failed"}  # the test means something
    for r in results:
        assert r["status"] == {"completed": "succeeded", "failed": "failed"}[truth[r["task_id"]]["status"]], r
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_a_foreign_status_item_is_ignored_and_logged_once(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    left = {"n": 3}

    def foreign(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        if request.url.path != "/v2/status-batch" or left["n"] == 0:
            return None
        left["n"] -= 1
        payload = json.loads(body)
        payload["data"]["results"][0]["body"] = {"success": True, "data": {"id": "pred_not_asked", "status": "failed",
                                                                           "error": "someone else's failure"}}
        return json_reply(payload)

    jobs = write_jobs(tmp_path / "jobs.jsonl", 2)
    with caplog.at_level(logging.DEBUG, logger="genvr_runtime"):
        _, results = run(genvr_simulator, tmp_path, jobs, transport=Tamper(foreign))
    assert statuses(results) == {"succeeded": 2}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "pred_not_asked" in r.getMessage()]
    assert len(warnings) == 1
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_a_response_still_processing_goes_back_to_polling(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    left = {"n": 4}  # more than the empty-output retries

    def not_yet(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        if request.url.path != "/v2/response-batch" or left["n"] == 0:
            return None
        left["n"] -= 1
        payload = json.loads(body)
        for item in payload["data"]["results"]:
            item["body"] = {"success": True, "data": {"status": "processing"}}
        return json_reply(payload)

    jobs = write_jobs(tmp_path / "jobs.jsonl", 2)
    _, results = run(genvr_simulator, tmp_path, jobs, transport=Tamper(not_yet))
    assert left["n"] == 0 and statuses(results) == {"succeeded": 2}
    check_invariants(genvr_simulator, jobs, results, tmp_path)


# The two jobs must meet in one response-batch call: the runner waits this long to fill one (its default,
# poll.base, left it to a 20 ms race that a loaded machine lost now and then).
TOGETHER = {"response_linger": 2.0}


def _two_kinds(tmp: Path) -> Path:
    path = tmp / "jobs.jsonl"
    path.write_text(
        json.dumps({"custom_id": "mesh", "model": "3dgen/tripo3d_2_5", "input": {"image_url": "https://example.com/a.png"}}) + "\n"
        + json.dumps({"custom_id": "picture", "model": "imagegen/flux_dev", "input": {"prompt": "a cat"}}) + "\n"
    )
    return path


def test_a_response_item_of_another_task_is_not_silently_accepted(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    swaps = {"left": 1}

    def swap_once(request: httpx.Request, response: httpx.Response, body: bytes) -> httpx.Response | None:
        if request.url.path != "/v2/response-batch" or swaps["left"] == 0:
            return None
        edited = _rotate_items(request, response, body, "/v2/response-batch")
        if edited is not None:
            swaps["left"] -= 1
        return edited

    jobs = _two_kinds(tmp_path)
    _, results = run(genvr_simulator, tmp_path, jobs, transport=Tamper(swap_once), resolver=resolve_3d,
                     download_dir=tmp_path / "files", **TOGETHER)
    assert swaps["left"] == 0, "the two jobs were never fetched in one call"
    assert statuses(results) == {"succeeded": 2}
    by_id = {r["custom_id"]: r for r in results}
    assert all(u.split("?")[0].endswith(".glb") for u in by_id["mesh"]["output"])  # its own output, fetched again
    assert all(u.split("?")[0].endswith(".png") for u in by_id["picture"]["output"])
    assert not by_id["mesh"].get("warnings") and not by_id["picture"].get("warnings")
    assert_files_are_the_simulators(genvr_simulator, results)


def test_an_output_of_the_wrong_kind_is_flagged_on_the_result_line(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    tamper = Tamper(lambda rq, rs, b: _rotate_items(rq, rs, b, "/v2/response-batch"))  # always swapped
    jobs = _two_kinds(tmp_path)
    _, results = run(genvr_simulator, tmp_path, jobs, transport=tamper, resolver=resolve_3d, **TOGETHER)
    assert tamper.edits > 0, "the two jobs were never fetched in one call"
    by_id = {r["custom_id"]: r for r in results}
    mesh = by_id["mesh"]
    assert mesh["warnings"] and mesh["warnings"][0]["type"] == "output_kind"
    assert ".png" in mesh["warnings"][0]["message"] and "3d" in mesh["warnings"][0]["message"]
    assert by_id["picture"]["warnings"] and ".glb" in by_id["picture"]["warnings"][0]["message"]


def test_the_runtime_reads_the_generators_output_kinds() -> None:
    from genvr.output_kinds import OUTPUT_KINDS
    from genvr_runtime._files import expected_output_kind, output_kind_warnings

    assert all(expected_output_kind(k) == (None if v == "file" else v) for k, v in OUTPUT_KINDS.items())
    assert output_kind_warnings("3dgen/tripo3d_2_5", ["https://x/a.glb?sig=1", "https://x/b.PNG"])[0]["index"] == 1
    assert output_kind_warnings("3dgen/panorama", ["https://x/a.png"]) == []  # a 3dgen model that makes images
    assert output_kind_warnings("imagegen/recraft_v3_svg", ["https://x/a.svg"]) == []
    assert output_kind_warnings("videogen/kling", ["https://x/a.bin", "data:video/mp4;base64,AAAA"]) == []


def test_a_journal_from_before_warnings_existed_still_opens_and_reports(tmp_path: Path) -> None:
    import sqlite3

    from genvr_runtime._batch.journal import Journal, result_rows

    path = tmp_path / "old.journal.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE jobs (line INTEGER PRIMARY KEY, custom_id TEXT NOT NULL UNIQUE, model TEXT NOT NULL, "
               "payload TEXT NOT NULL, payload_hash TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', task_id TEXT, "
               "chunk_id TEXT, idempotency_key TEXT, attempts INTEGER NOT NULL DEFAULT 0, submitted_at REAL, "
               "finished_at REAL, output TEXT, files TEXT, error TEXT, previous TEXT)")
    db.execute("INSERT INTO jobs (line, custom_id, model, payload, payload_hash, state) VALUES (1, 'a', 'imagegen/flux_dev', '{}', 'h', 'succeeded')")
    db.commit()
    assert [r["custom_id"] for r in result_rows(db)] == ["a"]  # read-only readers cope without the column
    db.close()
    with Journal(path) as journal:
        journal.finish([(1, "succeeded", ["https://x/a.glb"], None, None)], {1: [{"type": "output_kind", "message": "m"}]})
        assert next(result_rows(journal._db))["warnings"] == [{"type": "output_kind", "message": "m"}]


def test_an_item_repeated_identically_is_used(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    # Every status reply repeats its first item: the same answer twice is no ambiguity (a differing twin still is).
    genvr_simulator.configure(faults={"rules": [{"kind": "batch_shape", "route": "/v2/status-batch", "mode": "duplicate"}]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    _, results = run(genvr_simulator, tmp_path, jobs, max_wait=2.0)
    assert statuses(results) == {"succeeded": 3}
    check_invariants(genvr_simulator, jobs, results, tmp_path)
