"""Every documented example (discovery/samples of the shared research, API.md) replayed against the simulator:
same shape (keys and JSON types); placeholder values differ by nature."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import SimulatorServer

SAMPLES = Path(__file__).resolve().parents[1] / "discovery" / "samples"  # committed copies (PROVENANCE.md)
DOCS = SAMPLES / "docs"

# §9.2 of API.md: every key a parameter object may carry in the documented form.
PARAMETER_KEYS = {"name", "type", "description", "default", "allowedValues", "minimum", "maximum", "min", "max",
                  "step", "format", "fileType", "items", "maxItems", "minItems", "maxLength"}


def load(name: str) -> Any:
    return json.loads((DOCS / name).read_text(encoding="utf-8"))


def assert_shape(expected: Any, actual: Any, where: str = "$") -> None:
    """Same keys and JSON types; `{}` in a documented example stands for 'some object'; lists compare items
    against the documented first item."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected object, got {actual!r}"
        if not expected:
            return
        assert set(actual) == set(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key, value in expected.items():
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected array, got {actual!r}"
        for i, item in enumerate(actual):
            assert_shape(expected[min(i, len(expected) - 1)], item, f"{where}[{i}]")
    elif isinstance(expected, bool):
        assert isinstance(actual, bool), f"{where}: expected boolean, got {actual!r}"
    elif isinstance(expected, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: expected number"
    else:
        assert isinstance(actual, type(expected)), f"{where}: expected {type(expected).__name__}, got {actual!r}"


def localize(body: dict[str, Any], sim: SimulatorServer, **changes: Any) -> dict[str, Any]:
    """Replace the docs' placeholders (uid, a 2026 model absent from the 2025-10 snapshot) with real values."""
    out = {k: (sim.uid if k in ("uid", "userId") else v) for k, v in body.items()}
    if out.get("subcategory") == "flux2_dev":
        out["subcategory"] = "flux_dev"
    out.update(changes)
    return out


def wait_done(sim: SimulatorServer, version: str, body: dict[str, Any]) -> None:
    path = "/api/v1/status" if version == "v1" else "/v2/status"
    deadline = time.monotonic() + 5
    while httpx.post(sim.url(path), json=body, headers=sim.headers).json()["data"]["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_v1_generate_example(genvr_simulator: SimulatorServer) -> None:
    r = httpx.post(genvr_simulator.url("/api/v1/generate"), headers=genvr_simulator.headers,
                   json=localize(load("get-started__v1-generate.request.json"), genvr_simulator))
    assert r.status_code == 200
    documented = load("get-started__v1-generate.response.json")
    assert_shape(documented, r.json())
    assert r.json()["data"]["status"] == documented["data"]["status"] == "starting"


@pytest.mark.parametrize("step", ["status", "response"])
def test_v1_status_and_response_examples(genvr_simulator: SimulatorServer, step: str) -> None:
    sim = genvr_simulator
    created = httpx.post(sim.url("/api/v1/generate"), headers=sim.headers,
                         json=localize(load("get-started__v1-generate.request.json"), sim)).json()
    body = localize(load(f"get-started__v1-{step}.request.json"), sim, id=created["data"]["id"])
    assert_shape(load(f"get-started__v1-{step}.request.json"), body)
    wait_done(sim, "v1", body)
    r = httpx.post(sim.url(f"/api/v1/{step}"), headers=sim.headers, json=body)
    documented = load(f"get-started__v1-{step}.response.json")
    assert r.status_code == 200
    assert_shape(documented, r.json())
    assert r.json()["data"]["status"] == "completed"
    if step == "response":
        assert r.json()["data"]["output"][0].endswith(".png?sig=1")


def test_output_format_example_multiple_results(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    created = httpx.post(sim.url("/v2/generate"), headers=sim.headers, json={
        "uid": sim.uid, "category": "imagegen", "subcategory": "nirman", "prompt": "two", "num_outputs": 2}).json()
    body = {"id": created["data"]["id"], "uid": sim.uid, "category": "imagegen", "subcategory": "nirman"}
    wait_done(sim, "v2", body)
    reply = httpx.post(sim.url("/v2/response"), headers=sim.headers, json=body).json()
    assert_shape(load("get-started__output-format.response.json"), reply)
    assert len(reply["data"]["output"]) == 2


def test_schema_example(genvr_simulator: SimulatorServer) -> None:
    reply = httpx.get(genvr_simulator.url("/api/schema/imagegen/flux_dev")).json()
    documented = load("api-docs-schema__imagegen__flux_dev.response.json")
    envelope = {**documented, "data": {**documented["data"], "parameters": {}}}
    assert_shape(envelope, reply)
    assert set(reply["data"]["parameters"]) == {"required", "optional"}
    doc_keys = {k for g in documented["data"]["parameters"].values() for p in g for k in p}
    assert doc_keys <= PARAMETER_KEYS
    for group in reply["data"]["parameters"].values():
        for param in group:
            assert set(param) <= PARAMETER_KEYS and isinstance(param["name"], str) and isinstance(param["type"], str)
            if param["type"] == "enum":
                assert isinstance(param["allowedValues"], list) and param["default"] in param["allowedValues"]
    # The documented example's own enum parameter has the same key set as ours.
    ours = next(p for p in reply["data"]["parameters"]["optional"] if p["name"] == "aspect_ratio")
    assert set(ours) == set(documented["data"]["parameters"]["optional"][0])


def _batch(sim: SimulatorServer, step: str, requests: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(sim.url(f"/v2/{step}-batch"), headers=sim.headers, json={"requests": requests})


def test_batch_examples(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    request = load("batch-apis__generate-batch.request.json")
    assert set(request) == {"requests"}
    gen = _batch(sim, "generate", [localize(item, sim) for item in request["requests"]])
    assert gen.status_code == 200
    assert_shape(load("batch-apis__generate-batch.response.json"), gen.json())
    assert_shape(load("batch-apis__envelope-shape.response.json"), gen.json())
    ids = [r["body"]["data"]["id"] for r in gen.json()["data"]["results"]]
    assert [r["index"] for r in gen.json()["data"]["results"]] == [0, 1]
    assert all(r["body"]["data"]["status"] == "queued" for r in gen.json()["data"]["results"])
    for step in ("status", "response"):
        items = [localize(item, sim, id=task_id)
                 for item, task_id in zip(load(f"batch-apis__{step}-batch.request.json")["requests"], ids)]
        for item in items:
            wait_done(sim, "v2", item)
        reply = _batch(sim, step, items)
        assert reply.status_code == 200
        assert_shape(load(f"batch-apis__{step}-batch.response.json"), reply.json())


def test_batch_example_unmodified_names_a_model_the_snapshot_lacks(genvr_simulator: SimulatorServer) -> None:
    # flux2_dev (2026 docs) is not in the 2025-10 snapshot: the wrapper keeps its shape, each item is a 404.
    items = [{**i, "uid": genvr_simulator.uid} for i in load("batch-apis__generate-batch.request.json")["requests"]]
    reply = _batch(genvr_simulator, "generate", items).json()
    wrapper = load("batch-apis__envelope-shape.response.json")
    wrapper["data"]["results"] = [{**r, "body": {}} for r in wrapper["data"]["results"]]
    assert_shape(wrapper, reply)
    assert [(r["status"], r["body"]["success"]) for r in reply["data"]["results"]] == [(404, False), (404, False)]


def test_upload_example(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    r = httpx.post(sim.url("/api/upload/sas-url"), headers=sim.headers,
                   json=localize(load("upload-asset__sas-url.request.json"), sim))
    assert r.status_code == 200
    documented = load("upload-asset__sas-url.response.json")
    assert_shape(documented, r.json())
    assert r.json()["instructions"] == documented["instructions"]
    assert r.json()["blobPath"].startswith(f"{sim.uid}/upload_") and r.json()["blobPath"].endswith(".jpg")


@pytest.mark.parametrize(("sample", "category", "subcategory"), [
    ("example_batch.json", "imagegen", "flux_dev"),
    ("example_imgedit.json", "imgedit", "background_change"),
    ("example_3dgen.json", "3dgen", "hyper3d_rodin_v2"),  # no schema published: any parameters accepted
])
def test_genvr_batch_app_examples(genvr_simulator: SimulatorServer, sample: str, category: str,
                                  subcategory: str) -> None:
    sim = genvr_simulator
    jobs = json.loads((SAMPLES / "genvr_batch" / sample).read_text(encoding="utf-8"))
    # The app adds uid/category/subcategory to each parameter object (PROVENANCE.md).
    items = [{"uid": sim.uid, "category": category, "subcategory": subcategory, **job} for job in jobs]
    for item in items:
        r = httpx.post(sim.url("/v2/generate"), headers=sim.headers, json=item)
        assert r.status_code == 200, r.text
        assert_shape(load("get-started__v1-generate.response.json"), r.json())
    assert sim.counters()["tasks_created"] == len(items)
