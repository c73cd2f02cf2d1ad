"""An MCP server exposing GenVR models as tools, over stdio or Streamable HTTP, over the runtime.

    GENVR_API_KEY=... GENVR_UID=... genvr-mcp --categories imagegen,videogen          # stdio, one user
    genvr-mcp --http --port 8765 --categories imagegen                                 # HTTP, credentials per client

Tool definitions are the generated ones (`genvr.tools.load("mcp")`); calls go through `AsyncToolDispatcher`, so
arguments are validated by the generated input classes and errors come back as `isError` results the model
can act on. All 291 tools are too many for most agents: `--categories` and `--models` choose a subset.

Credentials: over stdio they come from the environment only (command lines are visible to other users; tool
arguments to the model). Over HTTP each client sends its own (`Authorization: Bearer <key>` and `X-GenVR-UID`,
see `mcp_http`); the server holds none, and a client only ever sees the jobs its own credentials started.
Credentials are never part of a tool's schema, result or log line.

While a job runs the server sends progress notifications (when the client asked for them with a progress
token): the task id as soon as GenVR accepted the job, then queued → processing → downloading with the elapsed
time. A cancelled call stops waiting only: GenVR has no cancel endpoint, so the task may still finish and be
billed; it stays listed under its task id (`genvr_result` with `--job-tools`).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import mimetypes
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import httpx
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from genvr_runtime import AsyncBaseClient, AsyncJob, GenVRError
from genvr_runtime._files import decode_data_uri
from genvr_runtime._protocol import ApiVersion
from genvr_runtime.tools.dispatcher import AsyncToolDispatcher, ToolResult, error_result
from genvr_runtime.tools.mcp_http import MISSING_CREDENTIALS, request_credentials

log = logging.getLogger("genvr_runtime.tools.mcp")
TOO_MANY = 100  # beyond this many tools most agents choose badly or refuse; say so on stderr
INLINE_MAX_BYTES = 1_000_000  # an image or audio output up to this size also goes inline (base64) in the result
PROGRESS_INTERVAL = 1.0  # seconds between progress notifications while nothing changes (elapsed time moves on)
MAX_JOBS_PER_ACCOUNT = 1000  # jobs remembered per credentials for genvr_result; the oldest are forgotten first
MAX_ACCOUNTS = 1000  # credentials (HTTP clients) remembered at once; the least recently seen are forgotten first
SUBMIT_TOOL, RESULT_TOOL = "genvr_submit", "genvr_result"
CLIENT_CREDENTIALS = "the GenVR key and uid this MCP client sends (Authorization: Bearer and X-GenVR-UID headers)"
NO_CANCEL = "GenVR has no cancel endpoint: cancelling this call stops the wait only, the task may still finish and be billed"
Context = ServerRequestContext[Any, Any]


def load_tools() -> list[dict[str, Any]]:
    """Every generated MCP tool definition, in the generated (deterministic) order."""
    from genvr.tools import load

    return load("mcp")


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


def job_tools(tool_names: Iterable[str]) -> list[dict[str, Any]]:
    """The submit/result pair: start a job without waiting, then ask for its status or outputs."""
    open_world = {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False, "openWorldHint": True}
    return [
        {
            "name": SUBMIT_TOOL,
            "description": (
                "Start a paid GenVR generation job without waiting for it: name one of this server's generation "
                f"tools and give its arguments. Returns the task_id at once; get the outcome with {RESULT_TOOL}."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "enum": sorted(tool_names), "description": "the generation tool to run"},
                    "arguments": {"type": "object", "description": "that tool's arguments, as its inputSchema describes"},
                },
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            },
            "annotations": open_world,
        },
        {
            "name": RESULT_TOOL,
            "description": (
                f"Status or outputs of a job this client started ({SUBMIT_TOOL}, or a call that was cancelled or "
                "timed out): done=false with the status while it runs, the output URLs once it completed. "
                "wait_seconds (0-60) waits up to that long for it to end."
            ),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "task_id": {"type": "string", "description": "the task_id of the job"},
                    "wait_seconds": {"type": "number", "minimum": 0, "maximum": 60, "default": 0},
                },
                "required": ["task_id"],
                "additionalProperties": False,
            },
            "annotations": {**open_world, "readOnlyHint": True, "idempotentHint": True},
        },
    ]


@dataclass
class Account:
    """One set of GenVR credentials: its dispatcher and the jobs it started, which no other account sees."""

    dispatcher: AsyncToolDispatcher
    jobs: OrderedDict[str, tuple[str, AsyncJob]] = field(default_factory=OrderedDict)  # task id -> (tool, job)
    credentials_note: str = ""  # added to a refused-credentials result: where these credentials come from

    def remember(self, tool: str, job: AsyncJob) -> None:
        self.jobs[job.task_id] = (tool, job)
        while len(self.jobs) > MAX_JOBS_PER_ACCOUNT:
            self.jobs.popitem(last=False)

    def explain(self, result: ToolResult) -> ToolResult:
        if not self.credentials_note or result.data.get("error") != "configuration_error":
            return result
        return ToolResult(result.name, result.ok, {**result.data, "credentials": self.credentials_note})


AccountFor = Callable[[Context], Account]


class HttpAccounts:
    """The account of each HTTP client, found by the credentials its request carries (`mcp_http`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        allowed: Iterable[str],
        *,
        base_url: str | None = None,
        api_version: ApiVersion = "v2",
        wait_timeout: float | None = None,
    ) -> None:
        self._http, self._allowed = http, list(allowed)
        self._base_url, self._api_version, self._wait_timeout = base_url, api_version, wait_timeout
        self._accounts: OrderedDict[str, Account] = OrderedDict()

    def __call__(self, ctx: Context) -> Account:
        credentials = request_credentials(ctx.request)
        if credentials is None:  # the middleware answers 401 before this; a safety net, never a fallback
            raise MCPError(types.INVALID_REQUEST, MISSING_CREDENTIALS)
        who = credentials.fingerprint
        account = self._accounts.get(who)
        if account is None:
            client = AsyncBaseClient(
                api_key=credentials.api_key, uid=credentials.uid, base_url=self._base_url,
                api_version=self._api_version, http_client=self._http,  # one connection pool; headers are per call
            )  # fmt: skip
            dispatcher = AsyncToolDispatcher(client, allowed=self._allowed, wait_timeout=self._wait_timeout)
            account = Account(dispatcher, credentials_note=CLIENT_CREDENTIALS)
            self._accounts[who] = account
        self._accounts.move_to_end(who)
        while len(self._accounts) > MAX_ACCOUNTS:
            self._forget_one()
        return account

    def _forget_one(self) -> None:
        """Forget the least recently seen account without jobs, else the least recently seen: accounts are made for
        any key a client sends, and clients with made-up keys must not push out the jobs of real users. The
        newest (last) is kept: it is the caller's."""
        older = list(self._accounts.items())[:-1]
        idle = next((who for who, account in older if not account.jobs), older[0][0])
        del self._accounts[idle]


class _Progress:
    """Progress notifications for one call: stage, task id, elapsed time (a no-op without a progress token)."""

    def __init__(self, ctx: Context, interval: float) -> None:
        self._ctx, self._interval = ctx, interval
        self._start = time.monotonic()
        self._last = 0.0
        self._wake = anyio.Event()
        self.stage, self.task_id = "submitting", ""

    def on_status(self, status: str) -> None:
        stage = "downloading" if status == "completed" else status  # completed: the outputs are fetched next
        if stage != self.stage:
            self.stage = stage
            self._wake.set()

    async def report(self, note: str = "") -> None:
        elapsed = time.monotonic() - self._start
        self._last = max(elapsed, self._last + 0.001)  # progress must grow with every notification
        task = f"task {self.task_id}: " if self.task_id else ""
        try:
            await self._ctx.session.report_progress(self._last, None, f"{task}{self.stage}, {elapsed:.1f} s elapsed{note}")
        except Exception as exc:  # a notification that cannot be delivered must not fail the call
            log.debug("progress notification dropped: %s", type(exc).__name__)

    async def tick(self) -> None:
        while True:
            with anyio.move_on_after(self._interval):
                await self._wake.wait()
            self._wake = anyio.Event()
            await self.report()


@dataclass
class _Outputs:
    """Turns output URLs into content a client can show: always a link, plus small images and audio inline."""

    http: httpx.AsyncClient | None
    max_bytes: int

    async def content(self, urls: Sequence[str], task_id: str, protocol_version: str) -> list[types.ContentBlock]:
        blocks: list[types.ContentBlock] = []
        audio_allowed = protocol_version >= "2025-03-26"  # audio content entered MCP in that revision
        for i, url in enumerate(urls):
            guessed = mimetypes.guess_type(url if url.startswith("data:") else urlsplit(url).path)[0]
            blocks.append(types.ResourceLink(type="resource_link", name=f"{task_id}-{i}", uri=url, mime_type=guessed))
            kind = (guessed or "").partition("/")[0]
            if self.max_bytes <= 0 or not (kind == "image" or (kind == "audio" and audio_allowed)):
                continue
            fetched = await self._fetch(url)
            if fetched is None:
                continue
            data, declared = fetched
            mime = declared if declared.partition("/")[0] == kind else guessed or ""
            encoded = base64.b64encode(data).decode("ascii")
            if kind == "image":
                blocks.append(types.ImageContent(type="image", data=encoded, mime_type=mime))
            else:
                blocks.append(types.AudioContent(type="audio", data=encoded, mime_type=mime))
        return blocks

    async def _fetch(self, url: str) -> tuple[bytes, str] | None:
        """The file's bytes and declared type when it is at most `max_bytes`; None otherwise (the link is enough)."""
        if url.startswith("data:"):
            decoded = decode_data_uri(url)
            return (decoded, url[5:].partition(";")[0].partition(",")[0]) if len(decoded) <= self.max_bytes else None
        if self.http is None or not url.startswith(("http://", "https://")):
            return None
        try:
            # Raw bytes only: a compressed body could inflate far beyond the limit before it is checked.
            headers = {"Accept-Encoding": "identity"}
            async with self.http.stream("GET", url, headers=headers, follow_redirects=True) as response:
                declared = response.headers.get("content-type", "").partition(";")[0].strip()
                encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
                if response.status_code != 200 or encoded or int(response.headers.get("content-length") or 0) > self.max_bytes:
                    return None
                data = bytearray()
                async for chunk in response.aiter_raw():
                    data += chunk
                    if len(data) > self.max_bytes:
                        return None
        except (httpx.HTTPError, ValueError) as exc:
            log.info("output %s not inlined: %s", urlsplit(url)._replace(query="").geturl(), type(exc).__name__)
            return None
        return bytes(data), declared


def call_result(result: ToolResult, extra: Sequence[types.ContentBlock] = ()) -> types.CallToolResult:
    """A dispatcher result as MCP wants it: JSON text for every client, structured content and a link per
    output file on success (plus `extra`), `isError` (which the model sees and can correct) otherwise."""
    text = types.TextContent(type="text", text=result.content)
    if not result.ok:
        return types.CallToolResult(content=[text], is_error=True)
    if not extra:
        extra = [
            types.ResourceLink(type="resource_link", name=f"{result.data['task_id']}-{i}", uri=url)
            for i, url in enumerate(result.data.get("output", []))
        ]
    return types.CallToolResult(content=[text, *extra], structured_content=result.data, is_error=False)


class _Calls:
    """What the server does with a tools/call: run a job and watch it, or the submit/result pair."""

    def __init__(self, account_for: AccountFor, outputs: _Outputs, progress_interval: float, job_tools: bool) -> None:
        self.account_for, self.outputs = account_for, outputs
        self.progress_interval, self.job_tools = progress_interval, job_tools

    async def __call__(self, ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        account = self.account_for(ctx)
        arguments = params.arguments or {}
        if self.job_tools and params.name == SUBMIT_TOOL:
            return await self.submit(account, arguments)
        if self.job_tools and params.name == RESULT_TOOL:
            return await self.result(ctx, account, arguments)
        progress = _Progress(ctx, self.progress_interval)
        await progress.report()
        submitted = await self.send(account, params.name, arguments)
        if isinstance(submitted, ToolResult):
            return call_result(account.explain(submitted))
        return await self.shown(ctx, account.explain(await self.watch(account, params.name, submitted, progress)), progress)

    async def send(self, account: Account, tool: str, arguments: Any) -> AsyncJob | ToolResult:
        """Submit the job and remember it. Shielded from cancellation: once the generate call is on the wire GenVR
        may accept (and bill) the job, so a client giving up meanwhile must not lose its task id. The price: a
        cancel that lands while the runtime waits out a 429 still sends the job (remembered and logged all the same)."""
        with anyio.CancelScope(shield=True):
            submitted = await account.dispatcher.submit(tool, arguments)
            if isinstance(submitted, ToolResult):
                return submitted
            job = submitted
            account.remember(tool, job)
        try:
            await anyio.lowlevel.checkpoint()  # a cancellation that arrived meanwhile lands here
        except anyio.get_cancelled_exc_class():
            self._log_cancelled(tool, job)
            raise
        return job

    def _log_cancelled(self, tool: str, job: AsyncJob) -> None:
        pick_up = f"; {RESULT_TOOL} with this task_id returns it" if self.job_tools else ""
        log.warning("%s cancelled by the client: stopped waiting for task %s (%s); %s%s",
                    tool, job.task_id, job.model.key, NO_CANCEL, pick_up)  # fmt: skip

    async def watch(
        self, account: Account, tool: str, job: AsyncJob, progress: _Progress, timeout: float | None = None
    ) -> ToolResult:
        """Wait for `job`, reporting progress; a cancellation stops the wait only, and says what it left."""
        progress.task_id, progress.stage = job.task_id, job.last_status
        try:
            await progress.report(f" ({NO_CANCEL})")
            async with anyio.create_task_group() as ticking:
                ticking.start_soon(progress.tick)
                result = await account.dispatcher.wait(tool, job, timeout=timeout, on_update=progress.on_status)
                ticking.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            self._log_cancelled(tool, job)
            raise
        return result

    async def shown(self, ctx: Context, result: ToolResult, progress: _Progress) -> types.CallToolResult:
        """The result with its outputs as content a client can show (fetching small images and audio)."""
        if not result.ok:
            return call_result(result)
        progress.stage = "downloading"
        await progress.report()
        content = await self.outputs.content(result.data["output"], result.data["task_id"], ctx.protocol_version)
        return call_result(result, content)

    async def submit(self, account: Account, arguments: Mapping[str, Any]) -> types.CallToolResult:
        tool, tool_arguments = arguments.get("tool"), arguments.get("arguments", {})
        if not isinstance(tool, str):
            return call_result(error_result(SUBMIT_TOOL, "invalid_arguments", "tool: give the name of a generation tool."))
        submitted = await self.send(account, tool, tool_arguments)
        if isinstance(submitted, ToolResult):
            return call_result(account.explain(submitted))
        data = {"task_id": submitted.task_id, "model": submitted.model.key, "tool": tool, "status": submitted.last_status,
                "message": f"Running on GenVR; call {RESULT_TOOL} with this task_id for its outcome."}  # fmt: skip
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(data))], structured_content=data)

    async def result(self, ctx: Context, account: Account, arguments: Mapping[str, Any]) -> types.CallToolResult:
        task_id, wait = arguments.get("task_id"), arguments.get("wait_seconds") or 0
        if not isinstance(wait, (int, float)) or isinstance(wait, bool) or not 0 <= wait <= 60:
            return call_result(error_result(RESULT_TOOL, "invalid_arguments", "wait_seconds: give a number from 0 to 60."))
        if not isinstance(task_id, str):
            return call_result(error_result(RESULT_TOOL, "invalid_arguments", f"task_id: give the task_id {SUBMIT_TOOL} returned."))
        found = account.jobs.get(task_id)
        if found is None:
            message = f"No job with task_id {task_id!r} was started with these credentials on this server."
            return call_result(error_result(RESULT_TOOL, "unknown_task", message))
        tool, job = found
        progress = _Progress(ctx, self.progress_interval)
        waited = await self.watch(account, tool, job, progress, timeout=float(wait))
        if not waited.ok and waited.data.get("error") == "still_running":  # not a failure: not done yet
            data = {"task_id": job.task_id, "model": job.model.key, "tool": tool, "status": job.last_status, "done": False}
            return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(data))], structured_content=data)
        return await self.shown(ctx, account.explain(waited), progress)


def build_server(
    source: AsyncToolDispatcher | AccountFor,
    tools: list[dict[str, Any]],
    *,
    with_job_tools: bool = False,
    downloads: httpx.AsyncClient | None = None,
    inline_max_bytes: int = INLINE_MAX_BYTES,
    progress_interval: float = PROGRESS_INTERVAL,
) -> Server[Any]:
    """A low-level MCP server listing `tools` and running their calls. `source` is one dispatcher (one user, as
    over stdio) or a function finding the caller's account (`HttpAccounts`). `downloads` fetches small image and
    audio outputs to return inline; without it results carry links only."""
    if isinstance(source, AsyncToolDispatcher):
        single = Account(source)
        account_for: AccountFor = lambda ctx: single  # noqa: E731
    else:
        account_for = source
    listed_tools = [*tools, *(job_tools(t["name"] for t in tools) if with_job_tools else [])]
    listed = types.ListToolsResult(tools=[types.Tool.model_validate(t) for t in listed_tools])
    on_call_tool = _Calls(account_for, _Outputs(downloads, inline_max_bytes), progress_interval, with_job_tools)

    async def on_list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return listed

    input_schemas = {t["name"]: t["inputSchema"] for t in listed_tools}

    return Server(
        "genvr",
        version="1",
        instructions=(
            "Each tool starts a paid GenVR generation job, waits for it and returns output file URLs. "
            f"Progress notifications carry the task id. {NO_CANCEL}."
        ),
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        get_tool_input_schema=input_schemas.get,  # else the SDK builds the whole listing for every HTTP call
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="genvr-mcp",
        description=(
            "Serve GenVR models as MCP tools. stdio (default): credentials from GENVR_API_KEY and GENVR_UID. "
            "--http: Streamable HTTP at http://HOST:PORT/mcp; each client sends its own credentials "
            "('Authorization: Bearer <key>' and 'X-GenVR-UID: <uid>'), the environment's are not used."
        ),
    )
    parser.add_argument("--categories", default="", help="comma-separated GenVR categories, e.g. imagegen,videogen")
    parser.add_argument("--models", default="", help="comma-separated model keys (imagegen/flux_dev) or tool names")
    parser.add_argument("--base-url", default=None, help="GenVR base URL (default: GENVR_BASE_URL or the real API)")
    parser.add_argument("--api-version", choices=("v1", "v2"), default="v2")
    parser.add_argument("--wait-timeout", type=_seconds, default=None, help="seconds to wait for one job")
    parser.add_argument("--job-tools", action="store_true", help=f"also serve {SUBMIT_TOOL} and {RESULT_TOOL} (long jobs without blocking)")
    parser.add_argument("--inline-max-bytes", type=int, default=INLINE_MAX_BYTES, help="largest image/audio output also returned inline (0: links only)")
    parser.add_argument("--list", action="store_true", help="print the selected tool names and exit")
    parser.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765; 0 picks a free one)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (plain HTTP: put TLS in front)")
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (nan would never time out, a negative value always)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"give a positive number of seconds, not {text!r}")
    return value


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
    if args.http:
        return _main_http(args, tools)
    try:
        client = AsyncBaseClient(base_url=args.base_url, api_version=args.api_version)
    except GenVRError as exc:
        print(f"genvr-mcp: {exc}", file=sys.stderr)
        return 2
    dispatcher = AsyncToolDispatcher(client, allowed=[t["name"] for t in tools], wait_timeout=args.wait_timeout)

    async def serve() -> None:
        async with client, httpx.AsyncClient(timeout=60) as downloads, stdio_server() as (read, write):
            server = build_server(dispatcher, tools, with_job_tools=args.job_tools, downloads=downloads,
                                  inline_max_bytes=args.inline_max_bytes)  # fmt: skip
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)
    return 0


def _main_http(args: argparse.Namespace, tools: list[dict[str, Any]]) -> int:
    from genvr_runtime.tools.mcp_http import REMOTE_REFUSED, bind, http_app, is_loopback, serve

    if not is_loopback(args.host):
        if not args.allow_remote:
            print(f"genvr-mcp: {REMOTE_REFUSED.format(host=args.host)}", file=sys.stderr)
            return 2
        print(f"genvr-mcp: listening on {args.host} (--allow-remote): clients' GenVR keys travel in plain HTTP "
              "unless a TLS proxy is in front", file=sys.stderr)  # fmt: skip
    try:
        sock = bind(args.host, args.port)
    except (OSError, OverflowError) as exc:  # OverflowError: a port beyond 65535
        print(f"genvr-mcp: cannot listen on {args.host}:{args.port}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    url_host = f"[{host}]" if ":" in host else host

    async def run() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            accounts = HttpAccounts(http, [t["name"] for t in tools], base_url=args.base_url,
                                    api_version=args.api_version, wait_timeout=args.wait_timeout)  # fmt: skip
            server = build_server(accounts, tools, with_job_tools=args.job_tools, downloads=http,
                                  inline_max_bytes=args.inline_max_bytes)  # fmt: skip
            print(f"genvr-mcp: serving {len(tools)} tools at http://{url_host}:{port}/mcp "
                  "(each client sends 'Authorization: Bearer <GenVR key>' and 'X-GenVR-UID: <uid>')",
                  file=sys.stderr, flush=True)  # fmt: skip
            await serve(http_app(server, args.host), sock)

    anyio.run(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
