"""Fault injection, anomalies and rate limits over real HTTP; seeded runs replay exactly."""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from simulator import FaultConfig, ManualClock, SimulatorServer
from simulator.pytest_plugin import SimulatorFactory

FLUX = {"category": "imagegen", "subcategory": "flux_dev"}


def gen(sim: SimulatorServer, prompt: str = "a cat", **kw: Any) -> httpx.Response:
    return httpx.post(sim.url("/v2/generate"), headers=sim.headers, json={"uid": sim.uid, **FLUX, "prompt": prompt},
                      **kw)


def step(sim: SimulatorServer, name: str, task_id: str) -> dict[str, Any]:
    r = httpx.post(sim.url(f"/v2/{name}"), headers=sim.headers, json={"id": task_id, "uid": sim.uid, **FLUX})
    body: dict[str, Any] = r.json()
    return body


def finish(sim: SimulatorServer, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while (data := step(sim, "status", task_id)["data"])["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return data


def test_latency(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"rules": [{"kind": "latency", "route": "/api/models", "seconds": 0.3}]})
    started = time.monotonic()
    assert httpx.get(genvr_simulator.url("/api/models")).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    httpx.get(genvr_simulator.url("/api/get-models"))
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("fmt", ["seconds", "http-date", "ms", "none"])
def test_429_with_retry_after_variants(genvr_simulator: SimulatorServer, fmt: str) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "rate_limit", "route": "/v2/generate", "retry_after": 7,
                                     "retry_after_format": fmt, "count": 1}]})
    r = gen(sim)
    assert r.status_code == 429 and r.json() == {"success": False, "message": "rate limit exceeded"}
    if fmt == "seconds":
        assert r.headers["retry-after"] == "7"
    elif fmt == "http-date":
        when = email.utils.parsedate_to_datetime(r.headers["retry-after"])
        assert 7 <= (when - datetime.now(timezone.utc)).total_seconds() <= 9
    elif fmt == "ms":
        assert r.headers["retry-after-ms"] == "7000" and "retry-after" not in r.headers
    else:
        assert "retry-after" not in r.headers and "retry-after-ms" not in r.headers
    assert sim.counters()["tasks_created"] == 0
    assert gen(sim).status_code == 200  # count=1: only the next call


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("when", ["before", "after"])
def test_server_errors_before_or_after_acting(genvr_simulator: SimulatorServer, status: int, when: str) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "http_error", "route": "*/generate", "status": status, "when": when}]})
    r = gen(sim)
    assert r.status_code == status and r.json()["success"] is False
    # "after": the task exists although the client saw an error (the ambiguous case).
    assert sim.counters()["tasks_created"] == (1 if when == "after" else 0)


def test_503_with_retry_after(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"rules": [{"kind": "http_error", "status": 503, "retry_after": 2}]})
    r = gen(genvr_simulator)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("mode", ["close", "reset"])
def test_dropped_connection(genvr_simulator: SimulatorServer, when: str, mode: str) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "drop", "route": "/v2/generate", "when": when, "mode": mode,
                                     "count": 1}]})
    with pytest.raises(httpx.TransportError):
        gen(sim, "dropped")
    counters = sim.counters()
    assert counters["tasks_created"] == (1 if when == "after" else 0)
    assert counters["generate_calls_by_input"] == ({} if when == "before" else {
        '{"category":"imagegen","prompt":"dropped","subcategory":"flux_dev"}': 1})
    assert gen(sim).status_code == 200  # the server is fine afterwards


def test_slow_response_past_client_timeout_after_creating(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "slow", "route": "/v2/generate", "seconds": 0.6, "count": 1}]})
    with pytest.raises(httpx.ReadTimeout):
        gen(sim, timeout=0.2)
    assert sim.counters()["tasks_created"] == 1


def test_slow_response_still_answers_within_a_long_timeout(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "slow", "route": "/v2/status", "seconds": 0.2, "when": "before"}]})
    task_id = gen(sim).json()["data"]["id"]
    started = time.monotonic()
    assert step(sim, "status", task_id)["success"] is True
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("when", ["before", "after"])
def test_malformed_json(genvr_simulator: SimulatorServer, when: str) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "malformed", "route": "/v2/generate", "when": when}]})
    r = gen(sim)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert sim.counters()["tasks_created"] == (1 if when == "after" else 0)


def test_download_cut_mid_stream_then_ok(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    task_id = gen(sim).json()["data"]["id"]
    finish(sim, task_id)
    url = step(sim, "response", task_id)["data"]["output"][0]
    sim.configure(faults={"rules": [{"kind": "truncate", "route": "/files/*", "count": 1}]})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    assert httpx.get(url).content.startswith(b"\x89PNG")


def test_output_url_404_first_then_fresh_url_works(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    task_id = gen(sim).json()["data"]["id"]
    finish(sim, task_id)
    sim.configure(faults={"rules": [{"kind": "http_error", "route": "/files/*", "status": 404, "count": 1}]})
    first = step(sim, "response", task_id)["data"]["output"][0]
    assert httpx.get(first).status_code == 404
    fresh = step(sim, "response", task_id)["data"]["output"][0]
    assert fresh != first and httpx.get(fresh).status_code == 200


def test_401_mid_run_with_after(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "http_error", "route": "/v2/*", "status": 401, "after": 2,
                                     "message": "token revoked"}]})
    assert [gen(sim).status_code for _ in range(4)] == [200, 200, 401, 401]
    assert gen(sim).json()["message"] == "token revoked"


def test_402_credits_exhausted(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"rules": [{"kind": "http_error", "status": 402, "message": "insufficient credits"}]})
    r = gen(genvr_simulator)
    assert r.status_code == 402 and r.json()["message"] == "insufficient credits"


def _batch(sim: SimulatorServer, name: str, items: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(sim.url(f"/v2/{name}-batch"), headers=sim.headers, json={"requests": items})


def _items(sim: SimulatorServer, n: int) -> list[dict[str, Any]]:
    return [{"uid": sim.uid, **FLUX, "prompt": f"p{i}"} for i in range(n)]


@pytest.mark.parametrize(("status", "when", "created"), [(400, "before", 9), (429, "before", 9), (500, "after", 10)])
def test_per_item_failure_inside_a_batch(genvr_simulator: SimulatorServer, status: int, when: str,
                                         created: int) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "item_error", "route": "/v2/generate-batch", "indices": [3],
                                     "status": status, "when": when}]})
    results = _batch(sim, "generate", _items(sim, 10)).json()["data"]["results"]
    assert [r["status"] for r in results] == [200] * 3 + [status] + [200] * 6
    assert results[3]["body"]["success"] is False
    assert sim.counters()["tasks_created"] == created


def test_status_item_404_for_a_live_task(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    task_id = gen(sim).json()["data"]["id"]
    sim.configure(faults={"rules": [{"kind": "item_error", "route": "/v2/status-batch", "status": 404, "count": 2}]})
    item = {"id": task_id, "uid": sim.uid, **FLUX}
    statuses = [_batch(sim, "status", [item]).json()["data"]["results"][0]["status"] for _ in range(3)]
    assert statuses == [404, 404, 200]


@pytest.mark.parametrize("mode", ["drop_last", "duplicate", "shuffle"])
def test_batch_shape_faults(genvr_simulator: SimulatorServer, mode: str) -> None:
    sim = genvr_simulator
    sim.configure(faults={"seed": 1, "rules": [{"kind": "batch_shape", "route": "/v2/generate-batch", "mode": mode}]})
    results = _batch(sim, "generate", _items(sim, 5)).json()["data"]["results"]
    indices = [r["index"] for r in results]
    if mode == "drop_last":
        assert indices == [0, 1, 2, 3]
    elif mode == "duplicate":
        assert indices == [0, 1, 2, 3, 4, 0]
    else:
        assert sorted(indices) == [0, 1, 2, 3, 4] and indices != [0, 1, 2, 3, 4]
    assert sim.counters()["tasks_created"] == 5


def test_wrapper_error_after_batch_created_tasks(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "http_error", "route": "/v2/generate-batch", "status": 502,
                                     "when": "after"}]})
    assert _batch(sim, "generate", _items(sim, 3)).status_code == 502
    assert sim.counters()["tasks_created"] == 3 and sim.counters()["batch_items"] == {"/v2/generate-batch": [3]}


def test_failed_tasks_carry_data_error(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"task_failure_rate": 1.0, "failure_message": "NSFW content detected"})
    task_id = gen(sim).json()["data"]["id"]
    data = finish(sim, task_id)
    assert data == {"id": task_id, "status": "failed", "error": "NSFW content detected"}
    assert step(sim, "response", task_id) == {"success": True, "data": {"status": "failed",
                                                                        "error": "NSFW content detected"}}


def test_unknown_statuses_anomaly(genvr_simulator_factory: SimulatorFactory) -> None:
    clock = ManualClock()
    sim = genvr_simulator_factory(clock=clock, job_seconds=1.0, faults={"extra_statuses": ["starting", "weird"]})
    task_id = gen(sim).json()["data"]["id"]
    seen = []
    for _ in range(5):
        seen.append(step(sim, "status", task_id)["data"]["status"])
        clock.advance(0.26)
    assert seen == ["queued", "starting", "weird", "processing", "completed"]


def test_completed_with_empty_output_then_filled(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"empty_output_rate": 1.0, "empty_output_fetches": 2})
    task_id = gen(sim).json()["data"]["id"]
    finish(sim, task_id)
    outputs = [step(sim, "response", task_id)["data"]["output"] for _ in range(3)]
    assert outputs[:2] == [[], []] and len(outputs[2]) == 1 and outputs[2][0].startswith("http")


def test_error_message_in_output(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"error_output_rate": 1.0})
    task_id = gen(sim).json()["data"]["id"]
    finish(sim, task_id)
    data = step(sim, "response", task_id)["data"]
    assert data["status"] == "completed" and not data["output"][0].startswith("http")


@pytest.mark.parametrize("mode", ["both", "only"])
def test_top_level_task_id(genvr_simulator: SimulatorServer, mode: str) -> None:
    sim = genvr_simulator
    sim.configure(faults={"top_level_task_id": mode})
    body = gen(sim).json()
    assert body["taskId"].startswith("pred_")
    assert ("id" in body["data"]) == (mode == "both")
    assert step(sim, "status", body["taskId"])["success"] is True


def test_probability_and_count_combined(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"seed": 3, "rules": [{"kind": "http_error", "route": "/api/models", "probability": 0.5,
                                                "count": 3}]})
    codes = [httpx.get(sim.url("/api/models")).status_code for _ in range(40)]
    assert codes.count(500) == 3 and codes[-10:] == [200] * 10


def _fault_sequence(factory: SimulatorFactory, seed: int) -> tuple[list[int], list[str]]:
    sim = factory(seed=seed, faults={"task_failure_rate": 0.5, "rules": [
        {"kind": "http_error", "route": "/v2/generate", "status": 503, "probability": 0.3},
        {"kind": "rate_limit", "route": "/v2/generate", "probability": 0.2}]})
    codes, ids = [], []
    for i in range(30):
        r = gen(sim, f"p{i}")
        codes.append(r.status_code)
        if r.status_code == 200:
            ids.append(r.json()["data"]["id"])
    sim.configure(job_seconds=0.0)
    outcomes = [f"{t}:{finish(sim, t)['status']}" for t in ids]
    fired = [(e["rule"], e["kind"]) for e in sim.counters()["faults_fired"]]
    assert len(fired) == codes.count(503) + codes.count(429)
    return codes, outcomes


def test_seeded_run_replays_exactly(genvr_simulator_factory: SimulatorFactory) -> None:
    first = _fault_sequence(genvr_simulator_factory, seed=42)
    again = _fault_sequence(genvr_simulator_factory, seed=42)
    other = _fault_sequence(genvr_simulator_factory, seed=7)
    assert first == again
    assert first != other
    codes, outcomes = first
    assert {200, 503, 429} <= set(codes)
    assert {o.split(":")[1] for o in outcomes} == {"completed", "failed"}


def test_rate_limit_per_token(genvr_simulator_factory: SimulatorFactory) -> None:
    clock = ManualClock()
    sim = genvr_simulator_factory(clock=clock, rate_limit_rps=2.0, rate_limit_burst=2,
                                  tokens={"sim-token": "sim-user", "sim-token-2": "sim-user-2"})
    codes = [gen(sim).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = gen(sim)
    assert limited.headers["retry-after"] == "1" and limited.json()["success"] is False
    other = httpx.post(sim.url("/v2/generate"), headers={"Authorization": "Bearer sim-token-2"},
                       json={"uid": "sim-user-2", **FLUX, "prompt": "x"})
    assert other.status_code == 200  # buckets are per token
    clock.advance(0.5)
    assert gen(sim).status_code == 200
    assert sim.counters()["rate_limited"] == 2
    assert httpx.get(sim.url("/api/models")).status_code == 200  # discovery is not limited


def test_faults_over_http_admin(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    bad = httpx.post(sim.url("/_sim/faults"), json={"rules": [{"kind": "explode"}]})
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    assert httpx.post(sim.url("/_sim/faults"), json={"bogus": 1}).status_code == 400
    ok = httpx.post(sim.url("/_sim/faults"), json={"seed": 9, "rules": [
        {"kind": "http_error", "route": "/v2/generate", "status": 500, "count": 1}]})
    assert ok.status_code == 200 and ok.json()["seed"] == 9
    assert gen(sim).status_code == 500 and gen(sim).status_code == 200
    fired = httpx.get(sim.url("/_sim/faults")).json()["fired"]
    assert fired == [{"n": 0, "rule": 0, "route": "/v2/generate", "kind": "http_error", "status": 500}]
    # Admin routes are never faulted or counted.
    httpx.post(sim.url("/_sim/faults"), json={"rules": [{"kind": "http_error", "route": "*"}]})
    assert httpx.get(sim.url("/_sim/counters")).status_code == 200
    assert not any(k.startswith(("GET /_sim", "POST /_sim")) for k in sim.counters()["requests"])


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"rules": [{"kind": "drop", "when": "during"}]})
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"rules": [{"kind": "batch_shape"}]})
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"task_failure_rate": 2})
    assert FaultConfig.from_dict({"rules": [{"kind": "slow"}]}).rules[0].when == "after"


def test_connection_refused_while_stopped(genvr_simulator_factory: SimulatorFactory) -> None:
    sim = genvr_simulator_factory()
    task_id = gen(sim).json()["data"]["id"]
    sim.stop()
    with pytest.raises(httpx.ConnectError):
        gen(sim)
    sim.start()
    assert finish(sim, task_id)["status"] == "completed"  # tasks survive a restart
