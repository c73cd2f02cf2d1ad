"""Run an LLM's tool call as a GenVR job and hand back a tool result the model can read.

A tool call arrives as a name plus arguments (a JSON string from OpenAI, a dict from Anthropic). The
dispatcher maps the name to a model (`genvr.tools.TOOL_NAMES`), validates the arguments with the generated
input class, runs the job, and returns a `ToolResult`: the output URLs, or an error that names the field or
the cause. Nothing it can meet in an agent loop raises: a bad call becomes a result the model can act on.

Types are checked strictly, as the tool spec declares them: `true` or `"42"` is no number, `"true"` no
boolean (lax coercion would send a guess the model never made). A whole float is an integer (`20.0` → 20):
Gemini sends every number as a double.

Omitted inputs and GenVR's default: strict-mode tools must send every property. For an input that is not
nullable, `null` means "GenVR's default" (dropped before validation). For a nullable input (`ModelInfo.nullable`),
`null` is a value GenVR reads (e.g. "switch this off") and is sent as null; the strict specs offer the
sentinel string `"$default"` (`DEFAULT_SENTINEL`) for "leave it to GenVR", accepted for any input.
"""

from __future__ import annotations

import difflib
import json
import logging
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from pydantic import ValidationError

from genvr_runtime import (
    AsyncBaseClient,
    AuthenticationError,
    BadRequestError,
    BaseClient,
    GenerationResult,
    GenVRError,
    RateLimitError,
    RoutingCollisionError,
    TaskFailedError,
    WaitTimeoutError,
)
from genvr_runtime._redact import redact_text

if TYPE_CHECKING:
    from genvr_runtime import AsyncJob, GenVRInput
    from genvr_runtime._client import StatusCallback

log = logging.getLogger("genvr_runtime.tools")

# The argument value meaning "not sent: GenVR's default" (strict tool specs offer it for nullable inputs).
DEFAULT_SENTINEL = "$default"

# What the model should do next, by cause; the message itself says what happened.
_HINTS: tuple[tuple[type[GenVRError], str, str], ...] = (
    (AuthenticationError, "configuration_error", "The GenVR credentials of this tool server are wrong; retrying will not help. Tell the user."),
    (RateLimitError, "rate_limited", "GenVR is rate limiting; wait a little before calling again."),
    (BadRequestError, "rejected_by_genvr", "GenVR rejected the input; correct the arguments and call again."),
    (RoutingCollisionError, "invalid_arguments", "Leave this argument unset."),
    (WaitTimeoutError, "still_running", "The job is still running on GenVR; its task_id identifies it."),
    (TaskFailedError, "job_failed", "The job failed on GenVR; a different input (for example the prompt) may succeed."),
    (GenVRError, "genvr_error", "The call did not complete; it may be retried."),
)


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call. `data` is the JSON object the model sees (`content` as text)."""

    name: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def content(self) -> str:
        return json.dumps(self.data, ensure_ascii=False)

    def openai_chat_message(self, tool_call_id: str) -> dict[str, Any]:
        """The `{"role": "tool"}` message that answers a Chat Completions tool call."""
        return {"role": "tool", "tool_call_id": tool_call_id, "content": self.content}

    def openai_responses_item(self, call_id: str) -> dict[str, Any]:
        """The `function_call_output` input item that answers a Responses API function call."""
        return {"type": "function_call_output", "call_id": call_id, "output": self.content}

    def anthropic_block(self, tool_use_id: str) -> dict[str, Any]:
        """The `tool_result` content block (in a user message) that answers an Anthropic `tool_use` block."""
        return {"type": "tool_result", "tool_use_id": tool_use_id, "content": self.content, "is_error": not self.ok}

    def gemini_part(self, call_id: str | None) -> dict[str, Any]:
        """The `functionResponse` part that answers a Gemini function call. `call_id` is the call's own id
        (`part.function_call.id`; None when Gemini gave the call none): it pairs answers with parallel calls."""
        response: dict[str, Any] = {"name": self.name, "response": self.data}
        if call_id is not None:
            response = {"id": call_id, **response}
        return {"functionResponse": response}


class _CallRefused(Exception):
    """A call that never reaches GenVR; carries the result to return instead."""

    def __init__(self, result: ToolResult) -> None:
        super().__init__(result.data.get("message"))
        self.result = result


def error_result(name: str, error: str, message: str, **extra: Any) -> ToolResult:
    return ToolResult(name=name, ok=False, data={"error": error, "message": message, **extra})


def success_result(name: str, result: GenerationResult) -> ToolResult:
    data = {"task_id": result.task_id, "model": result.model, "status": result.status, "output": list(result.output)}
    return ToolResult(name=name, ok=True, data=data)


def failure_result(name: str, exc: BaseException, secrets: tuple[str, ...] = ()) -> ToolResult:
    """A GenVRError as the model should see it; anything else as a bare type name (its text could hold
    anything, so it goes to the log only, with `secrets` blanked)."""
    if isinstance(exc, GenVRError):
        kind, hint = next((k, h) for cls, k, h in _HINTS if isinstance(exc, cls))
        extra: dict[str, Any] = {k: v for k, v in (("model", exc.model), ("task_id", exc.task_id)) if v}
        if isinstance(exc, RoutingCollisionError):  # an invalid-arguments result names its fields, like any other
            extra["fields"] = {f: "shares its name with a GenVR routing field; leave it unset" for f in exc.fields}
        return error_result(name, kind, f"{exc.message} {hint}", **extra)
    trace = redact_text("".join(traceback.format_exception(exc)), secrets)
    log.error("tool %s: unexpected %s\n%s", name, type(exc).__name__, trace.rstrip())
    return error_result(name, "internal_error", f"The tool failed unexpectedly ({type(exc).__name__}); it may be retried.")


class _Resolver:
    """Tool name → input class, for the tools this dispatcher serves."""

    def __init__(self, tools: Mapping[str, str] | None, allowed: Iterable[str] | None) -> None:
        if tools is None:
            from genvr.tools import TOOL_NAMES  # lazily: importing the runtime must not import the package

            tools = TOOL_NAMES
        if allowed is not None:
            chosen = set(allowed)
            if chosen - set(tools):
                raise ValueError(f"unknown tool names: {', '.join(sorted(chosen - set(tools)))}")
            tools = {n: k for n, k in tools.items() if n in chosen}
        self.tools = dict(tools)

    def parse(self, name: str, arguments: str | Mapping[str, Any] | None) -> GenVRInput:
        if not name.strip():
            raise _CallRefused(error_result("", "invalid_call", "The tool call has no name; call one of the available tools by its name."))
        key = self.tools.get(name)
        if key is None:
            close = difflib.get_close_matches(name, list(self.tools), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise _CallRefused(error_result(name, "unknown_tool", f"No tool named {name!r} is available here.{hint}"))
        args = _arguments(name, arguments)
        from genvr.models import load_input_class

        cls = load_input_class(key)
        args = _whole_floats_as_ints(cls, args)
        try:
            # Strict: a bool or a string is no number (lax pydantic would send `true` as 1 and "42" as 42).
            return cls.model_validate(tool_arguments(cls, args), strict=True)
        except ValidationError as exc:
            fields = _field_errors(exc, cls)
            text = "; ".join(f"{f}: {m}" for f, m in fields.items())
            raise _CallRefused(
                error_result(name, "invalid_arguments", f"Invalid arguments: {text}. Correct them and call again.", fields=fields)
            ) from None


def tool_arguments(cls: type[GenVRInput], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Tool arguments → input values: the sentinel, and null for an input that is not nullable, mean "not
    sent"; a nullable input's null is kept (sent as null)."""
    nullable = set(cls.genvr_model.nullable)
    return {
        k: v
        for k, v in arguments.items()
        if not (isinstance(v, str) and v == DEFAULT_SENTINEL) and (v is not None or k in nullable)
    }


def _arguments(name: str, arguments: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise _CallRefused(error_result(name, "invalid_arguments", f"The arguments are not valid JSON ({exc.msg} at position {exc.pos}).")) from None
    if not isinstance(arguments, Mapping):
        raise _CallRefused(error_result(name, "invalid_arguments", "The arguments must be a JSON object of input names to values."))
    return dict(arguments)


def _whole_floats_as_ints(cls: type[GenVRInput], args: dict[str, Any]) -> dict[str, Any]:
    """20.0 → 20 for integer inputs: Gemini sends every number as a double, and strict validation refuses a
    float for an int. Fractions are left for the validator to refuse."""
    fields = dict(cls.model_fields) | {f.alias: f for f in cls.model_fields.values() if f.alias}
    out = dict(args)
    for key, value in args.items():
        field_info = fields.get(key)
        if field_info is not None and isinstance(value, float) and value.is_integer() and _takes_int(field_info.annotation):
            out[key] = int(value)
    return out


def _takes_int(annotation: Any) -> bool:
    """`int`, or a union holding int but no float (`int | None`)."""
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, UnionType):
        options = get_args(annotation)
        return int in options and float not in options
    return False


def _field_errors(exc: ValidationError, cls: type[GenVRInput]) -> dict[str, str]:
    """Field (wire name) → what is wrong with it, from pydantic's errors (never echoing the input value)."""
    accepted = sorted(f.alias or n for n, f in cls.model_fields.items())
    out: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown argument; accepted: {', '.join(accepted)}"
        out[where] = f"{out[where]}; {message}" if where in out else message
    return out


class ToolDispatcher:
    """Runs tool calls through a `BaseClient` (blocking until each job ends).

    `allowed` restricts the tools served (names); `tools` replaces the generated name → model-key map.
    """

    def __init__(
        self,
        client: BaseClient,
        *,
        allowed: Iterable[str] | None = None,
        tools: Mapping[str, str] | None = None,
        wait_timeout: float | None = None,
    ) -> None:
        self._client = client
        self._resolver = _Resolver(tools, allowed)
        self._wait_timeout = wait_timeout

    @property
    def tool_names(self) -> list[str]:
        return sorted(self._resolver.tools)

    def call(self, name: str | None, arguments: str | Mapping[str, Any] | None) -> ToolResult:
        name = name if isinstance(name, str) else ""  # a call without a name is refused by `parse`
        try:
            params = self._resolver.parse(name, arguments)
            return success_result(name, self._client.run(params, wait_timeout=self._wait_timeout))
        except _CallRefused as refused:
            return refused.result
        except Exception as exc:  # an agent loop must survive any failure of one call
            return failure_result(name, exc, (self._client._settings.api_key,))


class AsyncToolDispatcher:
    """`ToolDispatcher` over an `AsyncBaseClient`: `await dispatcher.call(name, arguments)`."""

    def __init__(
        self,
        client: AsyncBaseClient,
        *,
        allowed: Iterable[str] | None = None,
        tools: Mapping[str, str] | None = None,
        wait_timeout: float | None = None,
    ) -> None:
        self._client = client
        self._resolver = _Resolver(tools, allowed)
        self._wait_timeout = wait_timeout

    @property
    def tool_names(self) -> list[str]:
        return sorted(self._resolver.tools)

    async def call(self, name: str | None, arguments: str | Mapping[str, Any] | None) -> ToolResult:
        name = name if isinstance(name, str) else ""  # a call without a name is refused by `parse`
        try:
            params = self._resolver.parse(name, arguments)
            return success_result(name, await self._client.run(params, wait_timeout=self._wait_timeout))
        except _CallRefused as refused:
            return refused.result
        except Exception as exc:  # an agent loop must survive any failure of one call
            return failure_result(name, exc, (self._client._settings.api_key,))

    async def submit(self, name: str, arguments: str | Mapping[str, Any] | None) -> AsyncJob | ToolResult:
        """`call` in two steps, for callers that watch the wait (the MCP server): validate the arguments and send
        the generate call; the job, or the result to return instead (invalid arguments, a refused submission)."""
        try:
            return await self._client.submit(self._resolver.parse(name, arguments))
        except _CallRefused as refused:
            return refused.result
        except Exception as exc:  # an agent loop must survive any failure of one call
            return failure_result(name, exc, (self._client._settings.api_key,))

    async def wait(
        self, name: str, job: AsyncJob, *, timeout: float | None = None, on_update: StatusCallback | None = None
    ) -> ToolResult:
        """The second step: wait for `job` (`timeout`, else this dispatcher's) and make its tool result."""
        try:
            result = await job.wait(self._wait_timeout if timeout is None else timeout, on_update=on_update)
            return success_result(name, result)
        except Exception as exc:  # an agent loop must survive any failure of one call
            return failure_result(name, exc, (self._client._settings.api_key,))
