"""The `genvr` command line, driven as a subprocess against the simulator (issue 11, item 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from simulator import SimulatorServer
from simulator.pytest_plugin import SimulatorFactory


def genvr(*args: str, sim: SimulatorServer | None = None, key: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GENVR_")}
    if sim is not None:
        environ["GENVR_BASE_URL"] = sim.base_url
        if key:
            environ.update(GENVR_API_KEY=sim.token, GENVR_UID=sim.uid)
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "genvr", *args], capture_output=True, text=True, env=environ, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2 and lines[0].startswith("error: "), proc.stderr
    return proc.stderr


def test_version_and_help_document_exit_codes() -> None:
    assert genvr("--version").stdout.startswith("genvr ")
    help_text = genvr("--help").stdout
    for command in ("models", "schema", "run", "job", "download", "batch"):
        assert command in help_text
    assert "Exit codes" in help_text and "130 interrupted" in help_text


def test_models_lists_filters_and_gives_json() -> None:
    rows = json.loads(genvr("models", "--json").stdout)
    assert len(rows) == 291
    flux = next(r for r in rows if r["key"] == "imagegen/flux_dev")
    assert flux == {"key": "imagegen/flux_dev", "name": "Flux Dev", "category": "imagegen", "output": "image",
                    "inputs": 9, "description": flux["description"]}
    found = json.loads(genvr("models", "--category", "imagegen", "--search", "FLUX", "--json").stdout)
    assert found and all(r["category"] == "imagegen" and "flux" in (r["key"] + r["name"] + r["description"]).lower() for r in found)
    assert {r["output"] for r in json.loads(genvr("models", "--category", "3dgen", "--json").stdout)} <= {"3d", "image"}
    piped = genvr("models", "--category", "audiogen").stdout.splitlines()  # not a terminal: tab-separated text
    assert piped[0].split("\t") == ["key", "name", "category", "output", "inputs"]
    assert len(piped) == 1 + sum(r["category"] == "audiogen" for r in rows)
    wrong = genvr("models", "--category", "imagegn")
    assert wrong.returncode == 2 and "did you mean imagegen?" in one_line_error(wrong)


def test_schema_shows_types_defaults_ranges_choices_and_file_inputs() -> None:
    data = json.loads(genvr("schema", "imagegen/flux_dev", "--json").stdout)
    inputs = {i["name"]: i for i in data["inputs"]}
    assert data["output"] == "image" and inputs["prompt"]["required"] is True
    assert inputs["aspect_ratio"]["choices"][:2] == ["1:1", "16:9"] and inputs["aspect_ratio"]["default"] == "16:9"
    assert inputs["output_quality"]["range"] == ">= 1, <= 100" and inputs["output_quality"]["type"] == "int"
    assert inputs["guidance"]["type"] == "float" and inputs["speed_mode"]["advanced"] is True
    image = {i["name"]: i for i in json.loads(genvr("schema", "3dgen/hunyuan2_3d", "--json").stdout)["inputs"]}["image"]
    assert image["file"] is True
    table = genvr("schema", "imagegen/flux_dev").stdout.splitlines()
    assert table[0].split("\t")[:4] == ["input", "type", "required", "default"]
    assert any(line.startswith("output_quality\tint\t\t80\t>= 1, <= 100") for line in table)
    wrong = genvr("schema", "flux_dev")
    assert wrong.returncode == 2 and "did you mean imagegen/flux_dev?" in one_line_error(wrong)


def test_run_types_values_waits_downloads_and_prints_json(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    proc = genvr("run", "imagegen/flux_dev", "prompt=a cat", "aspect_ratio=1:1", "num_inference_steps=20",
                 "guidance=3.5", "--download", str(tmp_path), "--json", sim=genvr_simulator)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["model"] == "imagegen/flux_dev" and len(result["output"]) == 1
    saved = Path(result["files"][0]["path"])
    assert saved.parent == tmp_path and saved.read_bytes().startswith(b"\x89PNG")
    assert "completed" in proc.stderr  # the progress line
    plain = genvr("run", "imagegen/flux_dev", "prompt=a dog", sim=genvr_simulator)
    assert plain.returncode == 0 and plain.stdout.strip().startswith("http://127.0.0.1:")


def test_run_uploads_a_local_file_given_to_a_file_input(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    before = genvr_simulator.counters()["uploads"]
    proc = genvr("run", "3dgen/hunyuan2_3d", f"image=@{photo}", "--json", sim=genvr_simulator)
    assert proc.returncode == 0, proc.stderr
    assert genvr_simulator.counters()["uploads"] == before + 1
    missing = genvr("run", "3dgen/hunyuan2_3d", "image=@nowhere.png", sim=genvr_simulator)
    assert missing.returncode == 2 and "nowhere.png" in one_line_error(missing)
    garbage = genvr("run", "3dgen/hunyuan2_3d", "image=not-a-file.png", sim=genvr_simulator)
    assert garbage.returncode == 2 and "'image'" in one_line_error(garbage)
    assert genvr_simulator.counters()["tasks_created"] == 1  # nothing paid for the two mistakes


@pytest.mark.parametrize(("args", "expected"), [
    (["prompt=x", "aspect_ration=16:9"], "did you mean aspect_ratio?"),
    (["prompt=x", "aspect_ratio=7:3"], "'aspect_ratio'"),
    (["prompt=x", "output_quality=101"], "'output_quality'"),
    (["prompt"], "expected name=value"),
    ([], "'prompt'"),
])
def test_run_refuses_bad_input_in_one_line_before_sending(genvr_simulator: SimulatorServer, args: list[str], expected: str) -> None:
    proc = genvr("run", "imagegen/flux_dev", *args, sim=genvr_simulator)
    assert proc.returncode == 2 and expected in one_line_error(proc)
    assert genvr_simulator.counters()["tasks_created"] == 0


def test_run_without_key_or_server_says_what_to_do(genvr_simulator: SimulatorServer) -> None:
    no_key = genvr("run", "imagegen/flux_dev", "prompt=x", sim=genvr_simulator, key=False)
    assert no_key.returncode == 2 and "GENVR_API_KEY" in one_line_error(no_key) and "api_key=" not in no_key.stderr
    down = genvr("run", "imagegen/flux_dev", "prompt=x", "--base-url", "http://127.0.0.1:9", sim=genvr_simulator)
    assert down.returncode == 5 and "http://127.0.0.1:9" in one_line_error(down) and "refused" in down.stderr
    bad_key = genvr("run", "imagegen/flux_dev", "prompt=x", sim=genvr_simulator, GENVR_API_KEY="wrong")
    assert bad_key.returncode == 4 and "GENVR_API_KEY" in one_line_error(bad_key) and "wrong" not in bad_key.stderr


def test_no_wait_then_job_then_download(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    submitted = json.loads(genvr("run", "imagegen/flux_dev", "prompt=x", "--no-wait", "--json", sim=genvr_simulator).stdout)
    task = submitted["task_id"]
    picked = genvr("job", "imagegen/flux_dev", task, "--download", str(tmp_path / "a"), "--json", sim=genvr_simulator)
    assert picked.returncode == 0, picked.stderr
    assert json.loads(picked.stdout)["task_id"] == task and len(list((tmp_path / "a").iterdir())) == 1
    by_task = genvr("download", task, str(tmp_path / "b"), "--model", "imagegen/flux_dev", sim=genvr_simulator)
    assert by_task.returncode == 0 and Path(by_task.stdout.strip()).parent == tmp_path / "b"
    unknown = genvr("job", "imagegen/flux_dev", "no-such-task", sim=genvr_simulator)
    assert unknown.returncode == 1 and "no-such-task" in one_line_error(unknown)
    assert genvr_simulator.counters()["tasks_created"] == 1


def test_download_a_batch_results_file(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"custom_id": f"c{i}", "model": "imagegen/flux_dev", "input": {"prompt": str(i)}}) + "\n"
                            for i in range(3)))
    out = tmp_path / "results.jsonl"
    batch = genvr("batch", "run", str(jobs), "--out", str(out), "--no-progress", "--json", sim=genvr_simulator)
    assert batch.returncode == 0, batch.stderr
    summary = json.loads(batch.stdout)
    assert summary["counts"]["succeeded"] == 3 and summary["exit_code"] == 0 and summary["results"] == str(out)
    proc = genvr("download", str(out), str(tmp_path / "files"), "--json", sim=genvr_simulator, key=False)
    assert proc.returncode == 0, proc.stderr
    assert sorted(Path(f["path"]).name for f in json.loads(proc.stdout)) == ["c0_0.png", "c1_0.png", "c2_0.png"]
    missing = genvr("download", str(tmp_path / "nope.jsonl"), str(tmp_path))
    assert missing.returncode == 2 and "--model" in one_line_error(missing)


def test_ctrl_c_while_waiting_prints_the_task_and_how_to_pick_it_up(genvr_simulator_factory: SimulatorFactory) -> None:
    sim = genvr_simulator_factory(job_seconds=60.0)
    environ = {**os.environ, "GENVR_BASE_URL": sim.base_url, "GENVR_API_KEY": sim.token, "GENVR_UID": sim.uid}
    proc = subprocess.Popen([sys.executable, "-m", "genvr", "run", "imagegen/flux_dev", "prompt=x"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first status line: the task exists
    assert "task " in first, first
    task = first.rsplit("task ", 1)[1].strip()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"genvr job imagegen/flux_dev {task}" in err and "Traceback" not in err
    assert sim.counters()["tasks_created"] == 1


def test_python_dash_m_genvr_is_the_genvr_command() -> None:
    assert genvr("models", "--json").stdout == subprocess.run(
        [sys.executable, "-m", "genvr_runtime.cli", "models", "--json"], capture_output=True, text=True, timeout=60).stdout
