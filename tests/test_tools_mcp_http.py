"""The MCP server over Streamable HTTP, driven by the official `mcp` client against the simulator: credentials per
client, progress, cancellation, the submit/result pair, outputs as content, isolation under 50 concurrent users."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared._httpx_utils import create_mcp_http_client

from genvr.models import load_input_class
from genvr.tools import TOOL_NAMES
from genvr_runtime import AsyncBaseClient
from genvr_runtime.tools.mcp_http import bind, http_app, running
from genvr_runtime.tools.mcp_server import RESULT_TOOL, SUBMIT_TOOL, HttpAccounts, build_server, load_tools, select_tools
from simulator.server import SimulatorServer
from simulator.state import ManualClock

SERVER = [sys.executable, "-m", "genvr_runtime.tools.mcp_server"]
CATEGORIES = ("imagegen", "audiogen", "3dgen")
FLUX = "genvr_imagegen__flux_dev"
Progress = list[tuple[float, str]]


@asynccontextmanager
async def mcp_http(sim: SimulatorServer, *, job_tools: bool = True) -> AsyncIterator[str]:
    """The HTTP MCP server in this event loop, talking to `sim`; yields its /mcp URL."""
    tools = select_tools(load_tools(), categories=CATEGORIES)
    sock = bind("127.0.0.1", 0)
    async with httpx.AsyncClient(timeout=60) as http:
        accounts = HttpAccounts(http, [t["name"] for t in tools], base_url=sim.base_url)
        server = build_server(accounts, tools, with_job_tools=job_tools, downloads=http, progress_interval=0.05)
        async with running(http_app(server, "127.0.0.1"), sock):
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"


@asynccontextmanager
async def connect(url: str, key: str | None, uid: str | None, **options: Any) -> AsyncIterator[Client]:
    """The official client over Streamable HTTP, sending these credentials (None: leave the header out)."""
    headers = {**({"Authorization": f"Bearer {key}"} if key else {}), **({"X-GenVR-UID": uid} if uid else {})}
    async with create_mcp_http_client(headers=headers) as http, Client(streamable_http_client(url, http_client=http), **options) as client:
        yield client


def recorder(into: Progress) -> Any:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        into.append((progress, message or ""))

    return on_progress


async def until(condition: Any, attempts: int = 400) -> None:
    """Wait (bounded: 400 × 50 ms) until `condition()` holds."""
    for _ in range(attempts):
        if condition():
            return
        await anyio.sleep(0.05)
    raise AssertionError("condition never held")


def users(sim_factory: Any, count: int, **settings: Any) -> tuple[SimulatorServer, list[tuple[str, str]]]:
    """A dedicated simulator knowing `count` users; their (key, uid) pairs."""
    pairs = [(f"key-{i:02d}-{os.urandom(4).hex()}", f"user-{i:02d}") for i in range(count)]
    return sim_factory(tokens=dict(pairs), **settings), pairs


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # auto negotiates the 2026 per-request era; legacy initializes a session
async def test_initialize_list_and_call_with_progress(genvr_simulator_factory: Any, mode: str) -> None:
    clock = ManualClock()  # the job moves on when the test says so: every stage is seen whatever the machine load
    sim, [(key, uid)] = users(genvr_simulator_factory, 1, clock=clock, job_seconds=10)
    progress: Progress = []

    async def move_job_along() -> None:
        for stage, seconds in (("queued", 6), ("processing", 5)):  # queued for 5 s, then processing, then done
            await until(lambda: any(f": {stage}," in m for _, m in progress))
            clock.advance(seconds)

    async with mcp_http(sim) as url, connect(url, key, uid, mode=mode) as client, anyio.create_task_group() as tg:
        assert client.server_info is None or client.server_info.name == "genvr"
        listed = await client.list_tools()
        tg.start_soon(move_job_along)
        result = await client.call_tool(FLUX, {"prompt": "a lighthouse"}, progress_callback=recorder(progress))
    served = {n for n, k in TOOL_NAMES.items() if k.split("/")[0] in CATEGORIES}
    assert {t.name for t in listed.tools} == served | {SUBMIT_TOOL, RESULT_TOOL}
    assert not result.is_error and result.structured_content is not None
    task_id, [url] = result.structured_content["task_id"], result.structured_content["output"]
    # Progress: growing, the task id from the moment GenVR accepted the job, the stages in order, elapsed time.
    values, messages = [p for p, _ in progress], [m for _, m in progress]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert messages[0].startswith("submitting") and "no cancel endpoint" in messages[1] and task_id in messages[1]
    stages = [re.match(rf"task {task_id}: (\w+), [\d.]+ s elapsed", m).group(1) for m in messages[1:]]  # type: ignore[union-attr]
    firsts = [s for i, s in enumerate(stages) if s not in stages[:i]]
    assert firsts == ["queued", "processing", "downloading"], stages
    # Content: the JSON, a link to the file, and the (small) image inline.
    assert [c.type for c in result.content] == ["text", "resource_link", "image"]
    link, image = result.content[1], result.content[2]
    assert isinstance(link, types.ResourceLink) and str(link.uri) == url and link.mime_type == "image/png"
    assert isinstance(image, types.ImageContent) and image.mime_type == "image/png"
    assert base64.b64decode(image.data) == httpx.get(url).content


async def test_audio_inline_and_other_files_as_links(genvr_simulator: SimulatorServer) -> None:
    async with mcp_http(genvr_simulator) as url, connect(url, genvr_simulator.token, genvr_simulator.uid) as client:
        audio = await client.call_tool("genvr_audiogen__google_lyria2", {"prompt": "rain"})
        model = await client.call_tool("genvr_3dgen__trellis", {"images": ["https://example.com/a.png"]})
    assert [c.type for c in audio.content] == ["text", "resource_link", "audio"]
    assert isinstance(audio.content[2], types.AudioContent) and audio.content[2].mime_type == "audio/wav"
    assert base64.b64decode(audio.content[2].data)[:4] == b"RIFF"
    assert [c.type for c in model.content] == ["text", "resource_link"]  # a .glb: a link only
    assert model.structured_content and str(model.content[1].uri) == model.structured_content["output"][0]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # auto: the client closes the stream; legacy: notifications/cancelled
async def test_cancel_stops_waiting_and_the_task_stays_reachable(
    genvr_simulator_factory: Any, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    clock = ManualClock()
    sim, [(key, uid), (other_key, other_uid)] = users(genvr_simulator_factory, 2, clock=clock, job_seconds=30)
    progress: Progress = []
    submitted = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message or ""))
        if "task " in (message or ""):
            submitted.set()

    caplog.set_level(logging.WARNING, logger="genvr_runtime")
    async with mcp_http(sim) as url, connect(url, key, uid, mode=mode) as client, connect(url, other_key, other_uid) as other:
        with anyio.CancelScope() as call:
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: client.call_tool(FLUX, {"prompt": "slow"}, progress_callback=on_progress))
                await submitted.wait()
                call.cancel()  # the client gives up: MCP cancellation
        task_id = re.search(r"task (\S+):", progress[-1][1]).group(1)  # type: ignore[union-attr]
        assert "no cancel endpoint" in " ".join(m for _, m in progress)
        # The server notices the cancellation and logs what it left behind.
        await until(lambda: any("cancelled by the client" in r.getMessage() for r in caplog.records))
        warning = next(r.getMessage() for r in caplog.records if "cancelled by the client" in r.getMessage())
        assert task_id in warning and "no cancel endpoint" in warning and "billed" in warning and RESULT_TOOL in warning
        await anyio.sleep(0.3)  # a status call already on the wire lands
        polls = sim.counters()["requests"]["POST /v2/status"]
        await anyio.sleep(1.0)  # the job is still running, but nobody polls it any more (a poller would, ~every 0.5 s)
        assert sim.counters()["requests"]["POST /v2/status"] == polls
        running_now = await client.call_tool(RESULT_TOOL, {"task_id": task_id})
        stranger = await other.call_tool(RESULT_TOOL, {"task_id": task_id})
        clock.advance(31)  # the task finishes on GenVR anyway (and is billed): its outputs are still reachable
        finished = await client.call_tool(RESULT_TOOL, {"task_id": task_id})
    assert not running_now.is_error and running_now.structured_content == {
        "task_id": task_id, "model": "imagegen/flux_dev", "tool": FLUX, "status": "queued", "done": False}  # fmt: skip
    assert stranger.is_error and "unknown_task" in stranger.content[0].text  # type: ignore[union-attr]
    assert not finished.is_error and finished.structured_content and finished.structured_content["task_id"] == task_id
    assert sim.counters()["tasks_created"] == 1


async def test_submit_then_result(genvr_simulator: SimulatorServer) -> None:
    async with mcp_http(genvr_simulator) as url, connect(url, genvr_simulator.token, genvr_simulator.uid) as client:
        started = await client.call_tool(SUBMIT_TOOL, {"tool": FLUX, "arguments": {"prompt": "a fox"}})
        invalid = await client.call_tool(SUBMIT_TOOL, {"tool": FLUX, "arguments": {"prompt": "a fox", "aspect_ratio": "7:3"}})
        assert not started.is_error and started.structured_content
        task_id = started.structured_content["task_id"]
        done = await client.call_tool(RESULT_TOOL, {"task_id": task_id, "wait_seconds": 30})
        bad_wait = await client.call_tool(RESULT_TOOL, {"task_id": task_id, "wait_seconds": 61})
        no_id = await client.call_tool(RESULT_TOOL, {})
    assert invalid.is_error and "aspect_ratio" in invalid.content[0].text  # type: ignore[union-attr]
    assert not done.is_error and done.structured_content and done.structured_content["status"] == "completed"
    assert [c.type for c in done.content] == ["text", "resource_link", "image"]
    assert bad_wait.is_error and "wait_seconds" in bad_wait.content[0].text  # type: ignore[union-attr]
    assert no_id.is_error and "task_id: give" in no_id.content[0].text  # type: ignore[union-attr]
    assert genvr_simulator.counters()["tasks_created"] == 1


async def test_requests_without_credentials_get_401_saying_what_to_send(genvr_simulator: SimulatorServer) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    accept = {"Accept": "application/json, text/event-stream"}
    async with mcp_http(genvr_simulator) as url:
        async with httpx.AsyncClient() as http:
            none = await http.post(url, json=initialize, headers=accept)
            key_only = await http.post(url, json=initialize, headers={**accept, "Authorization": f"Bearer {genvr_simulator.token}"})
            uid_only = await http.post(url, json=initialize, headers={**accept, "X-GenVR-UID": genvr_simulator.uid})
            stream = await http.get(url, headers={"Accept": "text/event-stream"})  # the SSE stream too
        with pytest.raises(BaseException) as refused:  # the official client fails to connect (it hides the status)
            async with connect(url, None, None):
                pass
        async with connect(url, "not-a-key", genvr_simulator.uid) as client:  # well-formed but wrong: GenVR refuses
            wrong = await client.call_tool(FLUX, {"prompt": "x"})
    for response in (none, key_only, uid_only, stream):
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        text = response.json()["error_description"]
        assert "Authorization: Bearer <your GenVR API key>" in text and "X-GenVR-UID" in text
    assert [type(e) for e in _leaves(refused.value)] == [MCPError]
    refusal = wrong.content[0].text  # type: ignore[union-attr]
    assert wrong.is_error and "configuration_error" in refusal and "X-GenVR-UID headers" in refusal and "not-a-key" not in refusal
    assert genvr_simulator.counters()["tasks_created"] == 0


async def _call_with(url: str, key: str, uid: str, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
    async with connect(url, key, uid) as client:
        return await client.call_tool(tool, arguments)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc, *(_leaves(exc.__cause__) if exc.__cause__ else [])]


async def test_two_users_are_isolated(genvr_simulator_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    sim, [(key_a, uid_a), (key_b, uid_b)] = users(genvr_simulator_factory, 2)
    caplog.set_level(logging.DEBUG)
    async with mcp_http(sim) as url, connect(url, key_a, uid_a) as a, connect(url, key_b, uid_b) as b:
        started = await a.call_tool(SUBMIT_TOOL, {"tool": FLUX, "arguments": {"prompt": "A's fox"}})
        assert started.structured_content
        task_a = started.structured_content["task_id"]
        peek = await b.call_tool(RESULT_TOOL, {"task_id": task_a, "wait_seconds": 5})
        own_b = await b.call_tool(FLUX, {"prompt": "B's owl"})
        own_a = await a.call_tool(RESULT_TOOL, {"task_id": task_a, "wait_seconds": 30})
        # A handshake-era session belongs to the credentials that opened it: B cannot use A's session id.
        headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {key_a}", "X-GenVR-UID": uid_a}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        async with httpx.AsyncClient() as http:
            opened = await http.post(url, json=init, headers=headers)
            session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
            await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers={**headers, **session})
            as_b = await http.post(url, json=listing, headers={**headers, **session, "Authorization": f"Bearer {key_b}", "X-GenVR-UID": uid_b})
            as_a = await http.post(url, json=listing, headers={**headers, **session})
    assert peek.is_error and "unknown_task" in peek.content[0].text  # type: ignore[union-attr]
    assert own_a.structured_content and own_a.structured_content["task_id"] == task_a
    assert own_b.structured_content and own_b.structured_content["task_id"] != task_a
    tasks = {t["id"]: t for t in httpx.get(sim.url("/_sim/tasks")).json()["tasks"]}
    assert tasks[task_a]["uid"] == uid_a and tasks[task_a]["params"]["prompt"] == "A's fox"
    assert tasks[own_b.structured_content["task_id"]]["uid"] == uid_b
    assert as_b.status_code == 404 and as_a.status_code == 200 and FLUX in as_a.text
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert len(caplog.records) > 10 and key_a not in logged and key_b not in logged


async def test_fifty_concurrent_users_get_only_their_own_results(
    genvr_simulator_factory: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every result and progress notification goes to the session that asked; no key in any log. The list_tools
    latency while the 50 jobs run is printed (bench/bench_mcp_http.py measures it properly), not asserted."""
    sim, pairs = users(genvr_simulator_factory, 50, job_seconds=1.0)
    caplog.set_level(logging.INFO)
    results: dict[str, types.CallToolResult] = {}
    progress: dict[str, Progress] = {uid: [] for _, uid in pairs}
    latencies: list[float] = []
    jobs_done = anyio.Event()

    async def one_user(key: str, uid: str) -> None:
        async with connect(url, key, uid) as client:
            results[uid] = await client.call_tool(FLUX, {"prompt": f"prompt of {uid}"}, progress_callback=recorder(progress[uid]))

    async def list_tools_meanwhile(key: str, uid: str) -> None:
        async with connect(url, key, uid) as client:
            while not jobs_done.is_set():
                started = time.perf_counter()
                await client.list_tools(cache_mode="bypass")  # a real round trip, not the client cache
                latencies.append(time.perf_counter() - started)
                await anyio.sleep(0.02)

    async with mcp_http(sim) as url:
        async with anyio.create_task_group() as watchers:
            watchers.start_soon(list_tools_meanwhile, *pairs[0])
            async with anyio.create_task_group() as tg:
                for key, uid in pairs:
                    tg.start_soon(one_user, key, uid)
            jobs_done.set()
    tasks = {t["id"]: t for t in httpx.get(sim.url("/_sim/tasks")).json()["tasks"]}
    assert len(results) == 50 and len(tasks) == 50
    for _, uid in pairs:
        data = results[uid].structured_content
        assert not results[uid].is_error and data, results[uid].content
        task = tasks[data["task_id"]]
        assert task["uid"] == uid and task["params"]["prompt"] == f"prompt of {uid}"
        mentioned = {m.group(1) for _, text in progress[uid] if (m := re.search(r"task (\S+):", text))}
        assert mentioned == {data["task_id"]}, (uid, mentioned)
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert not [key for key, _ in pairs if key in logged]
    if latencies:
        p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else latencies[0]
        with capsys.disabled():
            print(f"\nlist_tools while 50 jobs run: n={len(latencies)} p50={statistics.median(latencies) * 1000:.1f} ms p95={p95 * 1000:.1f} ms")


def test_non_loopback_host_needs_an_explicit_flag() -> None:
    refused = subprocess.run([*SERVER, "--http", "--host", "0.0.0.0", "--models", FLUX], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0" in refused.stderr and "unencrypted" in refused.stderr and "--allow-remote" in refused.stderr
    busy = bind("127.0.0.1", 0)  # a clear line, not a traceback, when the port is taken
    taken = subprocess.run([*SERVER, "--http", "--port", str(busy.getsockname()[1]), "--models", FLUX],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    busy.close()
    assert taken.returncode == 2 and "cannot listen on 127.0.0.1" in taken.stderr and "Traceback" not in taken.stderr
    beyond = subprocess.run([*SERVER, "--http", "--port", "70000", "--models", FLUX], capture_output=True, text=True, timeout=60)
    assert beyond.returncode == 2 and "port must be 0-65535" in beyond.stderr and "Traceback" not in beyond.stderr


async def test_http_server_started_in_one_command(genvr_simulator: SimulatorServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENVR_")} | {"GENVR_BASE_URL": genvr_simulator.base_url}
    process = subprocess.Popen([*SERVER, "--http", "--port", "0", "--categories", "audiogen"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        banner = await anyio.to_thread.run_sync(process.stderr.readline)
        url = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", banner).group(1)  # type: ignore[union-attr]
        async with connect(url, genvr_simulator.token, genvr_simulator.uid) as client:
            listed = await client.list_tools()
            result = await client.call_tool("genvr_audiogen__google_lyria2", {"prompt": "rain"})
        wrong = await _call_with(url, "wrong-key-never-logged", "someone", "genvr_audiogen__google_lyria2", {"prompt": "x"})
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=30)
    assert wrong.is_error and "wrong-key-never-logged" not in rest + banner + wrong.content[0].text  # type: ignore[union-attr]
    assert genvr_simulator.token not in rest + banner
    assert {t.name for t in listed.tools} == {n for n, k in TOOL_NAMES.items() if k.startswith("audiogen/")}
    assert not result.is_error and [c.type for c in result.content] == ["text", "resource_link", "audio"]


async def test_outputs_inline_only_small_images_and_audio_the_protocol_allows(genvr_simulator: SimulatorServer) -> None:
    from genvr_runtime.tools.mcp_server import _Outputs

    async with AsyncBaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url) as genvr:
        [png_url] = (await genvr.run(load_input_class("imagegen/flux_dev")(prompt="x"))).output
        [wav_url] = (await genvr.run(load_input_class("audiogen/google_lyria2")(prompt="x"))).output
    png = httpx.get(png_url).content
    data_png = "data:image/png;base64," + base64.b64encode(png).decode()
    async with httpx.AsyncClient() as http:
        roomy, tight, off = _Outputs(http, 1_000_000), _Outputs(http, len(png) - 1), _Outputs(http, 0)
        both = await roomy.content([png_url, data_png, wav_url], "t", "2025-11-25")
        old = await roomy.content([wav_url], "t", "2024-11-05")  # no audio content before 2025-03-26
        too_big = await tight.content([png_url, data_png], "t", "2025-11-25")
        links_only = await off.content([png_url], "t", "2025-11-25")
    assert [b.type for b in both] == ["resource_link", "image", "resource_link", "image", "resource_link", "audio"]
    assert both[1] == both[3] and base64.b64decode(both[1].data) == png  # type: ignore[union-attr]
    assert [b.type for b in old] == ["resource_link"]
    assert [b.type for b in too_big] == ["resource_link", "resource_link"]
    assert [b.type for b in links_only] == ["resource_link"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancel_while_submitting_keeps_the_task_reachable(
    genvr_simulator_factory: Any, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    """A cancel that lands while the generate call is on the wire: GenVR accepts (and bills) the job anyway, so its
    task id must not be lost with the call (the log names it, genvr_result returns it), and it is sent once only."""
    sim, [(key, uid)] = users(genvr_simulator_factory, 1, job_seconds=30)
    sim.configure(faults={"rules": [{"kind": "slow", "route": "/v2/generate", "seconds": 1.0}]})  # accepted, then slow to answer
    progress: Progress = []
    caplog.set_level(logging.WARNING, logger="genvr_runtime")
    async with mcp_http(sim) as url, connect(url, key, uid, mode=mode) as client:
        with anyio.CancelScope() as call:
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: client.call_tool(FLUX, {"prompt": "x"}, progress_callback=recorder(progress)))
                await until(lambda: bool(progress) and sim.counters()["tasks_created"] == 1)  # submitting, and accepted
                call.cancel()
        [task] = httpx.get(sim.url("/_sim/tasks")).json()["tasks"]
        await until(lambda: any(task["id"] in r.getMessage() for r in caplog.records))
        picked_up = await client.call_tool(RESULT_TOOL, {"task_id": task["id"]})
    warning = next(r.getMessage() for r in caplog.records if task["id"] in r.getMessage())
    assert "cancelled" in warning and "billed" in warning
    assert not picked_up.is_error and picked_up.structured_content and picked_up.structured_content["done"] is False
    assert sim.counters()["requests"]["POST /v2/generate"] == 1 and sim.counters()["tasks_created"] == 1


async def test_a_compressed_output_is_not_inflated_whole_before_the_size_check() -> None:
    """A small gzip-encoded response can inflate to many times the inline limit (a 50 kB gzip bomb is 50 MB of
    pixels): the size limit must hold for what is held in memory, not for what crossed the wire."""
    import tracemalloc
    import zlib

    from genvr_runtime.tools.mcp_server import _Outputs

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    bomb = packer.compress(b"\0" * 50_000_000) + packer.flush()
    asked: list[str] = []

    def genvr_files(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("accept-encoding", ""))
        headers = {"content-type": "image/png", "content-encoding": "gzip", "content-length": str(len(bomb))}
        return httpx.Response(200, headers=headers, stream=Wire())  # a stream, as off the network (not read at once)

    class Wire(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for start in range(0, len(bomb), 16_384):
                yield bomb[start : start + 16_384]

    async with httpx.AsyncClient(transport=httpx.MockTransport(genvr_files)) as http:
        tracemalloc.start()
        try:
            blocks = await _Outputs(http, 1_000_000).content(["https://files.example/out.png"], "t", "2025-11-25")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert [b.type for b in blocks] == ["resource_link"]
    assert asked == ["identity"]
    assert peak < 10_000_000, f"{peak / 1e6:.0f} MB held to inline an image limited to 1 MB"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2"])
async def test_dns_rebinding_protection_on_every_loopback_host(host: str) -> None:
    """Any loopback address is served without --allow-remote, so each gets the SDK's DNS-rebinding protection
    (a request naming another Host is refused), not only the three addresses the SDK knows."""
    tools = select_tools(load_tools(), models=[FLUX])
    sock = bind(host, 0)
    port = sock.getsockname()[1]
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    headers = {"Accept": "application/json, text/event-stream", "Authorization": "Bearer k", "X-GenVR-UID": "u"}
    async with httpx.AsyncClient() as http:
        server = build_server(HttpAccounts(http, [FLUX]), tools)
        async with running(http_app(server, host), sock):
            rebound = await http.post(f"http://{host}:{port}/mcp", json=init, headers={**headers, "Host": "evil.example"})
            direct = await http.post(f"http://{host}:{port}/mcp", json=init, headers=headers)
    assert rebound.status_code == 421 and direct.status_code == 200


@pytest.mark.parametrize("value", ["nan", "-5", "0", "inf"])
def test_a_wait_timeout_that_is_no_positive_number_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """nan never times out and a negative one times every job out at once: both would be served silently."""
    from genvr_runtime.tools.mcp_server import parse_args

    with pytest.raises(SystemExit) as exited:
        parse_args(["--http", "--wait-timeout", value])
    assert exited.value.code == 2 and "--wait-timeout" in capsys.readouterr().err


async def test_ambiguous_or_garbled_credentials_get_401_saying_why(genvr_simulator: SimulatorServer) -> None:
    """Two Authorization (or uid) headers: which one a proxy and this server each pick is anybody's guess, so
    neither is used. A key that is no printable ASCII cannot be sent on to GenVR: said at once, not as an
    'internal error, retry' from the tool."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    key, uid = genvr_simulator.token.encode(), genvr_simulator.uid.encode()
    accept = [(b"Accept", b"application/json, text/event-stream"), (b"Content-Type", b"application/json")]
    cases = {
        "two keys": [(b"Authorization", b"Bearer " + key), (b"Authorization", b"Bearer other-key"), (b"X-GenVR-UID", uid)],
        "two uids": [(b"Authorization", b"Bearer " + key), (b"X-GenVR-UID", uid), (b"X-GenVR-UID", b"someone-else")],
        "latin-1 key": [(b"Authorization", "Bearer clé".encode("latin-1")), (b"X-GenVR-UID", uid)],
        "control character": [(b"Authorization", b"Bearer " + key + b"\x7f"), (b"X-GenVR-UID", uid)],
    }
    async with mcp_http(genvr_simulator) as url, httpx.AsyncClient() as http:
        answers = {name: await http.post(url, content=json.dumps(init), headers=accept + headers) for name, headers in cases.items()}
    for name, answer in answers.items():
        assert answer.status_code == 401, (name, answer.text)
        assert "clé" not in answer.text and genvr_simulator.token not in answer.text
    assert "one Authorization header" in answers["two keys"].json()["error_description"]
    assert "one X-GenVR-UID header" in answers["two uids"].json()["error_description"]
    assert "printable ASCII" in answers["latin-1 key"].json()["error_description"]


async def test_clients_without_jobs_cannot_push_out_the_jobs_of_others(
    genvr_simulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accounts are created for any key a client sends, before GenVR has seen it: a run of clients with made-up keys
    must not make the server forget a real user's (cancelled, billed) jobs."""
    import genvr_runtime.tools.mcp_server as mcp_server

    monkeypatch.setattr(mcp_server, "MAX_ACCOUNTS", 2)
    sim, [(key, uid)] = users(genvr_simulator_factory, 1, job_seconds=30)
    async with mcp_http(sim) as url:
        async with connect(url, key, uid) as client:
            started = await client.call_tool(SUBMIT_TOOL, {"tool": FLUX, "arguments": {"prompt": "x"}})
        assert started.structured_content
        for i in range(3):  # more made-up keys than the server remembers accounts
            refused = await _call_with(url, f"made-up-{i}", "nobody", FLUX, {"prompt": "x"})
            assert refused.is_error
        async with connect(url, key, uid) as client:
            found = await client.call_tool(RESULT_TOOL, {"task_id": started.structured_content["task_id"]})
    assert not found.is_error, found.content
