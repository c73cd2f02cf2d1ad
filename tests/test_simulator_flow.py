"""The three-step flow, validation, batch, upload and output files over real HTTP."""

from __future__ import annotations

import io
import json
import struct
import time
import wave
import zlib
from typing import Any

import httpx
import pytest

from simulator import ManualClock, SimulatorServer, input_key
from simulator.pytest_plugin import SimulatorFactory

FLUX = {"category": "imagegen", "subcategory": "flux_dev"}


def gen(sim: SimulatorServer, version: str = "v2", **params: Any) -> httpx.Response:
    path = "/api/v1/generate" if version == "v1" else "/v2/generate"
    body = {"uid": sim.uid, **FLUX, "prompt": "a cat", **params}
    return httpx.post(sim.url(path), headers=sim.headers, json=body)


def call(sim: SimulatorServer, step: str, task_id: str, version: str = "v2", **routing: str) -> httpx.Response:
    path = f"/api/v1/{step}" if version == "v1" else f"/v2/{step}"
    body = {"id": task_id, "uid": sim.uid, **FLUX, **routing}
    return httpx.post(sim.url(path), headers=sim.headers, json=body)


def run_to_output(sim: SimulatorServer, body: dict[str, Any]) -> list[str]:
    task_id = httpx.post(sim.url("/v2/generate"), headers=sim.headers, json=body).json()["data"]["id"]
    routing = {"category": body["category"], "subcategory": body["subcategory"]}
    deadline = time.monotonic() + 5
    while call(sim, "status", task_id, **routing).json()["data"]["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    output: list[str] = call(sim, "response", task_id, **routing).json()["data"]["output"]
    return output


@pytest.mark.parametrize(("version", "first"), [("v1", "starting"), ("v2", "queued")])
def test_status_moves_through_documented_values(genvr_simulator_factory: SimulatorFactory, version: str,
                                                first: str) -> None:
    clock = ManualClock()
    sim = genvr_simulator_factory(clock=clock, job_seconds=1.0)
    created = gen(sim, version).json()
    task_id = created["data"]["id"]
    assert created["data"]["status"] == first
    assert task_id.startswith("task-" if version == "v1" else "pred_")
    seen = [call(sim, "status", task_id, version).json()["data"]["status"]]
    early = call(sim, "response", task_id, version).json()
    assert early == {"success": True, "data": {"status": first}}  # no output before completion
    clock.advance(0.6)
    seen.append(call(sim, "status", task_id, version).json()["data"]["status"])
    clock.advance(0.5)
    seen.append(call(sim, "status", task_id, version).json()["data"]["status"])
    assert seen == [first, "processing", "completed"]
    out = call(sim, "response", task_id, version).json()["data"]
    assert out["status"] == "completed" and len(out["output"]) == 1 and out["output"][0].startswith(sim.base_url)


def test_clock_over_http(genvr_simulator_factory: SimulatorFactory) -> None:
    sim = genvr_simulator_factory(clock=ManualClock(), job_seconds=10.0)
    task_id = gen(sim).json()["data"]["id"]
    assert httpx.post(sim.url("/_sim/clock"), json={"advance": 11}).json()["now"] == 11
    assert call(sim, "status", task_id).json()["data"]["status"] == "completed"


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, "missing Authorization"),
    ({"Authorization": "Bearer wrong-token"}, "invalid access token"),
    ({"Authorization": "Basic sim-token"}, "malformed"),
])
def test_bearer_auth(genvr_simulator: SimulatorServer, headers: dict[str, str], expected: str) -> None:
    for path in ("/v2/generate", "/api/v1/status", "/v2/generate-batch"):
        r = httpx.post(genvr_simulator.url(path), headers=headers, json={"uid": genvr_simulator.uid, **FLUX})
        assert r.status_code == 401 and r.json()["success"] is False and expected in r.json()["message"]
    r = httpx.post(genvr_simulator.url("/api/upload/sas-url"), headers=headers, json={})
    assert r.status_code == 401 and expected in r.json()["error"]
    assert genvr_simulator.counters()["tasks_created"] == 0


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"category": "imagegen", "subcategory": "flux_dev", "prompt": "x"}, 400, "'uid'"),
    ({"uid": "someone-else", "category": "imagegen", "subcategory": "flux_dev", "prompt": "x"}, 403, "uid"),
    ({"uid": "sim-user", "subcategory": "flux_dev", "prompt": "x"}, 400, "'category'"),
    ({"uid": "sim-user", "category": "imagegen", "subcategory": "nope", "prompt": "x"}, 404, "imagegen/nope"),
    ({"uid": "sim-user", "category": "imagegen", "subcategory": "flux_dev"}, 400, "'prompt'"),
    ({"uid": "sim-user", "category": "imagegen", "subcategory": "flux_dev", "prompt": 5}, 400, "'prompt'"),
    ({"uid": "sim-user", "category": "imagegen", "subcategory": "flux_dev", "prompt": "x", "aspect_ratio": "7:1"},
     400, "'aspect_ratio'"),
    ({"uid": "sim-user", "category": "imagegen", "subcategory": "flux_dev", "prompt": "x", "output_quality": 101},
     400, "'output_quality'"),
    ({"uid": "sim-user", "category": "imagegen", "subcategory": "flux_dev", "prompt": "x", "seed": True},
     400, "'seed'"),
    ({"uid": "sim-user", "category": "audiogen", "subcategory": "minimax_speech_02_hd", "text": "x",
      "bitrate": "128000"}, 400, "'bitrate'"),
    ({"uid": "sim-user", "category": "videogen_templates", "subcategory": "hug", "images": []}, 400, "'images'"),
    ({"uid": "sim-user", "category": "videogen_templates", "subcategory": "hug", "images": ["a", "b"]},
     400, "'images'"),
    ({"uid": "sim-user", "category": "videogen_templates", "subcategory": "hug", "images": ["https://x/a.png"],
      "prompt": "y" * 1501}, 400, "'prompt'"),
    ({"uid": "sim-user", "category": "videogen_templates", "subcategory": "hug", "images": [3]}, 400, "'images[0]'"),
])
def test_bad_input_is_400_naming_the_field(genvr_simulator: SimulatorServer, body: dict[str, Any], status: int,
                                           needle: str) -> None:
    r = httpx.post(genvr_simulator.url("/v2/generate"), headers=genvr_simulator.headers, json=body)
    assert r.status_code == status, r.text
    assert r.json()["success"] is False and needle in r.json()["message"]
    assert genvr_simulator.counters()["tasks_created"] == 0


@pytest.mark.parametrize("body", [
    # object enum: any string, not only the presets; `template` is required but not a property
    {"category": "videogen_templates", "subcategory": "hug", "images": ["https://x/a.png"], "prompt": "a new prompt"},
    # ["integer","string"] type: both kinds pass
    {"category": "audiogen", "subcategory": "sonauto_text2music", "prompt": "jazz", "bpm": 120},
    {"category": "audiogen", "subcategory": "sonauto_text2music", "prompt": "jazz", "bpm": "auto"},
    # integer enum with the right kind; integral float for an integer
    {"category": "audiogen", "subcategory": "minimax_speech_02_hd", "text": "hi", "bitrate": 64000},
    {"category": "imagegen", "subcategory": "flux_dev", "prompt": "x", "output_quality": 90.0},
    # unknown extras accepted by default (GenVR's own worker sends userId/accessToken)
    {"category": "imagegen", "subcategory": "flux_dev", "prompt": "x", "userId": "u", "accessToken": "t"},
    # a listed model without a schema: any parameters
    {"category": "videogen", "subcategory": "sora2", "anything": [1, {"a": 2}]},
])
def test_valid_inputs_create_tasks(genvr_simulator: SimulatorServer, body: dict[str, Any]) -> None:
    r = httpx.post(genvr_simulator.url("/v2/generate"), headers=genvr_simulator.headers,
                   json={"uid": genvr_simulator.uid, **body})
    assert r.status_code == 200, r.text
    assert genvr_simulator.counters()["tasks_created"] == 1


def test_unknown_fields_can_be_refused(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(reject_unknown_fields=True)
    r = gen(genvr_simulator, extra_field=1)
    assert r.status_code == 400 and "'extra_field'" in r.json()["message"]


def test_routing_category_wins_over_the_model_parameter(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    body = {"uid": sim.uid, "category": "imgutils_transfer", "subcategory": "garment",
            "garm_img": "https://x/g.png", "human_img": "https://x/h.png"}
    r = httpx.post(sim.url("/v2/generate"), headers=sim.headers, json=body)
    assert r.status_code == 200
    task = httpx.get(sim.url(f"/_sim/tasks/{r.json()['data']['id']}")).json()["task"]
    assert (task["category"], task["subcategory"]) == ("imgutils_transfer", "garment")
    assert "category" not in task["params"]


def test_status_checks_task_routing(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    task_id = gen(sim).json()["data"]["id"]
    assert call(sim, "status", "pred_missing").status_code == 404
    wrong = call(sim, "status", task_id, category="imagegen", subcategory="flux1_1_pro")
    assert wrong.status_code == 400 and "flux_dev" in wrong.json()["message"]
    no_cat = httpx.post(sim.url("/v2/status"), headers=sim.headers, json={"id": task_id, "uid": sim.uid})
    assert no_cat.status_code == 400 and "'category'" in no_cat.json()["message"]
    bad_json = httpx.post(sim.url("/v2/status"), headers=sim.headers, content=b"{nope")
    assert bad_json.status_code == 400 and bad_json.json()["success"] is False


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + payload) & 0xFFFFFFFF
        chunks[tag] = chunks.get(tag, b"") + payload
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = zlib.decompress(chunks[b"IDAT"])
    assert (depth, color) == (8, 2) and len(raw) == height * (1 + 3 * width)
    return width, height, raw


_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _mp4_boxes(data: bytes) -> dict[bytes, list[bytes]]:
    """Payloads by box type, descending into the container boxes (moov/trak/mdia/minf/stbl)."""
    boxes: dict[bytes, list[bytes]] = {}
    pos = 0
    while pos < len(data):
        size, tag = struct.unpack(">I4s", data[pos:pos + 8])
        assert size >= 8 and pos + size <= len(data)
        payload = data[pos + 8:pos + size]
        boxes.setdefault(tag, []).append(payload)
        if tag in _MP4_CONTAINERS:
            for inner, payloads in _mp4_boxes(payload).items():
                boxes.setdefault(inner, []).extend(payloads)
        pos += size
    return boxes


def _assert_playable_h264(data: bytes) -> None:
    boxes = _mp4_boxes(data)
    assert data[4:8] == b"ftyp" and b"mdat" in boxes
    assert [h[8:12] for h in boxes[b"hdlr"]] == [b"vide"]  # one track, a video track
    assert boxes[b"stsd"][0][12:16] == b"avc1"  # its sample entry: H.264
    sample_count = struct.unpack(">I", boxes[b"stsz"][0][8:12])[0]
    assert sample_count >= 4  # a few frames


def _glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    chunks, pos = {}, 12
    while pos < len(data):
        size, kind = struct.unpack("<I4s", data[pos:pos + 8])
        chunks[kind] = data[pos + 8:pos + 8 + size]
        pos += 8 + size
    return json.loads(chunks[b"JSON"]), chunks.get(b"BIN\0", b"")


@pytest.mark.parametrize(("category", "subcategory", "params", "kind"), [
    ("imagegen", "flux_dev", {"prompt": "x"}, "png"),
    ("imgutils", "gpt_image1_edit", {"prompt": "x", "image_urls": ["https://x/a.png"]}, "png"),
    ("videogen", "sora2", {"prompt": "x"}, "mp4"),
    ("audiogen", "minimax_speech_02_hd", {"text": "hello"}, "wav"),
    ("3dgen", "trellis", {"images": ["https://x/a.png"]}, "glb"),
    ("3dgen", "panorama", {"prompt": "x"}, "png"),  # a 3dgen model that makes images (generated/genvr/output_kinds.py)
    ("imagegen", "recraft_v3_svg", {"prompt": "x"}, "svg"),
])
def test_outputs_are_real_files(genvr_simulator: SimulatorServer, category: str, subcategory: str,
                                params: dict[str, Any], kind: str) -> None:
    sim = genvr_simulator
    urls = run_to_output(sim, {"uid": sim.uid, "category": category, "subcategory": subcategory, **params})
    r = httpx.get(urls[0])
    assert r.status_code == 200 and urls[0].split("?")[0].endswith("." + kind)
    data = r.content
    assert int(r.headers["content-length"]) == len(data)
    if kind == "png":
        assert r.headers["content-type"] == "image/png"
        width, height, _ = _png_pixels(data)
        assert (width, height) == (4, 4)
    elif kind == "mp4":
        assert r.headers["content-type"] == "video/mp4"
        _assert_playable_h264(data)
    elif kind == "wav":
        with wave.open(io.BytesIO(data)) as w:
            assert w.getnchannels() == 1 and w.getnframes() > 0
    elif kind == "svg":
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert data.startswith(b"<svg") and b'xmlns="http://www.w3.org/2000/svg"' in data and data.rstrip().endswith(b"</svg>")
    else:
        doc, binary = _glb(data)
        assert doc["asset"]["version"] == "2.0"
        [primitive] = doc["meshes"][0]["primitives"]  # a real mesh, not an empty scene
        positions = doc["accessors"][primitive["attributes"]["POSITION"]]
        view = doc["bufferViews"][positions["bufferView"]]
        assert positions["count"] >= 3 and view["byteLength"] >= positions["count"] * 12
        assert doc["buffers"][0]["byteLength"] == len(binary) >= view["byteOffset"] + view["byteLength"]


def test_every_video_output_is_playable_and_distinct_per_task(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    files = [httpx.get(run_to_output(sim, {"uid": sim.uid, "category": "videogen", "subcategory": "sora2", "prompt": p})[0]).content
             for p in ("a", "b")]
    for data in files:
        _assert_playable_h264(data)
    assert files[0] != files[1]


def test_file_urls_are_fresh_per_response_call_and_all_work(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    first = run_to_output(sim, {"uid": sim.uid, **FLUX, "prompt": "x"})
    task_id = first[0].split("/files/")[1].split("/")[0]
    second = call(sim, "response", task_id).json()["data"]["output"]
    assert first != second
    assert httpx.get(first[0]).content == httpx.get(second[0]).content
    assert httpx.get(sim.url(f"/files/{task_id}/1.png")).status_code == 404
    assert httpx.get(sim.url(f"/files/{task_id}/0.mp4")).status_code == 404


def test_upload_flow_and_use_as_input(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sas = httpx.post(sim.url("/api/upload/sas-url"), headers=sim.headers,
                     json={"userId": sim.uid, "fileName": "photo.png", "category": "imgedit"}).json()
    assert sas["success"] is True and sas["container"] == "temp" and sas["expiresAt"].endswith("Z")
    url = sas["uploadUrl"]
    assert httpx.put(url, content=b"abc").status_code == 400  # missing x-ms-blob-type
    put = httpx.put(url, content=b"\x89PNG data", headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "image/png"})
    assert put.status_code == 201 and put.content == b""
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == b"\x89PNG data" and got.headers["content-type"] == "image/png"
    assert httpx.get(url.split("?")[0]).status_code == 403  # private container without the SAS query
    r = httpx.post(sim.url("/v2/generate"), headers=sim.headers, json={
        "uid": sim.uid, "category": "imgedit", "subcategory": "background_change", "image_url": url, "prompt": "x"})
    assert r.status_code == 200
    assert sim.counters()["uploads"] == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"fileName": "a.png", "category": "imagegen"}, "userId"),
    ({"userId": "sim-user", "category": "imagegen"}, "fileName"),
])
def test_upload_errors_use_the_error_key(genvr_simulator: SimulatorServer, body: dict[str, Any], field: str) -> None:
    r = httpx.post(genvr_simulator.url("/api/upload/sas-url"), headers=genvr_simulator.headers, json=body)
    assert r.status_code == 400 and r.json()["success"] is False and field in r.json()["error"]
    r = httpx.post(genvr_simulator.url("/api/upload/sas-url"), headers=genvr_simulator.headers,
                   json={"userId": "other", "fileName": "a.png", "category": "x"})
    assert r.status_code == 403 and "userId" in r.json()["error"]


def test_batch_keeps_order_mixes_models_and_isolates_bad_items(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    items: list[Any] = [
        {"uid": sim.uid, **FLUX, "prompt": "one"},
        {"uid": sim.uid, "category": "audiogen", "subcategory": "minimax_speech_02_hd", "text": "two"},
        {"uid": sim.uid, **FLUX},  # missing prompt
        "not an object",
        {"uid": sim.uid, "category": "videogen", "subcategory": "sora2", "prompt": "five"},
    ]
    reply = httpx.post(sim.url("/v2/generate-batch"), headers=sim.headers, json={"requests": items}).json()
    results = reply["data"]["results"]
    assert reply["success"] is True and [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [200, 200, 400, 400, 200]
    assert "'prompt'" in results[2]["body"]["message"]
    ids = [r["body"]["data"]["id"] for r in results if r["status"] == 200]
    assert len(set(ids)) == 3 and sim.counters()["tasks_created"] == 3
    assert sim.counters()["batch_items"] == {"/v2/generate-batch": [5]}
    routing = [(i["category"], i["subcategory"]) for i in (items[0], items[1], items[4])]
    status_items = [{"id": t, "uid": sim.uid, "category": c, "subcategory": s} for t, (c, s) in zip(ids, routing)]
    status_items.insert(1, {"id": "pred_unknown", "uid": sim.uid, **FLUX})
    st = httpx.post(sim.url("/v2/status-batch"), headers=sim.headers, json={"requests": status_items}).json()
    assert [r["status"] for r in st["data"]["results"]] == [200, 404, 200, 200]
    assert [r["body"]["data"]["id"] for r in st["data"]["results"] if r["status"] == 200] == ids


@pytest.mark.parametrize("payload", [{"requests": []}, {"requests": [{}] * 11}, {"requests": {"a": 1}}, {}, [1]])
def test_batch_size_and_shape_limits(genvr_simulator: SimulatorServer, payload: Any) -> None:
    for step in ("generate", "status", "response"):
        r = httpx.post(genvr_simulator.url(f"/v2/{step}-batch"), headers=genvr_simulator.headers, json=payload)
        assert r.status_code == 400 and "1-10" in r.json()["message"]
    assert genvr_simulator.counters()["tasks_created"] == 0


def test_counters_per_input_and_idempotency_key(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    body = {"uid": sim.uid, **FLUX, "prompt": "same"}
    for _ in range(2):
        httpx.post(sim.url("/v2/generate"), headers={**sim.headers, "Idempotency-Key": "k1"}, json=body)
    counters = httpx.get(sim.url("/_sim/counters")).json()
    key = input_key(body)
    assert key == json.dumps({"category": "imagegen", "prompt": "same", "subcategory": "flux_dev"},
                             separators=(",", ":"))
    assert counters["tasks_by_input"] == {key: 2} and counters["generate_calls_by_input"] == {key: 2}
    assert counters["generate_calls_by_idempotency_key"] == {"k1": 2}
    assert counters["requests"] == {"POST /v2/generate": 2} and counters["tasks_created"] == 2
    httpx.post(sim.url("/_sim/reset"))
    assert httpx.get(sim.url("/_sim/counters")).json()["tasks_created"] == 0


def test_idempotency_key_can_be_honoured(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    httpx.post(sim.url("/_sim/settings"), json={"honor_idempotency_key": True}).raise_for_status()
    ids = {gen(sim).json()["data"]["id"] for _ in range(1)}
    headers = {**sim.headers, "Idempotency-Key": "same"}
    for _ in range(3):
        ids.add(httpx.post(sim.url("/v2/generate"), headers=headers, json={"uid": sim.uid, **FLUX, "prompt": "p"})
                .json()["data"]["id"])
    assert len(ids) == 2 and sim.counters()["tasks_created"] == 2


def test_admin_settings_reject_unknown_names(genvr_simulator: SimulatorServer) -> None:
    r = httpx.post(genvr_simulator.url("/_sim/settings"), json={"job_secs": 1})
    assert r.status_code == 400 and "job_secs" in r.json()["error"]
    r = httpx.post(genvr_simulator.url("/_sim/settings"), json={"job_seconds": 0.5})
    assert r.json()["settings"]["job_seconds"] == 0.5 and "tokens" not in r.json()["settings"]
