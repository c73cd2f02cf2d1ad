"""An MCP server exposing GenVR models as tools (stdio), over the runtime.

    GENVR_API_KEY=... GENVR_UID=... python -m genvr_runtime.tools.mcp_server --categories imagegen,videogen

Tool definitions are the generated ones (`genvr/mcp_tools.json`); calls go through `AsyncToolDispatcher`, so
arguments are validated by the generated input classes and errors come back as `isError` results the model
can act on. All 291 tools are too many for most agents: `--categories` and `--models` choose a subset.
Credentials come from the environment only (command lines are visible to other users; tool arguments to
the model), and are never part of a tool's schema or result.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from genvr_runtime import AsyncBaseClient, GenVRError
from genvr_runtime.tools.dispatcher import AsyncToolDispatcher, ToolResult

log = logging.getLogger("genvr_runtime.tools.mcp")
TOO_MANY = 100  # beyond this many tools most agents choose badly or refuse; say so on stderr


def load_tools() -> list[dict[str, Any]]:
    """Every generated MCP tool definition, in the generated (deterministic) order."""
    from genvr.tools import MCP_TOOLS_FILE

    text = resources.files("genvr").joinpath(MCP_TOOLS_FILE).read_text(encoding="utf-8")
    tools: list[dict[str, Any]] = json.loads(text)["tools"]
    return tools


def select_tools(
    tools: list[dict[str, Any]], *, categories: Iterable[str] = (), models: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The tools of the given categories plus the given models (model keys or tool names); all when both are
    empty. An unknown category or model is an error that lists the valid ones."""
    from genvr.tools import TOOL_NAMES

    wanted_categories, wanted_models = set(categories), set(models)
    if not wanted_categories and not wanted_models:
        return list(tools)
    keys = {t["name"]: TOOL_NAMES[t["name"]] for t in tools}
    known_categories = {k.partition("/")[0] for k in keys.values()}
    if wanted_categories - known_categories:
        raise ValueError(f"unknown categories {sorted(wanted_categories - known_categories)}; known: {', '.join(sorted(known_categories))}")
    unknown_models = wanted_models - set(keys) - set(keys.values())
    if unknown_models:
        raise ValueError(f"unknown models {sorted(unknown_models)} (give 'category/subcategory' keys or tool names)")
    return [
        t for t in tools
        if keys[t["name"]].partition("/")[0] in wanted_categories or {t["name"], keys[t["name"]]} & wanted_models
    ]  # fmt: skip


def call_result(result: ToolResult) -> types.CallToolResult:
    """A dispatcher result as MCP wants it: JSON text for every client, structured content and a link per
    output file on success, `isError` (which the model sees and can correct) otherwise."""
    text = types.TextContent(type="text", text=result.content)
    if not result.ok:
        return types.CallToolResult(content=[text], is_error=True)
    links = [
        types.ResourceLink(type="resource_link", name=f"{result.data['task_id']}-{i}", uri=url)
        for i, url in enumerate(result.data["output"])
    ]
    return types.CallToolResult(content=[text, *links], structured_content=result.data, is_error=False)


def build_server(dispatcher: AsyncToolDispatcher, tools: list[dict[str, Any]]) -> Server[Any]:
    """A low-level MCP server listing `tools` and running their calls through `dispatcher`."""
    listed = types.ListToolsResult(tools=[types.Tool.model_validate(t) for t in tools])

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return listed

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return call_result(await dispatcher.call(params.name, params.arguments or {}))

    return Server(
        "genvr",
        version="1",
        instructions="Each tool starts a paid GenVR generation job, waits for it and returns output file URLs.",
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="genvr-mcp",
        description="Serve GenVR models as MCP tools over stdio. Credentials: GENVR_API_KEY and GENVR_UID.",
    )
    parser.add_argument("--categories", default="", help="comma-separated GenVR categories, e.g. imagegen,videogen")
    parser.add_argument("--models", default="", help="comma-separated model keys (imagegen/flux_dev) or tool names")
    parser.add_argument("--base-url", default=None, help="GenVR base URL (default: GENVR_BASE_URL or the real API)")
    parser.add_argument("--api-version", choices=("v1", "v2"), default="v2")
    parser.add_argument("--wait-timeout", type=float, default=None, help="seconds to wait for one job")
    parser.add_argument("--list", action="store_true", help="print the selected tool names and exit")
    return parser.parse_args(argv)


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout is the MCP channel
    try:
        tools = select_tools(load_tools(), categories=_split(args.categories), models=_split(args.models))
    except ValueError as exc:
        print(f"genvr-mcp: {exc}", file=sys.stderr)
        return 2
    if args.list:
        print("\n".join(t["name"] for t in tools))
        return 0
    if len(tools) > TOO_MANY:
        print(f"genvr-mcp: serving {len(tools)} tools; most agents do better with fewer (--categories, --models)", file=sys.stderr)
    try:
        client = AsyncBaseClient(base_url=args.base_url, api_version=args.api_version)
    except GenVRError as exc:
        print(f"genvr-mcp: {exc}", file=sys.stderr)
        return 2
    dispatcher = AsyncToolDispatcher(client, allowed=[t["name"] for t in tools], wait_timeout=args.wait_timeout)
    server = build_server(dispatcher, tools)

    async def serve() -> None:
        async with client, stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
