"""The MCP server, driven by the `mcp` library's own client: in-process and as the one-command stdio server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from genvr.tools import TOOL_NAMES
from genvr_runtime import AsyncBaseClient
from genvr_runtime.tools import AsyncToolDispatcher
from genvr_runtime.tools.mcp_server import build_server, load_tools, select_tools
from simulator.server import SimulatorServer

SERVER = [sys.executable, "-m", "genvr_runtime.tools.mcp_server"]


def test_every_generated_tool_is_a_valid_mcp_tool() -> None:
    tools = load_tools()
    assert len(tools) == 291 and {t["name"] for t in tools} == set(TOOL_NAMES)
    for t in tools:
        parsed = types.Tool.model_validate(t)
        assert parsed.input_schema == t["inputSchema"] and parsed.annotations and parsed.annotations.read_only_hint is False


def test_selection_by_category_and_model() -> None:
    tools = load_tools()
    chosen = select_tools(tools, categories=["3dgen"], models=["imagegen/flux_dev", "genvr_videogen__sora2"])
    names = {t["name"] for t in chosen}
    assert names == {n for n, k in TOOL_NAMES.items() if k.startswith("3dgen/")} | {"genvr_imagegen__flux_dev", "genvr_videogen__sora2"}
    assert len(select_tools(tools)) == 291
    with pytest.raises(ValueError, match="unknown categories.*known: 3dgen"):
        select_tools(tools, categories=["images"])
    with pytest.raises(ValueError, match="unknown models"):
        select_tools(tools, models=["imagegen/nope"])


async def test_in_process_client_lists_and_calls_against_the_simulator(genvr_simulator: SimulatorServer) -> None:
    tools = select_tools(load_tools(), categories=["imagegen"])
    async with AsyncBaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url) as genvr:
        server = build_server(AsyncToolDispatcher(genvr, allowed=[t["name"] for t in tools]), tools)
        async with Client(server) as client:
            listed = await client.list_tools()
            assert [t.name for t in listed.tools] == [t["name"] for t in tools]
            ok = await client.call_tool("genvr_imagegen__flux_dev", {"prompt": "a lighthouse"})
            bad = await client.call_tool("genvr_imagegen__flux_dev", {"prompt": "a lighthouse", "aspect_ratio": "7:3"})
            other = await client.call_tool("genvr_videogen__sora2", {"prompt": "x"})
    assert not ok.is_error and ok.structured_content is not None  # the client validated it against outputSchema
    url = ok.structured_content["output"][0]
    assert [c.type for c in ok.content] == ["text", "resource_link"] and str(ok.content[1].uri) == url  # type: ignore[union-attr]
    assert bad.is_error and "aspect_ratio" in bad.content[0].text  # type: ignore[union-attr]
    assert other.is_error and "unknown_tool" in other.content[0].text  # type: ignore[union-attr]  # not served here
    assert genvr_simulator.counters()["tasks_created"] == 1


async def test_stdio_server_started_in_one_command(genvr_simulator: SimulatorServer) -> None:
    env = {**os.environ, "GENVR_API_KEY": genvr_simulator.token, "GENVR_UID": genvr_simulator.uid, "GENVR_BASE_URL": genvr_simulator.base_url}
    params = StdioServerParameters(command=SERVER[0], args=[*SERVER[1:], "--categories", "3dgen,audiogen"], env=env)
    async with Client(params) as client:
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} == {n for n, k in TOOL_NAMES.items() if k.split("/")[0] in ("3dgen", "audiogen")}
        result = await client.call_tool("genvr_3dgen__trellis", {"images": ["https://example.com/a.png"]})
        audio = await client.call_tool("genvr_audiogen__google_lyria2", {"prompt": "rain"})
    assert [c.type for c in audio.content] == ["text", "resource_link", "audio"]  # small audio also inline
    assert not result.is_error, result.content
    data: Any = result.structured_content
    assert data["model"] == "3dgen/trellis" and data["output"][0].startswith(genvr_simulator.base_url)
    assert json.loads(result.content[0].text) == data  # type: ignore[union-attr]


def test_cli_lists_refuses_unknown_categories_and_needs_credentials() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENVR_")}
    listed = subprocess.run([*SERVER, "--models", "imagegen/flux_dev", "--list"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0 and listed.stdout.split() == ["genvr_imagegen__flux_dev"]
    unknown = subprocess.run([*SERVER, "--categories", "images"], capture_output=True, text=True, env=env, timeout=60)
    assert unknown.returncode == 2 and "unknown categories" in unknown.stderr
    keyless = subprocess.run([*SERVER, "--categories", "imagegen"], capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert keyless.returncode == 2 and "GENVR_API_KEY" in keyless.stderr
