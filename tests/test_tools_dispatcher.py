"""The tool-call dispatcher: arguments validated by the generated classes, jobs run through the runtime,
every failure a tool result that names the field or the cause (never an exception, never a secret)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from genvr_runtime import AsyncBaseClient, BaseClient, GenerationResult, GenVRInput, TaskFailedError
from genvr_runtime.tools import AsyncToolDispatcher, ToolDispatcher
from simulator.server import SimulatorServer

SECRET = "sk-live-0123456789-secret"


class RecordingClient(BaseClient):
    """Records what would be sent; answers with a canned result or raises a given exception."""

    def __init__(self, error: BaseException | None = None) -> None:
        super().__init__(api_key=SECRET, uid="u", base_url="http://127.0.0.1:9")
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def run(self, params: GenVRInput, *, wait_timeout: float | None = None) -> GenerationResult:
        key = type(params).genvr_model.key
        self.sent.append((key, params.to_api_params()))
        if self.error is not None:
            raise self.error
        return GenerationResult(task_id="t1", model=key, status="completed", output=["https://x/1.png"], submitted_at=0, completed_at=1)


def test_success_drops_nulls_and_keeps_wire_names() -> None:
    client = RecordingClient()
    result = ToolDispatcher(client).call("genvr_imagegen__flux_dev", '{"prompt": "p", "seed": null, "aspect_ratio": "16:9"}')
    assert result.ok and result.data == {"task_id": "t1", "model": "imagegen/flux_dev", "status": "completed", "output": ["https://x/1.png"]}
    assert client.sent == [("imagegen/flux_dev", {"prompt": "p", "aspect_ratio": "16:9"})]
    assert json.loads(result.content) == result.data
    camel = ToolDispatcher(client).call("genvr_vidutils__runway_act2", {"bodyControl": True, "expressionIntensity": 3, **{"character_image": "https://x/c.png", "reference_video": "https://x/r.mp4"}})
    assert camel.ok, camel.data
    assert client.sent[-1][1]["bodyControl"] is True


@pytest.mark.parametrize(
    ("arguments", "fields"),
    [
        ('{"prompt": "p", "aspect_ratio": "7:3"}', {"aspect_ratio"}),
        ('{"prompt": 5}', {"prompt"}),
        ('{"aspect_ratio": "1:1"}', {"prompt"}),
        ("", {"prompt"}),
        ({"prompt": "p", "promt": "typo"}, {"promt"}),
        ({"prompt": "p", "output_quality": 101}, {"output_quality"}),
    ],
)
def test_invalid_arguments_name_the_field_and_send_nothing(arguments: Any, fields: set[str]) -> None:
    client = RecordingClient()
    result = ToolDispatcher(client).call("genvr_imagegen__flux_dev", arguments)
    assert not result.ok and result.data["error"] == "invalid_arguments"
    assert set(result.data["fields"]) == fields
    assert all(f in result.data["message"] for f in fields) and "call again" in result.data["message"]
    assert client.sent == []
    if "promt" in fields:
        assert "accepted: aspect_ratio" in result.data["fields"]["promt"] and "prompt" in result.data["fields"]["promt"]


@pytest.mark.parametrize(("arguments", "text"), [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ('"p"', "JSON object")])
def test_malformed_arguments_are_results_not_exceptions(arguments: str, text: str) -> None:
    result = ToolDispatcher(RecordingClient()).call("genvr_imagegen__flux_dev", arguments)
    assert not result.ok and text in result.data["message"]


def test_unknown_and_unserved_tools() -> None:
    result = ToolDispatcher(RecordingClient()).call("genvr_imagegen__flux_de", "{}")
    assert result.data["error"] == "unknown_tool" and "genvr_imagegen__flux_dev" in result.data["message"]
    subset = ToolDispatcher(RecordingClient(), allowed=["genvr_imagegen__flux_dev"])
    assert subset.tool_names == ["genvr_imagegen__flux_dev"]
    assert subset.call("genvr_videogen__sora2", "{}").data["error"] == "unknown_tool"
    with pytest.raises(ValueError, match="genvr_nope"):
        ToolDispatcher(RecordingClient(), allowed=["genvr_nope"])


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (TaskFailedError("task failed: NSFW", error="NSFW", model="imagegen/flux_dev", task_id="t9"), "job_failed", "NSFW"),
        (RuntimeError(f"boom {SECRET}"), "internal_error", "RuntimeError"),
        (KeyError(SECRET), "internal_error", "KeyError"),
    ],
)
def test_failures_become_results_without_secrets(error: BaseException, kind: str, text: str) -> None:
    result = ToolDispatcher(RecordingClient(error)).call("genvr_imagegen__flux_dev", {"prompt": "p"})
    assert not result.ok and result.data["error"] == kind and text in result.data["message"]
    assert SECRET not in result.content
    if kind == "job_failed":
        assert result.data["task_id"] == "t9" and result.data["model"] == "imagegen/flux_dev"


def test_result_message_shapes() -> None:
    result = ToolDispatcher(RecordingClient()).call("genvr_imagegen__flux_dev", {"prompt": "p"})
    assert result.openai_chat_message("c1") == {"role": "tool", "tool_call_id": "c1", "content": result.content}
    assert result.openai_responses_item("c1") == {"type": "function_call_output", "call_id": "c1", "output": result.content}
    assert result.anthropic_block("u1") == {"type": "tool_result", "tool_use_id": "u1", "content": result.content, "is_error": False}
    assert result.gemini_part("g1") == {"functionResponse": {"id": "g1", "name": "genvr_imagegen__flux_dev", "response": result.data}}


# ---------------------------------------------------------------------------------------------------------------
# Against the simulator


def sim_client(sim: SimulatorServer, **kw: Any) -> BaseClient:
    return BaseClient(api_key=kw.pop("api_key", sim.token), uid=sim.uid, base_url=sim.base_url, **kw)


def test_a_job_runs_on_the_simulator(genvr_simulator: SimulatorServer) -> None:
    with sim_client(genvr_simulator) as client:
        result = ToolDispatcher(client).call("genvr_3dgen__trellis", {"images": ["https://example.com/a.png"]})
    assert result.ok, result.data
    assert result.data["model"] == "3dgen/trellis" and result.data["output"][0].startswith(genvr_simulator.base_url)
    assert genvr_simulator.counters()["tasks_created"] == 1


def test_a_failed_job_and_a_wrong_key_are_actionable_results(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"task_failure_rate": 1.0, "failure_message": "content policy"})
    with sim_client(genvr_simulator) as client:
        failed = ToolDispatcher(client).call("genvr_imagegen__flux_dev", {"prompt": "p"})
    assert failed.data["error"] == "job_failed" and "content policy" in failed.data["message"] and failed.data["task_id"]
    with sim_client(genvr_simulator, api_key=SECRET, max_retries=0) as client:
        denied = ToolDispatcher(client).call("genvr_imagegen__flux_dev", {"prompt": "p"})
    assert denied.data["error"] == "configuration_error" and "will not help" in denied.data["message"]
    assert SECRET not in denied.content


def test_a_routing_field_sent_anyway_is_refused_before_sending(genvr_simulator: SimulatorServer) -> None:
    with sim_client(genvr_simulator) as client:
        result = ToolDispatcher(client).call(
            "genvr_imgutils_transfer__garment",
            {"category": "dresses", "garm_img": "https://example.com/g.png", "human_img": "https://example.com/h.png"},
        )
    assert not result.ok and "category" in result.data["message"]
    assert genvr_simulator.counters()["tasks_created"] == 0


async def test_async_dispatcher_on_the_simulator(genvr_simulator: SimulatorServer) -> None:
    async with AsyncBaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url) as client:
        dispatcher = AsyncToolDispatcher(client)
        ok = await dispatcher.call("genvr_imagegen__flux_dev", '{"prompt": "p", "seed": null}')
        bad = await dispatcher.call("genvr_imagegen__flux_dev", '{"prompt": "p", "seed": "x"}')
    assert ok.ok and ok.data["output"]
    assert bad.data["error"] == "invalid_arguments" and list(bad.data["fields"]) == ["seed"]


# ---------------------------------------------------------------------------------------------------------------
# Types are taken as declared (issue 9, item 10): no bool for a number, no string for a number; an integral
# float stays fine for an integer (Gemini sends every number as a double).


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"prompt": "p", "seed": True}, "seed"),
        ({"prompt": "p", "num_inference_steps": False}, "num_inference_steps"),
        ({"prompt": "p", "guidance": False}, "guidance"),
        ({"prompt": "p", "guidance": True}, "guidance"),
        ({"prompt": "p", "seed": "42"}, "seed"),
        ({"prompt": "p", "guidance": "1.5"}, "guidance"),
        ({"prompt": "p", "output_quality": "80"}, "output_quality"),
        ({"prompt": "p", "seed": 20.5}, "seed"),
        ('{"prompt": "p", "seed": true}', "seed"),
        ('{"prompt": "p", "guidance": "7"}', "guidance"),
    ],
)
def test_booleans_and_strings_are_not_numbers(arguments: Any, field: str) -> None:
    client = RecordingClient()
    result = ToolDispatcher(client).call("genvr_imagegen__flux_dev", arguments)
    assert not result.ok and result.data["error"] == "invalid_arguments", result.data
    assert list(result.data["fields"]) == [field]
    assert client.sent == []


def test_a_string_is_not_a_boolean() -> None:
    client = RecordingClient()
    result = ToolDispatcher(client).call("genvr_vidutils__runway_act2", {
        "character_image": "https://x/c.png", "reference_video": "https://x/r.mp4", "bodyControl": "true"})
    assert result.data["error"] == "invalid_arguments" and list(result.data["fields"]) == ["bodyControl"]
    assert client.sent == []


def test_integral_floats_are_integers_and_integers_are_floats() -> None:
    client = RecordingClient()
    result = ToolDispatcher(client).call(
        "genvr_imagegen__flux_dev", {"prompt": "p", "seed": 20.0, "num_inference_steps": 28.0, "guidance": 3, "output_quality": 90.0})
    assert result.ok, result.data
    sent = client.sent[0][1]
    assert sent == {"prompt": "p", "seed": 20, "num_inference_steps": 28, "guidance": 3.0, "output_quality": 90}
    assert type(sent["seed"]) is int and type(sent["guidance"]) is float
    # An integer enum (Literal[...]) takes 5.0 as 5 too, and still refuses "5" and True.
    ok = ToolDispatcher(client).call("genvr_videogen__bytedance_seedance1_i2v", {"prompt": "p", "image_url": "https://x/i.png", "duration": 5.0})
    assert ok.ok, ok.data
    assert client.sent[-1][1]["duration"] == 5 and type(client.sent[-1][1]["duration"]) is int
    for bad in ("5", True):
        refused = ToolDispatcher(client).call("genvr_videogen__bytedance_seedance1_i2v", {"prompt": "p", "image_url": "https://x/i.png", "duration": bad})
        assert list(refused.data["fields"]) == ["duration"], refused.data


def test_gemini_part_carries_the_function_call_id() -> None:
    from google.genai import types

    result = ToolDispatcher(RecordingClient()).call("genvr_imagegen__flux_dev", {"prompt": "p"})
    part = result.gemini_part("call-7")
    assert part == {"functionResponse": {"id": "call-7", "name": "genvr_imagegen__flux_dev", "response": result.data}}
    parsed = types.Part.model_validate(part)
    assert parsed.function_response is not None and parsed.function_response.id == "call-7"
    assert parsed.function_response.name == "genvr_imagegen__flux_dev" and parsed.function_response.response == result.data
    # Gemini leaves the id out of some calls (function_call.id is None): the part then has none either.
    assert result.gemini_part(None) == {"functionResponse": {"name": "genvr_imagegen__flux_dev", "response": result.data}}


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_call_without_a_name_is_an_invalid_call(name: Any) -> None:
    client = RecordingClient()
    result = ToolDispatcher(client).call(name, {"prompt": "p"})
    assert not result.ok and result.data["error"] == "invalid_call", result.data
    assert "name" in result.data["message"] and result.name == ""
    assert client.sent == []


async def test_async_dispatcher_refuses_a_nameless_call_and_lax_types() -> None:
    async with AsyncBaseClient(api_key=SECRET, uid="u", base_url="http://127.0.0.1:9") as client:
        dispatcher = AsyncToolDispatcher(client)
        nameless = await dispatcher.call(None, {"prompt": "p"})  # type: ignore[arg-type]
        lax = await dispatcher.call("genvr_imagegen__flux_dev", {"prompt": "p", "seed": True})
    assert nameless.data["error"] == "invalid_call"
    assert lax.data["error"] == "invalid_arguments" and list(lax.data["fields"]) == ["seed"]


def test_a_routing_field_refusal_names_the_field(genvr_simulator: SimulatorServer) -> None:
    with sim_client(genvr_simulator) as client:
        result = ToolDispatcher(client).call(
            "genvr_imgutils_transfer__garment",
            {"category": "dresses", "garm_img": "https://example.com/g.png", "human_img": "https://example.com/h.png"},
        )
    assert not result.ok and result.data["error"] == "invalid_arguments"
    assert list(result.data["fields"]) == ["category"] and "routing" in result.data["fields"]["category"]
    assert genvr_simulator.counters()["tasks_created"] == 0


def test_an_unexpected_failure_is_logged_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = ToolDispatcher(RecordingClient(RuntimeError(f"boom Bearer {SECRET} and {SECRET}"))).call("genvr_imagegen__flux_dev", {"prompt": "p"})
    assert result.data["error"] == "internal_error"
    assert "RuntimeError" in caplog.text and "Traceback" in caplog.text  # still diagnosable
    assert SECRET not in caplog.text
