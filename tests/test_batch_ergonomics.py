"""Batch ergonomics (issue 11, item 2): --retry-failed, --skip-invalid, file inputs in JSONL, `batch status`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genvr_runtime.cli import main as cli_main
from simulator import SimulatorServer


@pytest.fixture
def sim(genvr_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    return genvr_simulator


def write_jobs(path: Path, jobs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def batch(sim: SimulatorServer, jobs: Path, out: Path, *extra: str) -> int:
    return cli_main(["batch", "run", str(jobs), "--out", str(out), "--base-url", sim.base_url, "--no-progress",
                     "--poll-interval", "0.05", "--first-poll", "0.05", *extra])


def results(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_a_file_input_string_that_is_no_url_is_refused_before_anything_is_paid(sim: SimulatorServer, tmp_path: Path,
                                                                                capsys: pytest.CaptureFixture[str]) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"custom_id": "ok", "model": "3dgen/hunyuan2_3d", "input": {"image": "https://example.com/cat.png"}},
        {"custom_id": "uri", "model": "3dgen/hunyuan2_3d", "input": {"image": "data:image/png;base64,iVBORw0KGgo="}},
        {"custom_id": "bad", "model": "3dgen/hunyuan2_3d", "input": {"image": "in/cat.png"}},
        {"custom_id": "bad-list", "model": "3dgen/trellis", "input": {"images": ["https://example.com/a.png", "b.png"]}},
    ])
    assert batch(sim, jobs, tmp_path / "out.jsonl") == 2
    err = capsys.readouterr().err
    assert "line 3 (bad) [3dgen/hunyuan2_3d] field 'image'" in err and "in/cat.png" in err
    assert "line 4 (bad-list) [3dgen/trellis] field 'images'" in err
    assert "line 1" not in err and "line 2" not in err
    assert sim.counters()["tasks_created"] == 0


def test_retry_failed_resends_only_jobs_that_failed_on_the_server(sim: SimulatorServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"custom_id": f"j{i}", "model": "imagegen/flux_dev", "input": {"prompt": str(i)}}
                                                 for i in range(6)])
    out = tmp_path / "out.jsonl"
    sim.configure(faults={"seed": 3, "task_failure_rate": 0.5, "failure_message": "NSFW"})
    assert batch(sim, jobs, out) == 1
    first = results(out)
    failed = {r["custom_id"]: r["task_id"] for r in first if r["status"] == "failed"}
    succeeded = {r["custom_id"]: r["task_id"] for r in first if r["status"] == "succeeded"}
    assert failed and succeeded
    sim.configure(faults={})
    assert batch(sim, jobs, out) == 1  # a plain rerun does not resend failed jobs
    assert sim.counters()["tasks_created"] == 6
    assert batch(sim, jobs, out, "--retry-failed") == 0
    second = {r["custom_id"]: r for r in results(out)}
    assert sim.counters()["tasks_created"] == 6 + len(failed)
    for cid, task in failed.items():
        row = second[cid]
        assert row["status"] == "succeeded" and row["task_id"] != task
        assert row["previous"]["task_id"] == task and row["previous"]["error"]["message"].startswith("NSFW")
    for cid, task in succeeded.items():
        assert second[cid]["task_id"] == task and "previous" not in second[cid]


def test_skip_invalid_sends_the_valid_lines_and_reports_the_others(sim: SimulatorServer, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        json.dumps({"custom_id": "a", "model": "imagegen/flux_dev", "input": {"prompt": "a"}}) + "\n"
        + json.dumps({"custom_id": "b", "model": "imagegen/flux_dev", "input": {"prompt": "b", "aspect_ratio": "7:3"}}) + "\n"
        + "{not json\n"
        + json.dumps({"custom_id": "a", "model": "imagegen/flux_dev", "input": {"prompt": "dup"}}) + "\n"
        + json.dumps({"custom_id": "e", "model": "imagegen/flux_dev", "input": {"prompt": "e"}}) + "\n"
    )
    out = tmp_path / "out.jsonl"
    assert batch(sim, jobs, out) == 2 and sim.counters()["tasks_created"] == 0
    assert batch(sim, jobs, out, "--skip-invalid") == 1
    rows = results(out)
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["status"] for r in rows] == ["succeeded", "invalid", "invalid", "invalid", "succeeded"]
    assert "aspect_ratio" in rows[1]["error"]["message"] and rows[1]["custom_id"] == "b"
    assert "not valid JSON" in rows[2]["error"]["message"]
    assert "duplicate custom_id" in rows[3]["error"]["message"]
    assert sim.counters()["tasks_created"] == 2
    assert batch(sim, jobs, out, "--skip-invalid") == 1  # resumes: nothing sent again
    assert sim.counters()["tasks_created"] == 2
    capsys.readouterr()
    assert cli_main(["batch", "status", str(out), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["invalid"] == 3 and status["counts"]["succeeded"] == 2
    assert [f["line"] for f in status["failures"]] == [2, 3, 4]


def test_jsonl_file_inputs_name_local_files_uploaded_once_and_reused_on_resume(sim: SimulatorServer, tmp_path: Path,
                                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\1" * 32)
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"custom_id": "a", "model": "3dgen/hunyuan2_3d", "input": {"image": {"path": "in/cat.png"}}},
        {"custom_id": "b", "model": "3dgen/trellis", "input": {"images": [{"path": "in/cat.png"}, "https://example.com/x.png"]}},
    ])
    out = tmp_path / "out.jsonl"
    assert batch(sim, jobs, out) == 0, capsys.readouterr().err
    assert sim.counters()["uploads"] == 1  # one file, uploaded once for both jobs
    assert batch(sim, jobs, out, "--retry-failed") == 0
    assert sim.counters()["uploads"] == 1 and sim.counters()["tasks_created"] == 2
    missing = write_jobs(tmp_path / "missing.jsonl", [{"custom_id": "m", "model": "3dgen/hunyuan2_3d", "input": {"image": {"path": "in/dog.png"}}}])
    assert batch(sim, missing, tmp_path / "out2.jsonl") == 2
    assert "field 'image'" in capsys.readouterr().err


def test_status_table_per_model_lists_failures(sim: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"custom_id": f"j{i}", "model": model, "input": {"prompt": str(i)}}
        for i, model in enumerate(["imagegen/flux_dev", "imagegen/flux_dev", "imagegen/flux1_1_pro"])
    ])
    out = tmp_path / "out.jsonl"
    sim.configure(faults={"seed": 1, "task_failure_rate": 1.0, "failure_message": "NSFW content"})
    assert batch(sim, jobs, out) == 1
    capsys.readouterr()
    assert cli_main(["batch", "status", str(out)]) == 0
    text = capsys.readouterr().out.splitlines()
    header = text[0].split("\t")
    assert header[0] == "model" and "succeeded" in header and "failed" in header and "total" in header
    by_model = {line.split("\t")[0]: dict(zip(header, line.split("\t"))) for line in text[1:4]}
    assert by_model["imagegen/flux_dev"]["failed"] == "2" and by_model["imagegen/flux1_1_pro"]["failed"] == "1"
    assert by_model["total"]["total"] == "3"
    assert any(line.startswith("failed: line 1 (j0) [imagegen/flux_dev]") and "NSFW content" in line for line in text)


def test_an_invalid_line_fixed_later_is_sent_with_force(sim: SimulatorServer, tmp_path: Path) -> None:
    good = {"custom_id": "a", "model": "imagegen/flux_dev", "input": {"prompt": "a"}}
    bad = {"custom_id": "b", "model": "imagegen/flux_dev", "input": {"prompt": "b", "aspect_ratio": "7:3"}}
    jobs = write_jobs(tmp_path / "jobs.jsonl", [good, bad])
    out = tmp_path / "out.jsonl"
    assert batch(sim, jobs, out, "--skip-invalid") == 1
    write_jobs(jobs, [good, {**bad, "input": {"prompt": "b", "aspect_ratio": "1:1"}}])
    assert batch(sim, jobs, out, "--force") == 0
    assert [r["status"] for r in results(out)] == ["succeeded", "succeeded"]
    assert sim.counters()["tasks_created"] == 2


def test_uploading_a_local_file_with_no_server_exits_5_naming_the_url(sim: SimulatorServer, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{"model": "3dgen/hunyuan2_3d", "input": {"image": {"path": "cat.png"}}}])
    code = cli_main(["batch", "run", str(jobs), "--out", str(tmp_path / "out.jsonl"), "--base-url", "http://127.0.0.1:9",
                     "--no-progress", "--retries", "0"])
    err = capsys.readouterr().err
    assert code == 5 and "http://127.0.0.1:9" in err and "Traceback" not in err
    assert cli_main(["batch", "status", str(tmp_path / "out.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["pending"] == 1  # nothing lost: the same command resumes
