"""The generated specs through the real `openai` and `anthropic` SDKs (no network: a fake endpoint on 127.0.0.1),
and the round trip model → tool call → dispatcher → simulator → tool result → model."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic.types import ToolParam, ToolSearchToolBm25_20251119Param
from openai.lib._pydantic import to_strict_json_schema
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.responses import FunctionToolParam, NamespaceToolParam, ToolSearchToolParam
from openai.types.responses.namespace_tool_param import ToolFunction as NamespaceFunction
from openai.types.shared_params import FunctionDefinition
from pydantic import TypeAdapter, WithJsonSchema
from typing_extensions import Annotated

from genvr_runtime import BaseClient
from genvr_runtime.tools import ToolDispatcher
from simulator.server import SimulatorServer
from genvr import tools as genvr_tools
from test_tools_specs import FORMATS, GENERATED, bundles



def conforms(typed_dict: Any, value: dict[str, Any]) -> None:
    """`value` is a valid instance of the SDK's TypedDict: value types checked by pydantic, and (which pydantic
    ignores for TypedDicts) no key the type does not declare, every required key present."""
    TypeAdapter(typed_dict).validate_python(value)
    declared = typed_dict.__required_keys__ | typed_dict.__optional_keys__
    assert set(value) <= declared and typed_dict.__required_keys__ <= set(value), (typed_dict.__name__, sorted(value))


class FakeLLM:
    """Answers Chat Completions, Responses and Messages calls with scripted replies; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.replies: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, body))
                reply = fake.replies.pop(0) if fake.replies else fake.default(self.path)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def default(self, path: str) -> dict[str, Any]:
        if path.endswith("/messages"):
            return anthropic_reply([{"type": "text", "text": "done"}], "end_turn")
        if path.endswith("/responses"):
            return responses_reply([{"type": "message", "id": "m1", "role": "assistant", "status": "completed",
                                     "content": [{"type": "output_text", "text": "done", "annotations": []}]}])
        return chat_reply({"role": "assistant", "content": "done"}, "stop")


def chat_reply(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish, "message": message}]}


def responses_reply(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "r1", "object": "response", "created_at": 0, "model": "m", "status": "completed", "output": output,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}


def anthropic_reply(content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {"id": "msg1", "type": "message", "role": "assistant", "model": "m", "content": content,
            "stop_reason": stop, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def llm(fake_llm: FakeLLM) -> FakeLLM:
    fake_llm.requests.clear()
    fake_llm.replies.clear()
    return fake_llm


def openai_client(llm: FakeLLM) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=f"{llm.url}/v1", max_retries=0)


def anthropic_client(llm: FakeLLM) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=llm.url, max_retries=0)


# ---------------------------------------------------------------------------------------------------------------
# Accepted as-is


def test_openai_sdk_types_accept_every_tool_and_send_every_bundle_unchanged(llm: FakeLLM) -> None:
    client = openai_client(llm)
    for fmt in ("openai_chat", "openai_chat_strict", "openai_responses", "openai_responses_strict"):
        chat = fmt.startswith("openai_chat")
        for rel, tools in bundles(fmt).items():
            for tool in tools:
                conforms(ChatCompletionFunctionToolParam if chat else FunctionToolParam, tool)
                if chat:
                    conforms(FunctionDefinition, tool["function"])
            if chat:
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], tools=tools)
            else:
                client.responses.create(model="m", input="hi", tools=tools)
            path, body = llm.requests[-1]
            assert path == ("/v1/chat/completions" if chat else "/v1/responses")
            assert body["tools"] == tools, rel  # the SDK neither reshaped nor dropped anything
    assert len(llm.requests) == 4 * 10


def test_openai_tool_search_form_is_accepted_by_the_sdk(llm: FakeLLM) -> None:
    tools: Any = genvr_tools.load_tool_search("openai_responses")
    for namespace in tools[:-1]:
        conforms(NamespaceToolParam, namespace)
        for function in namespace["tools"]:
            conforms(NamespaceFunction, function)
    conforms(ToolSearchToolParam, tools[-1])
    openai_client(llm).responses.create(model="m", input="make a video", tools=tools)
    assert llm.requests[-1][1]["tools"] == tools


def test_strict_schemas_pass_the_sdk_strict_conversion_unchanged() -> None:
    """openai's `to_strict_json_schema` (what `pydantic_function_tool` uses) adds what strict mode needs; on
    our strict schemas it must have nothing left to add or change."""
    seen = 0
    for fmt in ("openai_chat_strict", "openai_responses_strict"):
        for tools in bundles(fmt).values():
            for tool in tools:
                params = tool.get("function", tool)["parameters"]
                adapter = TypeAdapter(Annotated[dict[str, Any], WithJsonSchema(copy.deepcopy(params))])
                assert to_strict_json_schema(adapter) == params, tool.get("function", tool)["name"]
                seen += 1
    assert seen == 2 * 286


def test_anthropic_sdk_types_accept_every_tool_and_send_every_bundle_unchanged(llm: FakeLLM) -> None:
    client = anthropic_client(llm)
    search: Any = genvr_tools.load_tool_search("anthropic")
    for rel, tools in [*bundles("anthropic").items(), ("tool search", search)]:
        for tool in tools:
            if tool.get("type") == "tool_search_tool_bm25_20251119":
                conforms(ToolSearchToolBm25_20251119Param, tool)
            else:
                conforms(ToolParam, tool)
        client.messages.create(model="m", max_tokens=16, messages=[{"role": "user", "content": "hi"}], tools=tools)
        path, body = llm.requests[-1]
        assert path == "/v1/messages" and body["tools"] == tools, rel
    assert len(llm.requests) == 11


# ---------------------------------------------------------------------------------------------------------------
# Round trips against the simulator


ARGS = {"prompt": "a lighthouse at dawn", "aspect_ratio": "16:9"}


@pytest.fixture
def dispatcher(genvr_simulator: SimulatorServer) -> Iterator[ToolDispatcher]:
    client = BaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url)
    yield ToolDispatcher(client)
    client.close()


def assert_output_downloads(url: str) -> None:
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url).content  # a real file the simulator wrote


def test_openai_chat_round_trip(llm: FakeLLM, dispatcher: ToolDispatcher) -> None:
    tools: Any = genvr_tools.load("openai_chat_strict", category="imagegen")
    flux = next(t for t in tools if t["function"]["name"] == "genvr_imagegen__flux_dev")
    # A strict-mode model sends every property, null for those it leaves to GenVR's defaults.
    strict_args = {**{k: None for k in flux["function"]["parameters"]["properties"]}, **ARGS}
    call = {"id": "call_1", "type": "function", "function": {"name": "genvr_imagegen__flux_dev", "arguments": json.dumps(strict_args)}}
    llm.replies.append(chat_reply({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"))
    client = openai_client(llm)
    messages: list[Any] = [{"role": "user", "content": "Draw a lighthouse."}]
    first = client.chat.completions.create(model="m", messages=messages, tools=tools)
    tool_call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    result = dispatcher.call(tool_call.function.name, tool_call.function.arguments)  # type: ignore[union-attr]
    assert result.ok and result.data["model"] == "imagegen/flux_dev"
    messages += [first.choices[0].message.model_dump(exclude_none=True), result.openai_chat_message(tool_call.id)]
    final = client.chat.completions.create(model="m", messages=messages, tools=tools)
    assert final.choices[0].message.content == "done"
    sent = llm.requests[-1][1]["messages"][-1]
    assert sent["role"] == "tool" and sent["tool_call_id"] == "call_1"
    assert json.loads(sent["content"])["output"] == result.data["output"]
    assert_output_downloads(result.data["output"][0])


def test_openai_responses_round_trip_with_invalid_arguments_then_a_fix(llm: FakeLLM, dispatcher: ToolDispatcher) -> None:
    tools: Any = genvr_tools.load("openai_responses_strict", category="imagegen")
    bad = {"type": "function_call", "id": "fc1", "call_id": "call_a", "name": "genvr_imagegen__flux_dev",
           "arguments": json.dumps({**ARGS, "aspect_ratio": "7:3"}), "status": "completed"}
    llm.replies.append(responses_reply([bad]))
    client = openai_client(llm)
    first = client.responses.create(model="m", input="Draw a lighthouse.", tools=tools)
    item = first.output[0]
    assert item.type == "function_call"
    result = dispatcher.call(item.name, item.arguments)
    assert not result.ok and result.data["error"] == "invalid_arguments" and "aspect_ratio" in result.data["fields"]
    client.responses.create(model="m", previous_response_id=first.id, input=[result.openai_responses_item(item.call_id)], tools=tools)  # type: ignore[list-item]
    sent = llm.requests[-1][1]["input"][0]
    assert sent["type"] == "function_call_output" and "aspect_ratio" in json.loads(sent["output"])["message"]
    fixed = dispatcher.call(item.name, json.dumps(ARGS))
    assert fixed.ok and fixed.data["output"]


def test_anthropic_round_trip(llm: FakeLLM, dispatcher: ToolDispatcher) -> None:
    tools: Any = genvr_tools.load("anthropic", category="videogen")
    use = {"type": "tool_use", "id": "toolu_1", "name": "genvr_videogen__kling2_5_i2v",
           "input": {"prompt": "waves", "image_url": "https://example.com/start.png"}}
    llm.replies.append(anthropic_reply([use], "tool_use"))
    client = anthropic_client(llm)
    messages: list[Any] = [{"role": "user", "content": "Animate this."}]
    first = client.messages.create(model="m", max_tokens=64, messages=messages, tools=tools)
    block = first.content[0]
    assert block.type == "tool_use"
    result = dispatcher.call(block.name, block.input)  # type: ignore[arg-type]
    assert result.ok, result.data
    messages += [{"role": "assistant", "content": [block.model_dump()]}, {"role": "user", "content": [result.anthropic_block(block.id)]}]
    final = client.messages.create(model="m", max_tokens=64, messages=messages, tools=tools)
    assert final.content[0].type == "text"
    sent = llm.requests[-1][1]["messages"][-1]["content"][0]
    assert sent["type"] == "tool_result" and sent["tool_use_id"] == "toolu_1" and sent["is_error"] is False
    assert_output_downloads(result.data["output"][0])


def test_every_format_directory_is_covered() -> None:
    assert set(FORMATS) == {p.name for p in (GENERATED / "genvr" / "tools").iterdir() if p.is_dir()} - {"__pycache__"}


def test_the_sdk_checks_have_teeth() -> None:
    """The acceptance checks above would catch a wrong shape or a non-strict schema."""
    tool = genvr_tools.load("anthropic", category="imagegen")[0]
    with pytest.raises(AssertionError):
        conforms(ToolParam, {**tool, "inputSchema": tool["input_schema"]})  # the MCP spelling
    with pytest.raises(AssertionError):
        conforms(ChatCompletionFunctionToolParam, {**genvr_tools.load("openai_chat", category="imagegen")[0], "strict": True})
    full = genvr_tools.load("openai_chat", category="imagegen")[0]["function"]["parameters"]
    adapter = TypeAdapter(Annotated[dict[str, Any], WithJsonSchema(copy.deepcopy(full))])
    assert to_strict_json_schema(adapter) != full  # optional inputs get added to `required`
