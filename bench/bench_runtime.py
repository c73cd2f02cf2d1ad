"""Runtime benchmark (loopback only, < 3 minutes): HTTP calls of the batch runner vs the physical minimum and vs a
per-job poller measured in the same run; wall time vs job duration; peak memory validating a 100k-line file.

Times are scaled down 5× from GenVR's (base poll 0.2 s standing for the documented 1 s; jobs of 1–3 s standing for
5–15 s), so the ratios carry over while the run stays short.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

N_JOBS = 1000
BASE_POLL = 0.2
JOB_MIN, JOB_MAX = 1.0, 3.0
MEMORY_LINES = 100_000

_MODEL_SRC = '''
from typing import Literal
from genvr_runtime import GenVRInput, ModelInfo
class FluxDev(GenVRInput):
    prompt: str
    aspect_ratio: Literal["1:1", "16:9"] | None = None
FluxDev.genvr_model = ModelInfo(category="imagegen", subcategory="flux_dev", name="Flux Dev")
def resolve(category, subcategory):
    return FluxDev
'''


def _input_class() -> Any:
    """The hand-written input class, as a real module (the memory subprocess imports the same file)."""
    import importlib

    folder = Path(tempfile.mkdtemp(prefix="genvr-bench-"))
    (folder / "bench_models.py").write_text(_MODEL_SRC)
    sys.path.insert(0, str(folder))
    return vars(importlib.import_module("bench_models"))


def _write_jobs(path: Path, n: int, tag: str) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"custom_id": f"{tag}-{i}", "model": "imagegen/flux_dev", "input": {"prompt": f"{tag} {i}"}}) + "\n")


def _durations(sim: Any, prefix: str) -> list[float]:
    tasks = httpx.get(sim.url("/_sim/tasks")).json()["tasks"]
    return [t["duration"] for t in tasks if str(t["params"].get("prompt", "")).startswith(prefix)]


def _calls(sim: Any, routes: tuple[str, ...]) -> int:
    requests: dict[str, int] = sim.counters()["requests"]
    return sum(v for k, v in requests.items() if k.split(" ", 1)[1] in routes)


async def _per_job_poller(sim: Any, n: int) -> float:
    from genvr_runtime import AsyncBaseClient

    ns = _input_class()
    limits = httpx.Limits(max_connections=64)
    async with AsyncBaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url, poll_interval=BASE_POLL,
                               max_poll_interval=BASE_POLL, http_client=httpx.AsyncClient(limits=limits, timeout=60)) as client:
        started = time.monotonic()

        async def one(i: int) -> None:
            job = await client.submit(ns["FluxDev"].from_call(prompt=f"naive {i}"))
            await job.wait(timeout=120)

        await asyncio.gather(*(one(i) for i in range(n)))
        return time.monotonic() - started


def _memory(tmp: Path) -> tuple[float, float, float]:
    """Peak RSS (MB) of a bare interpreter with the runtime imported, and of validating + a dry run of 100k lines."""
    jobs = tmp / "big.jsonl"
    _write_jobs(jobs, MEMORY_LINES, "mem")
    (tmp / "bench_models.py").write_text(_MODEL_SRC)
    probe = textwrap.dedent(f"""
        import resource, sys, time
        sys.path.insert(0, {str(tmp)!r})
        import genvr_runtime, bench_models
        from genvr_runtime._batch.jsonl import validate_file
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if sys.argv[1] == "run":
            t = time.monotonic()
            report = validate_file(__import__("pathlib").Path({str(jobs)!r}), bench_models.resolve)
            assert report.ok and report.jobs == {MEMORY_LINES}
            print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.monotonic() - t)
        else:
            print(base, base, 0.0)
    """)
    out = subprocess.run([sys.executable, "-c", probe, "run"], capture_output=True, text=True, check=True, timeout=120)
    base, peak, seconds = (float(x) for x in out.stdout.split())
    return base, peak, seconds


def _full_run_memory(tmp: Path, sizes: tuple[int, ...] = (10_000, MEMORY_LINES)) -> list[tuple[int, float, float, int]]:
    """Peak RSS of the real CLI (`genvr batch run`) over whole runs against a simulator in its own process.

    Returns (lines, peak MB, seconds, HTTP calls) per size: flat memory means the peak barely moves with size.
    """
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp / "bench_models.py").write_text(_MODEL_SRC)
    sim = subprocess.Popen([sys.executable, "-m", "simulator", "--port", str(port), "--job-seconds", "0.05"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base_url}/_sim/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        rows = []
        for n in sizes:
            jobs = tmp / f"run{n}.jsonl"
            _write_jobs(jobs, n, f"run{n}")
            # One wrapper process per run, so RUSAGE_CHILDREN is that run's peak alone.
            wrapper = textwrap.dedent(f"""
                import os, resource, subprocess, sys, time
                env = {{**os.environ, "PYTHONPATH": {str(tmp)!r}, "GENVR_API_KEY": "sim-token", "GENVR_UID": "sim-user"}}
                t = time.monotonic()
                subprocess.run([sys.executable, "-m", "genvr_runtime", "batch", "run", {str(jobs)!r}, "--out",
                                {str(tmp / f"run{n}.out.jsonl")!r}, "--resolver", "bench_models:resolve", "--base-url",
                                {base_url!r}, "--poll-interval", "0.1", "--first-poll", "0.05", "--no-progress",
                                "--max-in-flight", "500"], env=env, check=True, capture_output=True)
                print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.monotonic() - t)
            """)
            before = sum(httpx.get(f"{base_url}/_sim/counters").json()["requests"].values())
            out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True, timeout=600)
            calls = sum(httpx.get(f"{base_url}/_sim/counters").json()["requests"].values()) - before
            peak, seconds = (float(x) for x in out.stdout.split())
            with (tmp / f"run{n}.out.jsonl").open() as results:
                assert sum(1 for _ in results) == n
            rows.append((n, peak, seconds, calls))
        return rows
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def main() -> None:
    from genvr_runtime import BaseClient, BatchPollSchedule
    from simulator.server import SimulatorServer
    from simulator.settings import Settings

    ns = _input_class()
    with tempfile.TemporaryDirectory() as tmp_name, \
            SimulatorServer(Settings(job_seconds=JOB_MIN, job_seconds_max=JOB_MAX, seed=1)) as sim:
        tmp = Path(tmp_name)
        jobs = tmp / "jobs.jsonl"
        _write_jobs(jobs, N_JOBS, "batch")
        poll = BatchPollSchedule(base=BASE_POLL, growth=0.05, maximum=10 * BASE_POLL)
        with BaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url) as client:
            started = time.monotonic()
            report = client.batch(jobs, tmp / "results.jsonl", resolver=lambda c, s: ns["FluxDev"], poll=poll,
                                  max_in_flight=N_JOBS, progress=False)
            batch_wall = time.monotonic() - started
        assert report.counts["succeeded"] == N_JOBS, report.counts
        batch_calls = sum(report.calls.get(p, 0) for p in ("/v2/generate-batch", "/v2/status-batch", "/v2/response-batch"))
        durations = _durations(sim, "batch")
        chunks = math.ceil(N_JOBS / 10)
        h_min = 3 * chunks
        polls_fixed = sum(math.ceil(d / BASE_POLL) for d in durations)
        h_fixed = 2 * chunks + math.ceil(polls_fixed / 10)
        h_naive_formula = N_JOBS * 2 + polls_fixed

        before = _calls(sim, ("/v2/generate", "/v2/status", "/v2/response"))
        naive_wall = asyncio.run(_per_job_poller(sim, N_JOBS))
        naive_calls = _calls(sim, ("/v2/generate", "/v2/status", "/v2/response")) - before

        base_mb, peak_mb, validate_s = _memory(tmp)
        full_runs = _full_run_memory(tmp)

    print(f"jobs {N_JOBS}, durations U({JOB_MIN:g},{JOB_MAX:g}) s, base poll {BASE_POLL:g} s, in-flight cap {N_JOBS}")
    print(f"batch runner calls           {batch_calls:6d}  {dict(report.calls)}")
    print(f"physical minimum 3*ceil(N/10) {h_min:6d}  ratio {batch_calls / h_min:.2f}x")
    print(f"fixed-interval formula H_fixed{h_fixed:6d}  ratio {batch_calls / h_fixed:.2f}x (target <= 1.1)")
    print(f"per-job poller (measured)    {naive_calls:6d}  ratio {naive_calls / batch_calls:.1f}x more than the batch runner"
          f" (formula {h_naive_formula})")
    print(f"wall: batch {batch_wall:.2f} s, per-job poller {naive_wall:.2f} s, longest job {max(durations):.2f} s "
          f"-> batch wall / longest job {batch_wall / max(durations):.2f}x")
    print(f"memory: validating {MEMORY_LINES} lines peak RSS {peak_mb:.0f} MB (runtime imported: {base_mb:.0f} MB, "
          f"+{peak_mb - base_mb:.0f} MB) in {validate_s:.1f} s")
    (small_n, small_mb, _, _), (big_n, big_mb, _, _) = full_runs[0], full_runs[-1]
    for n, peak, seconds, calls in full_runs:
        print(f"memory: full CLI run of {n} jobs (simulator, 0.05 s jobs): peak RSS {peak:.0f} MB, {seconds:.1f} s, "
              f"{calls} HTTP calls ({calls / (3 * math.ceil(n / 10)):.2f}x the physical minimum)")
    print(f"memory: {big_n // small_n}x the lines -> {big_mb / small_mb:.2f}x the peak RSS (flat = 1.0)")


if __name__ == "__main__":
    main()
