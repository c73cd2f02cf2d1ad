"""Issue 10, observation 8: a nullable input's explicit null reaches GenVR as null on every surface, and
leaving it out stays expressible (it is then not sent). Judged by what the simulator received."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from genvr_runtime import BaseClient
from genvr_runtime.tools import ToolDispatcher
from simulator.server import SimulatorServer

MODEL = "videogen/google_veo3_t2v"  # `negative_prompt` and `seed` are nullable; `prompt` is required
TOOL = "genvr_videogen__google_veo3_t2v"


def sent(sim: SimulatorServer) -> list[dict[str, Any]]:
    """The model parameters of every task the simulator created, oldest first."""
    tasks = httpx.get(sim.url("/_sim/tasks")).json()["tasks"]
    return [t["params"] for t in sorted(tasks, key=lambda t: t["seq"])]


def client_for(sim: SimulatorServer) -> BaseClient:
    return BaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url)


def test_python_method_and_input_class(genvr_simulator: SimulatorServer) -> None:
    from genvr import Client
    from genvr.models.videogen.google_veo3_t2v import GoogleVeo3T2vInput

    with Client(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url) as client:
        client.videogen.google_veo3_t2v(prompt="p", negative_prompt=None)
        client.videogen.google_veo3_t2v(prompt="p")
        client.run(GoogleVeo3T2vInput(prompt="p", seed=None))
    first, second, third = sent(genvr_simulator)
    assert "negative_prompt" in first and first["negative_prompt"] is None
    assert "negative_prompt" not in second and "seed" not in second
    assert "seed" in third and third["seed"] is None


def test_tools_full_and_strict(genvr_simulator: SimulatorServer) -> None:
    from generator_helpers import snapshot_specs
    from generator.targets import llm_tools_schema

    strict = llm_tools_schema.parameters(snapshot_specs()[MODEL], "strict")
    strict_args = {name: None for name in strict["properties"]} | {"prompt": "p", "negative_prompt": None, "seed": "$default"}
    jsonschema.validate(strict_args, strict)  # what an OpenAI strict-mode model may send
    assert "$default" in strict["properties"]["seed"]["description"]
    with client_for(genvr_simulator) as client:
        dispatcher = ToolDispatcher(client)
        assert dispatcher.call(TOOL, {"prompt": "p", "negative_prompt": None}).ok  # full spec: null sent
        assert dispatcher.call(TOOL, {"prompt": "p"}).ok  # omitted: not sent
        assert dispatcher.call(TOOL, json.dumps(strict_args)).ok
    full, omitted, from_strict = sent(genvr_simulator)
    assert full == {"prompt": "p", "negative_prompt": None}
    assert omitted == {"prompt": "p"}
    # Strict: null on the nullable input is sent; "$default" and nulls of non-nullable inputs are not.
    assert from_strict == {"prompt": "p", "negative_prompt": None}


def test_jsonl_batch(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    from genvr_runtime import BatchPollSchedule

    jobs = tmp_path / "jobs.jsonl"
    lines = [{"custom_id": "null", "model": MODEL, "input": {"prompt": "p", "negative_prompt": None}},
             {"custom_id": "omitted", "model": MODEL, "input": {"prompt": "q"}}]
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with client_for(genvr_simulator) as client:
        client.batch(jobs, tmp_path / "out.jsonl", progress=False, poll=BatchPollSchedule(base=0.02, growth=0.05, maximum=0.1))
    by_prompt = {p["prompt"]: p for p in sent(genvr_simulator)}
    assert by_prompt["p"] == {"prompt": "p", "negative_prompt": None}
    assert by_prompt["q"] == {"prompt": "q"}


async def test_comfyui_null_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> None:
    from comfy_double import install, load_pack

    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    monkeypatch.setenv("GENVR_BASE_URL", genvr_simulator.base_url)
    install(monkeypatch, tmp_path)
    pack = load_pack()
    node = pack.NODE_CLASS_MAPPINGS["GenVR_videogen__google_veo3_t2v"]
    optional = node.INPUT_TYPES()["optional"]
    assert "(null)" in optional["negative_prompt"][1]["tooltip"]
    await node().run(unique_id="1", prompt="p", negative_prompt="(null)", seed=-1)
    await node().run(unique_id="2", prompt="q", negative_prompt="", seed=-1)
    vibevoice = pack.NODE_CLASS_MAPPINGS["GenVR_audiogen__microsoft_vibevoice"].INPUT_TYPES()
    assert "(null)" in vibevoice["optional"]["speaker_2"][0]  # a nullable combo offers null
    by_prompt = {p["prompt"]: p for p in sent(genvr_simulator)}
    assert by_prompt["p"]["negative_prompt"] is None and "negative_prompt" in by_prompt["p"]
    assert "negative_prompt" not in by_prompt["q"]
