"""Kill -9 the batch command at random points, resume each time: every job ends exactly once, nothing paid twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simulator import SimulatorServer
from test_batch_runner import check_invariants, write_jobs

TESTS = Path(__file__).resolve().parent
KILLS = 12


def command(sim: SimulatorServer, jobs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "genvr_runtime", "batch", "run", str(jobs), "--out", str(out), "--no-progress",
            "--base-url", sim.base_url, "--resolver", "test_batch_runner:resolve", "--poll-interval", "0.02",
            "--max-poll-interval", "0.1", "--max-in-flight", "40", *extra]


def env(sim: SimulatorServer) -> dict[str, str]:
    return {**os.environ, "GENVR_API_KEY": sim.token, "GENVR_UID": sim.uid,
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}


def test_sigkill_at_random_points_then_resume(genvr_simulator_factory: Any, tmp_path: Path) -> None:
    sim: SimulatorServer = genvr_simulator_factory(job_seconds=0.05, job_seconds_max=0.4,
                                                   faults={"seed": 3, "rules": [{"kind": "latency", "route": "*-batch",
                                                                                 "seconds": 0.02, "probability": 0.3}]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 300)
    out = tmp_path / "results.jsonl"
    rng = random.Random(2024)
    finished_early = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(command(sim, jobs, out), env=env(sim), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.4, 1.2))  # python start-up is ~0.4 s; kills land in every phase after it
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            finished_early += 1
        proc.wait()
    final = subprocess.run(command(sim, jobs, out), env=env(sim), capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == 300 and all(not r.get("resumable") for r in results), final.stderr
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    # Only jobs whose generate call was in flight at a kill may be `unknown` (≤ one 40-slot window per kill).
    assert set(counts) <= {"succeeded", "unknown"} and counts.get("unknown", 0) <= KILLS * 40
    assert counts["succeeded"] >= 300 - KILLS * 40 and finished_early < KILLS
    check_invariants(sim, jobs, results, tmp_path)
    # Resubmitting the unknowns finishes every job; still at most one task per job that was not ambiguous.
    subprocess.run(command(sim, jobs, out, "--resubmit-unknown"), env=env(sim), capture_output=True, timeout=120)
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["status"] == "succeeded" for r in results)
