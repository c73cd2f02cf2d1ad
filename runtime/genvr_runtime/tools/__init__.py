"""LLM tools over the runtime: run tool calls as GenVR jobs (`ToolDispatcher`), serve models over MCP
(`python -m genvr_runtime.tools.mcp_server`). The tool specs themselves are generated package data, read with
`genvr.tools.load` (generated/genvr/tools/)."""

from genvr_runtime.tools.dispatcher import AsyncToolDispatcher, ToolDispatcher, ToolResult

__all__ = ["AsyncToolDispatcher", "ToolDispatcher", "ToolResult"]
