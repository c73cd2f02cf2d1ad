"""The batch runner against an independent fault-injecting proxy (tests/chaos): no input charged twice, one line
per input in order, succeeded files byte-identical to the simulator's, everything recoverable recovered by a
fault-free rerun, the API key nowhere.

- `test_random_schedules`: a bounded subset of `make chaos` (30 seeded schedules). Knobs (environment):
  GENVR_CHAOS_COUNT, GENVR_CHAOS_START (first seed), GENVR_CHAOS_KINDS=stall,sigkill (those kinds alone).
- `test_scenario[...]`: one deterministic scenario per fault kind (a script says which request gets the fault).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.__main__ import replay_command, run_many
from tests.chaos.harness import Outcome, run_schedule
from tests.chaos.invariants import check_no_key
from tests.chaos.proxy import FaultPlan
from tests.chaos.schedules import Kill, Restart, Schedule


def _kinds() -> list[str] | None:
    raw = os.environ.get("GENVR_CHAOS_KINDS", "")
    return [k.strip() for k in raw.split(",") if k.strip()] or None


def test_random_schedules(tmp_path: Path) -> None:
    count = int(os.environ.get("GENVR_CHAOS_COUNT", "30"))
    start = int(os.environ.get("GENVR_CHAOS_START", "1"))
    kinds = _kinds()
    outcomes = list(run_many(range(start, start + count), kinds, workers=2, root=tmp_path))
    failing = [o for o in outcomes if o["violations"]]
    report = "\n".join(f"seed {o['seed']} ({replay_command(o['seed'], kinds)}):\n  " + "\n  ".join(o["violations"])
                       for o in failing)
    assert len(outcomes) == count
    assert not failing, f"{len(failing)} of {count} schedules broke an invariant:\n{report}"


# -- one scenario per fault kind ----------------------------------------------------------------------------------

GEN, STATUS, RESPONSE = "/v2/generate-batch", "/v2/status-batch", "/v2/response-batch"


def _schedule(script: dict[str, dict[int, str]], *, jobs: int = 12, job_seconds: float = 0.1,
              kills: list[Kill] | None = None, restart: Restart | None = None, seed: int = 7) -> Schedule:
    models = [("imagegen/flux_dev", "prompt"), ("3dgen/panorama", "prompt"), ("audiogen/dia", "text")]
    rows = [{"custom_id": f"sc-{i}", "model": models[i % 3][0], "input": {models[i % 3][1]: f"scenario job {i}"}}
            for i in range(jobs)]
    return Schedule(seed=seed, jobs=rows, job_seconds=job_seconds, job_seconds_max=job_seconds,
                    plan=FaultPlan(seed=seed, script=script), kills=kills or [], restart=restart, max_in_flight=10)


def _each(kind: str, ns: range) -> dict[int, str]:
    return {n: kind for n in ns}


# name -> (schedule, at most this many `unknown` jobs after the faulted run)
SCENARIOS: dict[str, tuple[Schedule, int]] = {
    "drop_after_forward": (_schedule({GEN: {0: "drop_after_forward"}}), 10),
    "stall_after_forward": (_schedule({GEN: {0: "stall_after_forward"}}), 10),
    "stall_status": (_schedule({STATUS: {0: "stall"}}), 0),
    "stall_generate_not_forwarded": (_schedule({GEN: {0: "stall"}}), 10),
    "error_5xx_response": (_schedule({RESPONSE: {0: "error_5xx"}}), 0),
    "error_5xx_echoes_key": (_schedule({GEN: {0: "error_5xx_echo_key"}, STATUS: {0: "error_5xx_echo_key"}}), 10),
    # A server error text that echoes the Authorization header must not carry the key into results or journal.
    "item_error_echoes_key": (_schedule({GEN: {0: "item_error_echo_key"}}), 0),
    "rate_limit_seconds": (_schedule({GEN: {0: "rate_limit_seconds"}}), 0),  # a 429 proves nothing was created
    "rate_limit_date": (_schedule({GEN: {0: "rate_limit_date"}}), 0),
    "truncated_json_generate": (_schedule({GEN: {0: "truncated_json"}}), 10),
    "corrupt_json_status": (_schedule({STATUS: {0: "corrupt_json"}}), 0),
    "items_dropped_generate": (_schedule({GEN: {0: "items_dropped"}}), 1),
    "items_duplicated_status": (_schedule({STATUS: {0: "items_duplicated"}}), 0),
    "items_reordered_generate": (_schedule({GEN: {0: "items_reordered"}}), 0),  # indices intact: harmless
    "items_foreign_status": (_schedule({STATUS: _each("items_foreign", range(1, 6))}, jobs=20), 0),
    "items_foreign_response": (_schedule({RESPONSE: _each("items_foreign", range(1, 4))}, jobs=20), 0),
    "odd_status": (_schedule({STATUS: _each("odd_status", range(0, 3))}), 0),
    # Three 404s spread over a long job, good polls in between: the task is alive all along.
    "not_found_item_spread": (_schedule({STATUS: {0: "not_found_item", 2: "not_found_item", 4: "not_found_item",
                                                  6: "not_found_item"}}, jobs=3, job_seconds=1.5), 0),
    "still_processing_response": (_schedule({RESPONSE: _each("still_processing", range(0, 4))}, jobs=3), 0),
    "download_reset": (_schedule({"files": {0: "download_reset"}}), 0),
    "short_body": (_schedule({"files": {0: "short_body", 1: "short_body", 2: "short_body"}}), 0),
    # SIGKILL while the second generate call is in flight: its chunk may be `unknown`, nothing else.
    "sigkill_during_generate": (_schedule({}, jobs=30, job_seconds=0.3, kills=[Kill("sigkill", "generate", 2)]), 10),
    "sigkill_while_polling": (_schedule({}, jobs=30, job_seconds=0.3, kills=[Kill("sigkill", "status", 2)]), 0),
    "sigint_while_polling": (_schedule({}, jobs=30, job_seconds=0.3, kills=[Kill("sigint", "status", 1)]), 0),
    # Ctrl-C while the CLI starts (imports, validation): exit 130, no traceback.
    "sigint_at_startup": (_schedule({}, jobs=30, kills=[Kill("sigint", "startup", 0, 0.15)]), 0),
    # Ctrl-C while a generate call waits out a Retry-After: that call must not be sent any more.
    "sigint_during_retry_after": (_schedule({GEN: _each("rate_limit_seconds", range(1, 4))}, jobs=30,
                                            kills=[Kill("sigint", "generate", 2, 0.3)]), 0),
    "simulator_restart": (_schedule({}, jobs=20, job_seconds=0.5, restart=Restart(run=0, after=0.6, down=0.8)), 10),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str, tmp_path: Path) -> None:
    schedule, max_unknown = SCENARIOS[name]
    outcome: Outcome = run_schedule(schedule, tmp_path)
    details: dict[str, Any] = {"fired": dict(outcome.fired), "kills": dict(outcome.kills), "exits": outcome.exit_codes,
                               "unknowns": outcome.unknowns}
    assert sum(outcome.fired.values()) + sum(outcome.kills.values()) + outcome.restarts > 0, f"nothing injected {details}"
    assert not outcome.violations, "\n".join(outcome.violations) + f"\n{details}"
    assert outcome.unknowns <= max_unknown, f"{outcome.unknowns} jobs reported unknown (at most {max_unknown}) {details}"


def test_key_scan_finds_a_leak(tmp_path: Path) -> None:
    """The leak check itself: a key in any written file or printed text is reported, nothing else is."""
    (tmp_path / "clean.jsonl").write_text("nothing here\n")
    (tmp_path / "journal.db-wal").write_bytes(b"\x00 Bearer gvr-secret-key \x00")
    found = check_no_key("gvr-secret-key", sorted(tmp_path.iterdir()), [("stderr", "ok"), ("stdout", "x gvr-secret-key")])
    assert found == ["key_leak: the API key is in journal.db-wal", "key_leak: the API key was printed (stdout)"]
