"""Discovery routes over real HTTP: all 291 models, every schema in both dialects, the parameters-form converter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import SimulatorServer, to_parameters

DISCOVERY = Path(__file__).resolve().parent.parent / "discovery"
MODELS = json.loads((DISCOVERY / "models.json").read_text(encoding="utf-8"))["data"]
SCHEMA_FILES = sorted((DISCOVERY / "schemas").glob("*/*.json"))
NO_SCHEMA = {"3dgen/hyper3d_rodin_v2", "3dgen/meshy3d_v6", "videogen/google_veo3_1", "videogen/sora2",
             "vidutils/sora2_watermark_remover"}


def _schema(key: str) -> dict[str, Any]:
    cat, sub = key.split("/")
    return json.loads((DISCOVERY / "schemas" / cat / f"{sub}.json").read_text(encoding="utf-8"))["schema"]


def _param(params: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    return next(p for group in params.values() for p in group if p["name"] == name)


def test_models_serves_the_real_snapshot(genvr_simulator: SimulatorServer) -> None:
    r = httpx.get(genvr_simulator.url("/api/models"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["success"] is True and body["count"] == 291 == len(body["data"])
    assert body["message"] == "Models retrieved successfully"
    assert body["data"] == MODELS
    assert all(set(m) == {"name", "category", "subcategory", "description", "endpoint", "documentation", "preview"}
               for m in body["data"])


def test_get_models_serves_the_real_snapshot(genvr_simulator: SimulatorServer) -> None:
    body = httpx.get(genvr_simulator.url("/api/get-models")).json()
    assert body == json.loads((DISCOVERY / "get-models.json").read_text(encoding="utf-8"))
    assert sum(len(v) for v in body["data"].values()) == 308


def test_every_schema_in_both_dialects(genvr_simulator: SimulatorServer) -> None:
    assert len(SCHEMA_FILES) == 286
    with httpx.Client(base_url=genvr_simulator.base_url) as client:
        for m in MODELS:
            key = f"{m['category']}/{m['subcategory']}"
            path = f"/api/schema/{key}"
            if key in NO_SCHEMA:
                for dialect in ("inputjson", "parameters"):
                    r = client.get(path, params={"dialect": dialect})
                    assert r.status_code == 404 and r.json()["success"] is False, key
                continue
            raw = _schema(key)
            j = client.get(path, params={"dialect": "inputjson"}).json()
            assert j == {"success": True, "data": {"category": m["category"], "subcategory": m["subcategory"],
                                                   "schema": raw}, "message": "Schema retrieved successfully"}
            p = client.get(path, params={"dialect": "parameters"}).json()
            assert p["success"] is True and p["message"] == "Schema retrieved successfully"
            data = p["data"]
            assert (data["category"], data["subcategory"]) == (m["category"], m["subcategory"])
            names = [x["name"] for g in ("required", "optional") for x in data["parameters"][g]]
            assert sorted(names) == sorted(raw["properties"]), key
            req = {x["name"] for x in data["parameters"]["required"]}
            assert req == set(raw.get("required", [])) & set(raw["properties"]), key


def test_schema_dialect_setting_decides_the_default(genvr_simulator: SimulatorServer) -> None:
    url = genvr_simulator.url("/api/schema/imagegen/flux_dev")
    assert "parameters" in httpx.get(url).json()["data"]
    genvr_simulator.configure(dialect="inputjson")
    assert "schema" in httpx.get(url).json()["data"]
    assert httpx.get(url, params={"dialect": "xml"}).status_code == 400


@pytest.mark.parametrize("path", ["/api/schema/imagegen/nope", "/api/schema/nocat/flux_dev",
                                  "/api/openai-function/imagegen/nope", "/api/comfyui-node/imagegen/nope"])
def test_unknown_model_is_a_clear_404(genvr_simulator: SimulatorServer, path: str) -> None:
    r = httpx.get(genvr_simulator.url(path))
    assert r.status_code == 404
    assert r.json()["success"] is False and "not found" in r.json()["message"].lower()


def test_flux_dev_parameters_form() -> None:
    params = to_parameters(_schema("imagegen/flux_dev"))
    assert [p["name"] for p in params["required"]] == ["prompt"]
    # x-order: speed_mode 1, num_inference_steps 2, guidance 3, seed 4, aspect_ratio 5, image_size 6, ...
    assert [p["name"] for p in params["optional"]] == ["speed_mode", "num_inference_steps", "guidance", "seed",
                                                       "aspect_ratio", "image_size", "output_format", "output_quality"]
    ar = _param(params, "aspect_ratio")
    assert ar["type"] == "enum" and ar["default"] == "16:9" and len(ar["allowedValues"]) == 11
    q = _param(params, "output_quality")
    assert (q["type"], q["minimum"], q["maximum"], q["default"]) == ("integer", 1, 100, 80)
    assert _param(params, "guidance")["type"] == "number"


def test_integer_enum_keeps_integer_values() -> None:
    p = _param(to_parameters(_schema("audiogen/minimax_speech_02_hd")), "bitrate")
    assert p["type"] == "enum" and p["allowedValues"] == [32000, 64000, 128000, 256000] and p["default"] == 128000


def test_object_enum_becomes_a_free_string() -> None:
    params = to_parameters(_schema("videogen_templates/hug"))
    prompt = _param(params, "prompt")
    assert prompt["type"] == "string" and "allowedValues" not in prompt and prompt["maxLength"] == 1500
    assert prompt["default"] == "Hug."
    # `template` is required but not a property: not listed at all.
    assert [p["name"] for p in params["required"]] == ["images", "prompt"]
    images = _param(params, "images")
    assert images["type"] == "array" and images["minItems"] == 1 and images["maxItems"] == 1
    assert images["items"] == {"type": "string", "fileType": "image", "format": "uri"}


def test_type_list_is_kept() -> None:
    bpm = _param(to_parameters(_schema("audiogen/sonauto_text2music")), "bpm")
    assert bpm["type"] == ["integer", "string"] and bpm["default"] == "auto"


def test_array_of_files_and_missing_required() -> None:
    params = to_parameters(_schema("imgutils/google_nano_banana"))
    arr = _param(params, "image_input")
    assert arr["type"] == "array" and arr["maxItems"] == 4 and arr["items"]["fileType"] == "image"
    # imagegen/storyboard has no `required` at all: everything is optional.
    story = to_parameters(_schema("imagegen/storyboard"))
    assert story["required"] == [] and story["optional"]


def test_duplicate_x_order_sorted_by_name() -> None:
    raw = _schema("vidutils/multitalk_lipsync_multi")
    params = to_parameters(raw)
    for group in params.values():
        keys = [(raw["properties"][p["name"]]["x-order"], p["name"]) for p in group]
        assert keys == sorted(keys)
    orders = [raw["properties"][p["name"]]["x-order"] for g in params.values() for p in g]
    assert len(orders) != len(set(orders))  # the duplicate is really there


def test_openai_function_and_comfyui_node(genvr_simulator: SimulatorServer) -> None:
    body = httpx.get(genvr_simulator.url("/api/openai-function/imagegen/flux_dev")).json()
    fn = body["data"]["function"]
    assert body["success"] is True and body["data"]["type"] == "function"
    assert fn["name"] == "generate_imagegen_flux_dev" and fn["parameters"]["required"] == ["prompt"]
    assert "speed_mode" not in fn["parameters"]["properties"]  # hidden inputs are dropped
    node = httpx.get(genvr_simulator.url("/api/comfyui-node/imagegen/minimax-image-o1"))
    assert node.status_code == 200 and node.headers["content-type"].startswith("text/x-python")
    compile(node.text, "node.py", "exec")
