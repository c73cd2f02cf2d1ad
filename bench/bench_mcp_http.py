"""MCP over Streamable HTTP under load (loopback only, < 1 minute): `genvr-mcp --http` in its own process, 50 users
with their own credentials each running one job (with progress) at once, and how fast `tools/list` answers
meanwhile, against the same server idle. The simulator runs in this process (a thread); clients are the
official `mcp` client.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from simulator.server import SimulatorServer
from simulator.settings import Settings

USERS = 50
JOB_SECONDS = 5.0
FLUX = "genvr_imagegen__flux_dev"


def _client(url: str, key: str, uid: str) -> tuple[Any, Client]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}", "X-GenVR-UID": uid})
    return http, Client(streamable_http_client(url, http_client=http))


def _summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
    return f"{label:<34} n={len(ms):>4}  p50={statistics.median(ms):7.1f} ms  p95={p95:7.1f} ms  max={ms[-1]:7.1f} ms"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(url: str, pairs: list[tuple[str, str]], server_pid: int) -> None:
    idle: list[float] = []
    loaded: list[float] = []
    done = anyio.Event()
    results: dict[str, Any] = {}
    notifications = 0

    async def one_user(key: str, uid: str) -> None:
        nonlocal notifications

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            nonlocal notifications
            notifications += 1

        http, client = _client(url, key, uid)
        async with http, client:
            results[uid] = await client.call_tool(FLUX, {"prompt": f"prompt of {uid}"}, progress_callback=on_progress)

    async def lister(key: str, uid: str, into: list[float], count: int | None) -> None:
        http, client = _client(url, key, uid)
        async with http, client:
            while (count is None and not done.is_set()) or (count is not None and len(into) < count):
                started = time.perf_counter()
                await client.list_tools(cache_mode="bypass")
                into.append(time.perf_counter() - started)
                await anyio.sleep(0.05)

    await lister(*pairs[0], idle, 50)
    cpu_before, own_before = _cpu_seconds(server_pid), _cpu_seconds(os.getpid())
    started = time.perf_counter()
    async with anyio.create_task_group() as watchers:
        watchers.start_soon(lister, *pairs[0], loaded, None)
        async with anyio.create_task_group() as jobs:
            for key, uid in pairs:
                jobs.start_soon(one_user, key, uid)
        done.set()
    wall = time.perf_counter() - started
    cpu, own = _cpu_seconds(server_pid) - cpu_before, _cpu_seconds(os.getpid()) - own_before
    ok = sum(1 for r in results.values() if not r.is_error)
    print(_summary("tools/list, server idle", idle))
    print(_summary(f"tools/list, {len(pairs)} jobs running", loaded))
    print(f"{len(pairs)} sessions, {ok} results ok, {notifications} progress notifications, "
          f"all done in {wall:.1f} s (each job takes {JOB_SECONDS:.0f} s on the simulator); "
          f"CPU: server {cpu:.1f} s ({cpu / len(pairs) * 1000:.0f} ms a job), clients + simulator {own:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    pairs = [(f"bench-key-{i:02d}-{os.urandom(4).hex()}", f"bench-user-{i:02d}") for i in range(USERS)]
    with SimulatorServer(Settings(job_seconds=JOB_SECONDS, tokens=dict(pairs))) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENVR_")} | {"GENVR_BASE_URL": sim.base_url}
        argv = [sys.executable, "-m", "genvr_runtime.tools.mcp_server", "--http", "--port", "0", "--categories", "imagegen"]
        server = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stderr is not None
            found = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", server.stderr.readline())
            if found is None:
                raise SystemExit("genvr-mcp did not start")
            anyio.run(_measure, found.group(1), pairs, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
