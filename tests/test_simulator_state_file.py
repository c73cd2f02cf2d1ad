"""Settings.state_file: a restarted simulator (a new process, here a new server object) keeps its tasks, output
files and counters, so a restart is an outage and not amnesia."""

from __future__ import annotations

from pathlib import Path

from simulator import SimulatorServer
from simulator.__main__ import parse_args
from simulator.settings import Settings


def _generate(sim: SimulatorServer, prompt: str) -> str:
    with sim.client() as http:
        reply = http.post("/v2/generate", json={"uid": sim.uid, "category": "imagegen", "subcategory": "flux_dev",
                                                "prompt": prompt})
    assert reply.status_code == 200, reply.text
    task_id: str = reply.json()["data"]["id"]
    return task_id


def _response(sim: SimulatorServer, task_id: str) -> dict[str, object]:
    with sim.client() as http:
        body = {"id": task_id, "uid": sim.uid, "category": "imagegen", "subcategory": "flux_dev"}
        data: dict[str, object] = http.post("/v2/response", json=body).json()["data"]
        return data


def test_tasks_files_and_counters_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(job_seconds=0.05, state_file=tmp_path / "sim-state.json")
    first = SimulatorServer(settings).start()
    task_id = _generate(first, "kept across restarts")
    first.stop()
    assert settings.state_file is not None and settings.state_file.exists()

    second = SimulatorServer(settings, port=first.port).start()  # a fresh state, loaded from the file
    try:
        data = _response(second, task_id)
        assert data["status"] == "completed" and isinstance(data["output"], list) and len(data["output"]) == 1
        with second.client() as http:
            served = http.get(str(data["output"][0]))
        assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
        counters = second.counters()
        assert counters["tasks_created"] == 1 and sum(counters["generate_calls_by_input"].values()) == 1
        # A new task after the restart gets a new id, and the counters keep adding up.
        assert _generate(second, "after the restart") != task_id
        assert second.counters()["tasks_created"] == 2
    finally:
        second.stop()


def test_without_a_state_file_a_new_server_starts_empty(tmp_path: Path) -> None:
    first = SimulatorServer(Settings(job_seconds=0.05)).start()
    _generate(first, "forgotten")
    first.stop()
    second = SimulatorServer(Settings(job_seconds=0.05)).start()
    try:
        assert second.counters()["tasks_created"] == 0
    finally:
        second.stop()


def test_cli_option() -> None:
    assert parse_args(["--state-file", "s.json"]).state_file == Path("s.json")
