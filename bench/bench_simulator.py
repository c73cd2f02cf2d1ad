"""Simulator capacity: 1000 tasks in flight and >= 200 requests/s, against a trivial Starlette baseline.

Both servers run in SEPARATE processes (the load generator keeps its own GIL), on 127.0.0.1 only. Bounded:
1000 tasks, two 5 s open-loop phases and two 2 s closed-loop phases; under a minute in all.
Run: `python -m bench.bench_simulator` (or `main()`); exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN, UID = "sim-token", "sim-user"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
MODEL = {"category": "imagegen", "subcategory": "flux_dev"}

# The baseline: the least a Starlette+uvicorn server can do per request (constant JSON).
BASELINE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
BODY = {"success": True, "data": {"id": "pred_0000000000", "status": "processing"}}
async def ok(request):
    await request.body()
    return JSONResponse(BODY)
async def health(request):
    return JSONResponse({"ok": True})
app = Starlette(routes=[Route("/_sim/health", health), Route("/v2/status", ok, methods=["POST"]),
                        Route("/v2/generate", ok, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, lifespan="off")
"""


@dataclass
class PhaseResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    in_flight_seen: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"{self.name:<28} {self.requests:>6} req  {self.rps:>8.1f} req/s  p50 {self.pct(0.5):6.2f} ms  "
                f"p99 {self.pct(0.99):7.2f} ms  errors {self.errors}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def _server(argv: list[str], port: int) -> Iterator[str]:
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/_sim/health", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"server did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _create_tasks(client: httpx.AsyncClient, n: int, concurrency: int) -> tuple[list[str], PhaseResult]:
    ids: list[str] = []
    latencies: list[float] = []
    errors = 0
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal errors
        async with sem:
            t0 = time.perf_counter()
            try:
                r = await client.post("/v2/generate", json={"uid": UID, **MODEL, "prompt": f"bench {i}"})
                latencies.append(time.perf_counter() - t0)
                if r.status_code == 200:
                    ids.append(r.json()["data"]["id"])
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return ids, PhaseResult(f"create {n} tasks", n, errors, time.perf_counter() - started, latencies)


async def _open_loop(client: httpx.AsyncClient, ids: list[str], rate: float, seconds: float, name: str) -> PhaseResult:
    """Fire status calls on a fixed schedule (open loop: a slow server cannot slow the offered load)."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    in_flight: set[str] = set()

    async def one(task_id: str) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        try:
            r = await client.post("/v2/status", json={"id": task_id, "uid": UID, **MODEL})
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors += 1
            elif r.json()["data"]["status"] not in ("completed", "failed"):
                in_flight.add(task_id)
        except httpx.HTTPError:
            errors += 1

    started = time.perf_counter()
    pending = []
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(one(ids[i % len(ids)])))
    await asyncio.gather(*pending)
    return PhaseResult(name, total, errors, time.perf_counter() - started, latencies, len(in_flight))


async def _closed_loop(client: httpx.AsyncClient, ids: list[str], workers: int, seconds: float,
                       name: str) -> PhaseResult:
    """As fast as the server answers, `workers` requests outstanding at a time."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal errors
        i = w
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                r = await client.post("/v2/status", json={"id": ids[i % len(ids)], "uid": UID, **MODEL})
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code != 200
            except httpx.HTTPError:
                errors += 1
            i += workers

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return PhaseResult(name, len(latencies), errors, time.perf_counter() - started, latencies)


async def _measure(base: str, tasks: int, rate: float, seconds: float, workers: int,
                   label: str) -> tuple[PhaseResult | None, PhaseResult, PhaseResult]:
    limits = httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers * 2)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, limits=limits, timeout=30) as client:
        created: PhaseResult | None = None
        if label == "simulator":
            ids, created = await _create_tasks(client, tasks, workers)
        else:
            ids = [f"pred_{i:010d}" for i in range(tasks)]
        steady = await _open_loop(client, ids, rate, seconds, f"{label}: status @ {rate:.0f}/s")
        peak = await _closed_loop(client, ids, workers, 2.0, f"{label}: status, max rate")
    return created, steady, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args(argv)

    sim_port, base_port = _free_port(), _free_port()
    # Jobs outlive the run, so every task stays in flight while it is polled.
    sim_cmd = [sys.executable, "-m", "simulator", "--port", str(sim_port), "--job-seconds", "600"]
    with _server(sim_cmd, sim_port) as base:
        created, steady, peak = asyncio.run(_measure(base, args.tasks, args.rate, args.seconds, args.workers,
                                                     "simulator"))
        counters = httpx.get(f"{base}/_sim/counters").json()
    with _server([sys.executable, "-c", BASELINE_APP, str(base_port)], base_port) as base:
        _, b_steady, b_peak = asyncio.run(_measure(base, args.tasks, args.rate, args.seconds, args.workers,
                                                   "baseline"))

    assert created is not None
    print("GenVR simulator benchmark (separate server processes, loopback)")
    for result in (created, steady, peak, b_steady, b_peak):
        print("  " + result.line())
    in_flight = counters["tasks_created"]
    print(f"  tasks in flight: {in_flight} created, {steady.in_flight_seen} distinct seen non-terminal while polled")
    print(f"  ratio simulator/baseline: max rate {peak.rps / b_peak.rps:.2f}x, "
          f"p50 at {args.rate:.0f}/s {steady.pct(0.5) / b_steady.pct(0.5):.2f}x, "
          f"p99 at {args.rate:.0f}/s {steady.pct(0.99) / b_steady.pct(0.99):.2f}x")
    ok = (created.errors == 0 and steady.errors == 0 and peak.errors == 0 and in_flight >= args.tasks
          and steady.in_flight_seen >= min(args.tasks, int(args.rate * args.seconds))
          and steady.rps >= 0.95 * args.rate and peak.rps >= args.rate)
    print(f"  targets ({args.tasks} in flight, {args.rate:.0f} req/s, no errors): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
