"""Paid work under interrupts, concurrent runners, weak `not found` evidence and an unreachable server (issue 9).

Each test drives the real `genvr batch run` process (or the Python client) against the simulator and reads the
simulator's counters as ground truth: what reached the server is what was paid for.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from genvr_runtime import APIConnectionError, BaseClient
from genvr_runtime._batch.journal import Journal
from simulator import SimulatorServer
from test_batch_crash import command, env
from test_batch_runner import FluxDev, GEN, STATUS, rule, run, statuses, write_jobs

TESTS = Path(__file__).resolve().parent


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def generate_requests(sim: SimulatorServer) -> int:
    return int(sim.counters()["requests"].get("POST /v2/generate-batch", 0))


def journal_counts(journal: Path) -> dict[str, int]:
    db = sqlite3.connect(journal)
    try:
        return dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- 1. interrupts ---------------------------------------------------------------------------------------------------

def test_ctrl_c_during_validation_sends_nothing(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 400)
    marker = tmp_path / "validating"
    cmd = command(genvr_simulator, jobs, tmp_path / "out.jsonl")
    cmd[cmd.index("test_batch_runner:resolve")] = "batch_slow_resolver:resolve"
    proc = subprocess.Popen(cmd, env={**env(genvr_simulator), "GENVR_TEST_MARKER": str(marker)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(marker.exists)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    time.sleep(0.3)
    assert genvr_simulator.counters()["tasks_created"] == 0 and generate_requests(genvr_simulator) == 0


def test_ctrl_c_during_retry_after_wait_sends_nothing_more(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("rate_limit", GEN, retry_after=30)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 20)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(command(sim, jobs, out), env=env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: len(sim.counters()["faults_fired"]) >= 1)
    seen = generate_requests(sim)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)  # not 30 s later: the wait is interrupted
    assert proc.returncode == 130 and "Traceback" not in err, err
    sim.configure(faults={})
    time.sleep(0.3)
    assert generate_requests(sim) == seen and sim.counters()["tasks_created"] == 0
    assert journal_counts(Path(f"{out}.journal.db")) == {"pending": 20}  # nothing was created: not `unknown`


def test_sigkill_during_retry_after_wait_leaves_jobs_pending_not_unknown(genvr_simulator: SimulatorServer,
                                                                         tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("rate_limit", GEN, retry_after=30)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 20)
    out = tmp_path / "out.jsonl"
    # One chunk at a time, so that at the kill no call is on the wire: the run is only waiting out Retry-After.
    cmd = command(sim, jobs, out, "--max-in-flight", "10")
    proc = subprocess.Popen(cmd, env=env(sim), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: len(sim.counters()["faults_fired"]) >= 1)
    time.sleep(0.5)  # the 429 is read and journaled; the run now sleeps for 30 s
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    sim.configure(faults={})
    final = subprocess.run(command(sim, jobs, out), env=env(sim), capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert statuses(results) == {"succeeded": 20}, final.stderr
    assert all(n == 1 for n in sim.counters()["tasks_by_input"].values())


def test_ctrl_c_while_calls_wait_for_a_slot_sends_none_of_them(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("latency", GEN, seconds=1.5)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 30)
    out = tmp_path / "out.jsonl"
    cmd = command(sim, jobs, out, "--max-concurrent-calls", "1")
    proc = subprocess.Popen(cmd, env=env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: generate_requests(sim) >= 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    time.sleep(0.3)
    assert generate_requests(sim) == 1  # the call already on the wire; the two queued behind it never left
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert statuses(results) == {"succeeded": 10, "pending": 20}  # what was paid for is still collected


def test_ctrl_c_while_waiting_for_one_job_names_the_task(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(job_seconds=30)
    with BaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url) as client:
        job = client.submit(FluxDev(prompt="slow"))
        timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt) as caught:
            job.wait()
        timer.join()
    text = str(caught.value)
    assert job.task_id in text and "client.job('imagegen/flux_dev'" in text


def test_a_run_started_with_sigint_ignored_keeps_ignoring_it(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    # `nohup genvr batch run ... &` or a script's background job: Ctrl-C on the terminal is not meant for it.
    sim = genvr_simulator
    sim.configure(job_seconds=1.0)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 10)
    out = tmp_path / "out.jsonl"
    ignoring = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command(sim, jobs, out)]
    proc = subprocess.Popen(ignoring, env=env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: sim.counters()["tasks_created"] >= 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "interrupted" not in err, err
    assert statuses([json.loads(line) for line in out.read_text().splitlines()]) == {"succeeded": 10}


# -- 2. one runner per journal and per results file -----------------------------------------------------------------

def test_other_spellings_of_a_running_journal_or_results_file_are_refused(genvr_simulator: SimulatorServer,
                                                                          tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(job_seconds=20)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 10)
    out = tmp_path / "out.jsonl"
    first = subprocess.Popen(command(sim, jobs, out), env=env(sim), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sim.counters()["tasks_created"] == 10)
        (tmp_path / "link.db").symlink_to(f"{out}.journal.db")
        attempts = {
            "symlinked journal": command(sim, jobs, tmp_path / "other.jsonl", "--journal", str(tmp_path / "link.db")),
            "same out, other journal": command(sim, jobs, out, "--journal", str(tmp_path / "second.db")),
            "same out, other spelling": command(sim, jobs, tmp_path / "sub" / ".." / "out.jsonl",
                                                "--journal", str(tmp_path / "third.db")),
        }
        (tmp_path / "sub").mkdir()
        for name, cmd in attempts.items():
            done = subprocess.run(cmd, env=env(sim), capture_output=True, text=True, timeout=60)
            assert done.returncode == 2 and "in use by another" in done.stderr, (name, done.stderr)
        assert sim.counters()["tasks_created"] == 10  # nobody paid twice
    finally:
        first.kill()
        first.wait()


def test_out_resolving_to_the_input_is_refused(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    before = jobs.read_bytes()
    (tmp_path / "alias.jsonl").symlink_to(jobs)
    for out in (jobs, tmp_path / "alias.jsonl", tmp_path / "." / "jobs.jsonl"):
        done = subprocess.run(command(genvr_simulator, jobs, out), env=env(genvr_simulator), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and "input" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert jobs.read_bytes() == before and generate_requests(genvr_simulator) == 0


def test_intent_is_written_only_for_jobs_still_pending(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.db") as journal:
        journal.load([(i, f"c{i}", "imagegen/flux_dev", "{}", "h") for i in (1, 2, 3)], {"format": "1"})
        journal.record_submission({2: "pred_x"}, {}, {}, [])  # line 2 was sent already (e.g. by another process)
        assert journal.mark_intent([1, 2, 3], "chunk", "key") == [1, 3]
        assert journal.counts()["processing"] == 1 and journal.counts()["submitting"] == 2


# -- 3. `lost` needs consecutive evidence over time; a rerun asks the server again ----------------------------------

class FlakyNotFound(httpx.AsyncBaseTransport):
    """Answers every other status-batch call with a 404 item for every task (the server's hiccup, not a loss)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.status_calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == STATUS:
            self.status_calls += 1
            if self.status_calls % 2:
                await response.aread()
                n = len(json.loads(request.content)["requests"])
                items = [{"index": i, "status": 404, "body": {"success": False, "message": "Task not found"}} for i in range(n)]
                return httpx.Response(200, json={"success": True, "data": {"results": items}})
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_scattered_not_found_answers_do_not_abandon_a_live_task(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(job_seconds=0.6)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 5)
    transport = FlakyNotFound()
    _, results = run(sim, tmp_path, jobs, transport=transport, lost_after=3)
    assert transport.status_calls >= 6  # several not-found answers per task, never three in a row
    assert statuses(results) == {"succeeded": 5}


def test_a_rerun_polls_lost_tasks_again(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("item_error", STATUS, status=404)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 5)
    _, results = run(sim, tmp_path, jobs, lost_after=2, lost_after_seconds=0.1)
    assert statuses(results) == {"lost": 5}
    sim.configure(faults={})
    _, results = run(sim, tmp_path, jobs)
    assert statuses(results) == {"succeeded": 5} and sim.counters()["tasks_created"] == 5


# -- 7. an unreachable server ---------------------------------------------------------------------------------------

def test_unreachable_server_stops_the_batch_with_one_line(tmp_path: Path) -> None:
    port = free_port()
    jobs = write_jobs(tmp_path / "jobs.jsonl", 12)
    out = tmp_path / "out.jsonl"
    fake = SimpleNamespace(base_url=f"http://127.0.0.1:{port}", token="k-unreachable", uid="u")
    done = subprocess.run(command(fake, jobs, out, "--give-up-after", "1"), env=env(fake), capture_output=True,  # type: ignore[arg-type]
                          text=True, timeout=120)
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    line = next(x for x in done.stderr.splitlines() if f"127.0.0.1:{port}" in x)
    assert "connection refused" in line.lower()
    assert journal_counts(Path(f"{out}.journal.db")) == {"pending": 12}  # never shown as sent; resumable
    status = subprocess.run([sys.executable, "-m", "genvr_runtime", "batch", "status", str(out), "--json"],
                            env=env(fake), capture_output=True, text=True, timeout=60)  # type: ignore[arg-type]
    counts = json.loads(status.stdout)["counts"]
    assert counts["pending"] == 12 and counts["submitting"] == 0


def test_while_the_server_is_unreachable_the_progress_line_says_what_it_retries(tmp_path: Path) -> None:
    port = free_port()
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    fake = SimpleNamespace(base_url=f"http://127.0.0.1:{port}", token="k-unreachable", uid="u")
    cmd = [c for c in command(fake, jobs, tmp_path / "out.jsonl", "--give-up-after", "7", "--progress")  # type: ignore[arg-type]
           if c != "--no-progress"]
    done = subprocess.run(cmd, env=env(fake), capture_output=True, text=True, timeout=120)  # type: ignore[arg-type]
    line = next(x for x in done.stderr.splitlines() if x.startswith("[genvr batch]"))
    assert f"cannot reach http://127.0.0.1:{port} (connection refused)" in line and "retrying (attempt " in line
    assert "next in " in line and done.returncode == 5


def test_connection_error_names_the_url_and_the_cause() -> None:
    port = free_port()
    with BaseClient(api_key="k", uid="u", base_url=f"http://127.0.0.1:{port}", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            client.submit(FluxDev(prompt="x"))
    assert f"http://127.0.0.1:{port}" in str(caught.value) and "connection refused" in str(caught.value).lower()

