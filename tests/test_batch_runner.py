"""The batch runner against the simulator over real HTTP: every fault kind, resume, validation, a 1000-job run.

Invariants checked after each run (batch-anchors.md §4.4): one results line per input line in input order; at
most one generate call per input (simulator counters); every created task is in the results or its job is
`unknown`; successes have outputs (and verified files); counts sum to N; the API key appears in no artifact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from genvr_runtime import BaseClient, BatchPollSchedule, BatchReport, GenVRInput, ModelInfo
from genvr_runtime._batch.journal import JournalLockedError, JournalMismatchError, Journal
from genvr_runtime.cli import main as cli_main
from simulator import SimulatorServer


class FluxDev(GenVRInput):
    prompt: str
    aspect_ratio: Literal["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"] | None = None


FluxDev.genvr_model = ModelInfo(category="imagegen", subcategory="flux_dev", name="Flux Dev")


class CrispUpscale(GenVRInput):
    image: str


CrispUpscale.genvr_model = ModelInfo(category="imgutils", subcategory="recraft_crisp_upscale", name="Recraft Crisp Upscale")
MODELS: dict[str, type[GenVRInput]] = {"imagegen/flux_dev": FluxDev, "imgutils/recraft_crisp_upscale": CrispUpscale}


def resolve(category: str, subcategory: str) -> type[GenVRInput]:
    """The resolver the runner gets instead of the generated package (also used by the CLI via --resolver)."""
    return MODELS[f"{category}/{subcategory}"]


FAST_POLL = BatchPollSchedule(base=0.02, growth=0.05, maximum=0.1)


def write_jobs(path: Path, n: int, *, tag: str = "job", mixed: bool = False) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            if mixed and i % 3 == 2:
                job: dict[str, Any] = {"custom_id": f"{tag}-{i}", "model": "imgutils/recraft_crisp_upscale",
                                       "input": {"image": f"https://example.com/{tag}-{i}.png"}}
            else:
                job = {"custom_id": f"{tag}-{i}", "model": "imagegen/flux_dev", "input": {"prompt": f"{tag} prompt {i}"}}
            fh.write(json.dumps(job) + "\n")
    return path


def run(sim: SimulatorServer, tmp: Path, jobs: Path, **options: Any) -> tuple[BatchReport, list[dict[str, Any]]]:
    options.setdefault("poll", FAST_POLL)
    options.setdefault("resolver", resolve)
    options.setdefault("progress", False)
    out = tmp / "results.jsonl"
    with BaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url) as client:
        report = client.batch(jobs, out, **options)
    return report, [json.loads(line) for line in out.read_text().splitlines()]


def check_invariants(sim: SimulatorServer, jobs: Path, results: list[dict[str, Any]], tmp: Path) -> None:
    inputs = [json.loads(line) for line in jobs.read_text().splitlines()]
    assert [r["custom_id"] for r in results] == [j["custom_id"] for j in inputs]  # I1: one line each, in order
    counters = sim.counters()
    assert all(n <= 1 for n in counters["generate_calls_by_input"].values()), "a job was sent twice"  # I2
    task_ids = {r["task_id"] for r in results if r["task_id"]}
    unknown = sum(r["status"] == "unknown" for r in results)
    assert len(task_ids) <= counters["tasks_created"] <= len(task_ids) + unknown  # I3: no orphan paid task
    for r in results:  # I4
        if r["status"] == "succeeded":
            assert r["output"] and all(u.startswith("http") for u in r["output"])
            for f in r["files"]:
                assert hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest() == f["sha256"]
        else:
            assert r["error"] and r["error"]["message"]
    for artifact in tmp.rglob("*"):  # I6
        if artifact.is_file():
            assert sim.token.encode() not in artifact.read_bytes(), artifact


def statuses(results: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


# -- the happy path, resume, validation --------------------------------------------------------------------------

def test_mixed_models_in_order_with_downloads(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 25, mixed=True)
    done: list[dict[str, Any]] = []
    report, results = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files", on_item_done=done.append)
    assert report.exit_code == 0 and statuses(results) == {"succeeded": 25}
    assert sorted(d["custom_id"] for d in done) == sorted(r["custom_id"] for r in results)
    assert all(r["files"] and Path(r["files"][0]["path"]).name.startswith(r["custom_id"]) for r in results)
    assert report.calls["/v2/generate-batch"] == 3 and report.calls["/v2/response-batch"] >= 3
    assert max(max(v) for v in genvr_simulator.counters()["batch_items"].values()) <= 10
    check_invariants(genvr_simulator, jobs, results, tmp_path)
    # Re-running a finished batch redoes nothing.
    before = genvr_simulator.counters()["requests"]
    report2, results2 = run(genvr_simulator, tmp_path, jobs, download_dir=tmp_path / "files")
    assert results2 == results and genvr_simulator.counters()["requests"] == before


def test_derived_custom_ids_are_deterministic(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"model": "imagegen/flux_dev", "input": {"prompt": "a"}}\n\n{"model": "imagegen/flux_dev", "input": {"prompt": "b"}}\n')
    _, results = run(genvr_simulator, tmp_path, jobs)
    assert [r["custom_id"][:7] for r in results] == ["line-1-", "line-3-"] and [r["line"] for r in results] == [1, 3]


def test_invalid_input_lists_every_error_and_sends_nothing(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join([
        '{"custom_id": "a", "model": "imagegen/flux_dev", "input": {"prompt": "ok"}}',
        '{"custom_id": "b", "model": "imagegen/flux_dev", "input": {"prompt": "x", "aspect_ratio": "7:7"}}',
        '{"custom_id": "c", "model": "imagegen/nope", "input": {}}',
        'not json',
        '{"custom_id": "a", "model": "imagegen/flux_dev", "input": {"prompt": "dup"}}',
    ]) + "\n")
    report, _ = None, None
    with BaseClient(api_key="k", uid="u", base_url=genvr_simulator.base_url) as client:
        report = client.batch(jobs, tmp_path / "out.jsonl", resolver=resolve)
    assert report.exit_code == 2 and report.validation is not None
    found = {(e.line, e.field) for e in report.validation.errors}
    assert {(2, "aspect_ratio"), (3, "model"), (4, None), (5, "custom_id")} <= found
    assert genvr_simulator.counters()["requests"] == {} and not (tmp_path / "out.jsonl").exists()
    code = cli_main(["batch", "run", str(jobs), "--out", str(tmp_path / "o.jsonl"), "--dry-run",
                     "--resolver", "test_batch_runner:resolve"])
    err = capsys.readouterr().err
    assert code == 2 and "line 2 (b) [imagegen/flux_dev] field 'aspect_ratio'" in err and "line 4" in err
    assert genvr_simulator.counters()["requests"] == {}


def test_dry_run_of_a_valid_file_prints_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 35)
    assert cli_main(["batch", "run", str(jobs), "--out", str(tmp_path / "o.jsonl"), "--dry-run",
                     "--resolver", "test_batch_runner:resolve"]) == 0
    assert "35 jobs" in capsys.readouterr().out and not (tmp_path / "o.jsonl").exists()


def test_lock_and_changed_input(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 5)
    run(genvr_simulator, tmp_path, jobs)
    journal = tmp_path / "results.jsonl.journal.db"
    with Journal(journal), pytest.raises(JournalLockedError):
        Journal(journal).open()
    write_jobs(jobs, 5, tag="edited")
    with pytest.raises(JournalMismatchError, match="lines 1, 2, 3, 4, 5"):
        run(genvr_simulator, tmp_path, jobs)


def test_status_and_results_subcommands_rebuild_from_journal(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    jobs = write_jobs(tmp_path / "jobs.jsonl", 12)
    _, results = run(genvr_simulator, tmp_path, jobs)
    journal = tmp_path / "results.jsonl.journal.db"
    assert cli_main(["batch", "results", str(journal), "--out", str(tmp_path / "rebuilt.jsonl")]) == 0
    assert [json.loads(x) for x in (tmp_path / "rebuilt.jsonl").read_text().splitlines()] == results
    assert cli_main(["batch", "status", str(tmp_path / "results.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["succeeded"] == 12


# -- fault matrix: one test per injected fault kind ----------------------------------------------------------------

def rule(kind: str, route: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "route": route, **kw}


GEN, STATUS, RESP = "/v2/generate-batch", "/v2/status-batch", "/v2/response-batch"

# (id, fault config, expected statuses for 20 jobs, extra options)
MATRIX: list[tuple[str, dict[str, Any], dict[str, int], dict[str, Any]]] = [
    ("latency", {"rules": [rule("latency", STATUS, seconds=0.05, probability=0.5)]}, {"succeeded": 20}, {}),
    ("rate_limit-seconds", {"rules": [rule("rate_limit", GEN, retry_after=0.05, count=2)]}, {"succeeded": 20}, {}),
    ("rate_limit-http-date", {"rules": [rule("rate_limit", GEN, retry_after=1, retry_after_format="http-date", count=1)]},
     {"succeeded": 20}, {}),
    ("rate_limit-ms", {"rules": [rule("rate_limit", GEN, retry_after=0.05, retry_after_format="ms", count=2)]}, {"succeeded": 20}, {}),
    ("rate_limit-none-30pct", {"rules": [rule("rate_limit", "*-batch", retry_after_format="none", probability=0.3)]},
     {"succeeded": 20}, {}),
    ("http_error-reads", {"rules": [rule("http_error", STATUS, status=500, count=3), rule("http_error", RESP, status=502, count=2)]},
     {"succeeded": 20}, {}),
    ("http_error-503-retry-after", {"rules": [rule("http_error", GEN, status=503, retry_after=0.05, count=2)]}, {"succeeded": 20}, {}),
    ("http_error-500-after-create", {"rules": [rule("http_error", GEN, status=500, when="after", count=1)]},
     {"unknown": 10, "succeeded": 10}, {}),
    ("drop-generate", {"rules": [rule("drop", GEN, count=1)]}, {"unknown": 10, "succeeded": 10}, {}),
    ("drop-reads", {"rules": [rule("drop", STATUS, count=2, mode="reset"), rule("drop", RESP, count=1)]}, {"succeeded": 20}, {}),
    ("slow-generate", {"rules": [rule("slow", GEN, seconds=1.0, count=1)]}, {"unknown": 10, "succeeded": 10},
     {"generate_timeout": 0.3}),
    ("slow-status", {"rules": [rule("slow", STATUS, seconds=0.5, count=1)]}, {"succeeded": 20}, {"read_timeout": 0.2}),
    ("malformed-generate", {"rules": [rule("malformed", GEN, count=1)]}, {"unknown": 10, "succeeded": 10}, {}),
    ("truncate-generate", {"rules": [rule("truncate", GEN, count=1)]}, {"unknown": 10, "succeeded": 10}, {}),
    ("malformed-reads", {"rules": [rule("malformed", STATUS, count=2), rule("truncate", RESP, count=1)]}, {"succeeded": 20}, {}),
    ("item_error-400", {"rules": [rule("item_error", GEN, status=400, indices=[3], count=1)]},
     {"rejected": 1, "succeeded": 19}, {}),
    ("item_error-429", {"rules": [rule("item_error", GEN, status=429, indices=[0, 5], count=2)]}, {"succeeded": 20}, {}),
    ("item_error-500-after", {"rules": [rule("item_error", GEN, status=500, when="after", indices=[1], count=1)]},
     {"unknown": 1, "succeeded": 19}, {}),
    ("item_error-404-status", {"rules": [rule("item_error", STATUS, status=404)]}, {"lost": 20}, {"lost_after_seconds": 0.2}),
    ("batch_shape-drop_last", {"rules": [rule("batch_shape", GEN, mode="drop_last", count=1)]},
     {"unknown": 1, "succeeded": 19}, {}),
    ("batch_shape-duplicate", {"rules": [rule("batch_shape", GEN, mode="duplicate", count=1)]},
     {"unknown": 1, "succeeded": 19}, {}),
    ("batch_shape-shuffle", {"rules": [rule("batch_shape", "*-batch", mode="shuffle", probability=0.5)]}, {"succeeded": 20}, {}),
    ("task_failure", {"task_failure_rate": 1.0, "failure_message": "NSFW"}, {"failed": 20}, {}),
    ("extra_statuses", {"extra_statuses": ["starting", "weird"]}, {"succeeded": 20}, {}),
    ("empty_output-once", {"empty_output_rate": 1.0, "empty_output_fetches": 1}, {"succeeded": 20}, {}),
    ("empty_output-forever", {"empty_output_rate": 1.0, "empty_output_fetches": -1}, {"failed": 20}, {}),
    ("error_output", {"error_output_rate": 1.0}, {"failed": 20}, {}),
    ("top_level_task_id", {"top_level_task_id": "only"}, {"succeeded": 20}, {}),
]


@pytest.mark.parametrize(("faults", "expected", "options"), [m[1:] for m in MATRIX], ids=[m[0] for m in MATRIX])
def test_fault_matrix(genvr_simulator: SimulatorServer, tmp_path: Path, faults: dict[str, Any],
                      expected: dict[str, int], options: dict[str, Any]) -> None:
    genvr_simulator.configure(faults={"seed": 7, **faults})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 20)
    report, results = run(genvr_simulator, tmp_path, jobs, max_in_flight=20, **options)
    assert statuses(results) == expected
    check_invariants(genvr_simulator, jobs, results, tmp_path)
    if "shuffle" in str(faults):  # ids mapped by `index`, never by position
        tasks = httpx.get(genvr_simulator.url("/_sim/tasks")).json()["tasks"]
        prompt_of = {t["id"]: t["params"]["prompt"] for t in tasks}
        assert all(prompt_of[r["task_id"]] == f"job prompt {r['line'] - 1}" for r in results)
    if expected.get("unknown"):
        assert report.exit_code == 3
    if "rate_limit-none" in str(faults):
        assert report.calls["/v2/generate-batch"] >= 2


def test_unknown_then_resubmit_unknown_links_attempts(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("http_error", GEN, status=500, when="after", count=1)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 10)
    report, results = run(sim, tmp_path, jobs)
    assert statuses(results) == {"unknown": 10} and sim.counters()["tasks_created"] == 10
    report, results = run(sim, tmp_path, jobs)  # plain re-run: unknowns are not resent
    assert statuses(results) == {"unknown": 10} and sim.counters()["tasks_created"] == 10
    report, results = run(sim, tmp_path, jobs, resubmit_unknown=True)
    assert statuses(results) == {"succeeded": 10} and sim.counters()["tasks_created"] == 20
    assert all(r["previous"]["error"]["type"] == "unknown" and r["attempts"] == 2 for r in results)


def test_auth_failure_mid_run_stops_and_resumes(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("http_error", GEN, status=401, after=2)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 60)
    report, results = run(sim, tmp_path, jobs, max_in_flight=20)
    assert report.exit_code == 4 and statuses(results).get("pending", 0) > 0
    assert all(r.get("resumable") for r in results if r["status"] == "pending")
    sim.configure(faults={})
    report, results = run(sim, tmp_path, jobs, max_in_flight=20)
    assert statuses(results) == {"succeeded": 60}
    check_invariants(sim, jobs, results, tmp_path)


def test_payment_required_stops_submitting_collects_in_flight(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [rule("http_error", GEN, status=402, after=2)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 40)
    report, results = run(sim, tmp_path, jobs, max_in_flight=40)
    counts = statuses(results)
    assert counts["succeeded"] == 20 and counts["pending"] == 20 and report.exit_code == 1
    sim.configure(faults={})
    _, results = run(sim, tmp_path, jobs)
    assert statuses(results) == {"succeeded": 40}


def test_max_wait_times_out_then_next_run_collects(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    sim = genvr_simulator
    sim.configure(job_seconds=0.8)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 10)
    _, results = run(sim, tmp_path, jobs, max_wait=0.1)
    assert statuses(results) == {"timed_out": 10} and all(r["resumable"] for r in results)
    _, results = run(sim, tmp_path, jobs)
    assert statuses(results) == {"succeeded": 10} and sim.counters()["tasks_created"] == 10


def test_rate_limits_shrink_the_in_flight_cap(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    from genvr_runtime._batch import runner as runner_module

    caps: list[int] = []
    original = runner_module._Runner._on_rate_limited

    def spy(self: Any) -> None:
        original(self)
        caps.append(self.cap)

    genvr_simulator.configure(faults={"rules": [rule("item_error", GEN, status=429, probability=0.3)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 60)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner_module._Runner, "_on_rate_limited", spy)
        _, results = run(genvr_simulator, tmp_path, jobs, max_in_flight=40)
    assert statuses(results) == {"succeeded": 60} and caps and min(caps) < 40
    check_invariants(genvr_simulator, jobs, results, tmp_path)


def test_idempotency_key_per_generate_call_stable_across_retries(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    genvr_simulator.configure(faults={"rules": [rule("http_error", GEN, status=503, retry_after=0.01, count=1)]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 30)
    run(genvr_simulator, tmp_path, jobs)
    keys = genvr_simulator.counters()["generate_calls_by_idempotency_key"]
    assert len(keys) == 3 and all(k.startswith("genvr-batch-") for k in keys)


# -- scale -----------------------------------------------------------------------------------------------------------

def test_thousand_jobs_with_twenty_percent_faults(genvr_simulator_factory: Any, tmp_path: Path) -> None:
    sim = genvr_simulator_factory(job_seconds=0.05, job_seconds_max=0.3, faults={"seed": 11, "rules": [
        rule("rate_limit", "*-batch", retry_after=0.02, retry_after_format="ms", probability=0.04),
        rule("http_error", STATUS, status=500, probability=0.04),
        rule("drop", RESP, probability=0.03),
        rule("http_error", GEN, status=500, when="after", probability=0.02),
        rule("item_error", GEN, status=400, probability=0.02),
        rule("item_error", GEN, status=429, probability=0.03),
        rule("batch_shape", STATUS, mode="shuffle", probability=0.05),
    ], "task_failure_rate": 0.02, "extra_statuses": ["starting"]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 1000)
    report, results = run(sim, tmp_path, jobs, max_in_flight=200)
    counts = statuses(results)
    assert sum(counts.values()) == 1000 and set(counts) <= {"succeeded", "failed", "rejected", "unknown"}
    assert counts["succeeded"] > 800
    check_invariants(sim, jobs, results, tmp_path)
