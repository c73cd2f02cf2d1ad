"""Run one schedule: simulator (faults off, state file) ← fault proxy ← `genvr batch run` subprocesses.

The CLI runs once per planned kill (SIGKILL, or SIGINT then a bounded wait), once more to the end with faults on,
and a last time with the proxy passing everything through. Invariants are checked after the faulted runs and
after the fault-free one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.server import SimulatorServer
from simulator.settings import Settings
from tests.chaos import invariants as inv
from tests.chaos.proxy import AMBIGUOUS_FORWARDED, AMBIGUOUS_ON_GENERATE, GENERATE_ROUTES, FaultProxy
from tests.chaos.schedules import Schedule

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 180.0  # a run that takes longer is reported as a hang (schedules finish in seconds)
SIGINT_GRACE = 20.0  # after Ctrl-C the CLI may finish collecting paid tasks, then must exit
SIGINT_SEND_GRACE = 0.5  # a generate call reaching the proxy later than this after Ctrl-C was sent after it
UID = "chaos-user"


def api_key(seed: int) -> str:
    return f"gvr-chaos-{seed}-Zq8XwV3kT-not-a-real-key"


@dataclass
class Outcome:
    seed: int
    jobs: int
    fired: Counter[str] = field(default_factory=Counter)
    ambiguous: int = 0  # faults on generate calls whose outcome the client cannot know
    ambiguous_forwarded: int = 0  # of which the call had reached the simulator (tasks were created)
    kills: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    unknowns: int = 0  # `unknown` lines after the faulted runs
    violations: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    seconds: float = 0.0
    workdir: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "jobs": self.jobs, "fired": dict(self.fired), "ambiguous": self.ambiguous,
                "ambiguous_forwarded": self.ambiguous_forwarded,
                "kills": dict(self.kills), "restarts": self.restarts, "unknowns": self.unknowns,
                "violations": self.violations, "exit_codes": self.exit_codes, "seconds": round(self.seconds, 2),
                "workdir": self.workdir}


class _Simulator:
    """The current simulator; a restart replaces it with a new server loading the same state file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = SimulatorServer(settings).start()
        self.port = self.server.port
        self.restarts = 0

    def restart_later(self, after: float, down: float) -> threading.Thread:
        def go() -> None:
            time.sleep(after)
            self.server.stop()
            time.sleep(down)
            for attempt in range(50):  # the port may take a moment to be free again
                try:
                    self.server = SimulatorServer(self.settings, port=self.port).start()
                    break
                except RuntimeError:
                    time.sleep(0.1)
            self.restarts += 1

        thread = threading.Thread(target=go, name="chaos-restart", daemon=True)
        thread.start()
        return thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _env(key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENVR_")}
    env.update({"GENVR_API_KEY": key, "GENVR_UID": UID,
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "runtime"), str(ROOT / "generated")])})
    return env


def command(schedule: Schedule, workdir: Path, base_url: str) -> list[str]:
    return [sys.executable, "-m", "genvr_runtime", "batch", "run", str(workdir / "jobs.jsonl"),
            "--out", str(workdir / "results.jsonl"), "--download", str(workdir / "files"), "--no-progress",
            "--base-url", base_url, "--poll-interval", "0.05", "--max-poll-interval", "0.2", "--first-poll", "0.05",
            "--generate-timeout", "1", "--read-timeout", "1", "--retries", "3", "--max-wait", "20",
            "--max-in-flight", str(schedule.max_in_flight), "--max-concurrent-calls", "4"]


def _read_results(path: Path) -> list[dict[str, Any]] | None:
    if not path.exists():
        return None
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except ValueError:
        return None


def _journal_states(path: Path) -> dict[str, str]:
    """custom_id -> state, read from the journal between runs (no CLI is running then)."""
    if not path.exists():
        return {}
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT custom_id, state FROM jobs"))
    except sqlite3.Error:
        return {}
    finally:
        db.close()


def run_schedule(schedule: Schedule, workdir: Path) -> Outcome:
    started = time.monotonic()
    # A harness started in the background of a shell has SIGINT ignored, and exec passes that on: the CLI would
    # rightly ignore the Ctrl-C the schedule sends. Children of a Python-level handler start with the default.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir.mkdir(parents=True, exist_ok=True)
    outcome = Outcome(schedule.seed, len(schedule.jobs), workdir=str(workdir))
    key = api_key(schedule.seed)
    jobs_path = workdir / "jobs.jsonl"
    jobs_path.write_text("".join(json.dumps(j) + "\n" for j in schedule.jobs), encoding="utf-8")
    settings = Settings(job_seconds=schedule.job_seconds, job_seconds_max=schedule.job_seconds_max,
                        seed=schedule.seed, tokens={key: UID}, state_file=workdir / "sim-state.json")
    sim = _Simulator(settings)
    proxy = FaultProxy(sim.base_url, schedule.plan).start()
    printed: list[tuple[str, str]] = []
    allowance: Counter[int] = Counter()
    index_of = {j["custom_id"]: i for i, j in enumerate(schedule.jobs)}
    cmd = command(schedule, workdir, proxy.base_url)
    try:
        for run in range(schedule.faulted_runs):
            extra: list[str] = []
            if run == schedule.faulted_runs - 1 and schedule.resubmit_unknown:
                extra = ["--resubmit-unknown"]
                for cid, state in _journal_states(workdir / "results.jsonl.journal.db").items():
                    if state in ("unknown", "submitting"):
                        allowance[index_of[cid]] += 1
            restart = None
            if schedule.restart is not None and schedule.restart.run == run:
                restart = sim.restart_later(schedule.restart.after, schedule.restart.down)
            kill = schedule.kills[run] if run < len(schedule.kills) else None
            _one_run(cmd + extra, key, workdir, f"run{run}", kill, proxy, outcome, printed)
            if restart is not None:
                restart.join(30)
        results = _read_results(workdir / "results.jsonl")
        truth = inv.GroundTruth(sim.base_url)
        outcome.violations += inv.check_charges(schedule.jobs, truth, allowance)
        outcome.violations += inv.check_lines(schedule.jobs, results)
        if results is not None and len(results) == len(schedule.jobs):
            outcome.violations += inv.check_attribution_and_files(schedule.jobs, results, truth, downloads=True)
        outcome.unknowns = inv.count_unknown(results)

        proxy.set_plan(None)  # the last run: the same command, nothing in the way
        _one_run(cmd, key, workdir, "clean", None, proxy, outcome, printed)
        results = _read_results(workdir / "results.jsonl")
        truth = inv.GroundTruth(sim.base_url)
        after = [f"{v} [after the fault-free rerun]" for v in
                 inv.check_charges(schedule.jobs, truth, allowance) + inv.check_lines(schedule.jobs, results)]
        if results is not None and len(results) == len(schedule.jobs):
            after += [f"{v} [after the fault-free rerun]" for v in
                      inv.check_attribution_and_files(schedule.jobs, results, truth, downloads=True)]
            after += inv.check_recovered(schedule.jobs, results, truth)
        outcome.violations += [v for v in after if v.removesuffix(" [after the fault-free rerun]") not in outcome.violations]
        written = [p for p in workdir.rglob("*") if p.name not in ("jobs.jsonl", "sim-state.json") and
                   not p.name.startswith(("run", "clean"))]
        outcome.violations += inv.check_no_key(key, written, printed)
    finally:
        proxy.stop()
        sim.server.stop()
    outcome.fired = Counter(proxy.fired)
    on_generate = [(k.split(" ")[0], n) for k, n in proxy.fired_on.items() if k.split(" ")[1] in GENERATE_ROUTES]
    outcome.ambiguous = sum(n for kind, n in on_generate if kind in AMBIGUOUS_ON_GENERATE)
    outcome.ambiguous_forwarded = sum(n for kind, n in on_generate if kind in AMBIGUOUS_FORWARDED)
    outcome.restarts = sim.restarts
    outcome.seconds = time.monotonic() - started
    return outcome


def _before_our_code(stderr: str, signalled: bool) -> bool:
    """A Ctrl-C while the interpreter itself was still starting (site, runpy), before any line of the command
    ran: Python prints that traceback and nothing can have been sent. Any frame in the project's code counts."""
    frames = [line for line in stderr.splitlines() if line.lstrip().startswith('File "')]
    ours = ("genvr_runtime" + os.sep, "generated" + os.sep)
    return signalled and stderr.rstrip().endswith("KeyboardInterrupt") and not any(
        any(part in f for part in ours) and "genvr_runtime" + os.sep + "__init__.py" not in f for f in frames)


def _wait_for_trigger(proc: subprocess.Popen[bytes], kill: Any, proxy: FaultProxy) -> bool:
    """Wait for the kill's moment; False if the CLI ended first."""
    deadline = time.monotonic() + RUN_TIMEOUT
    if kill.trigger != "startup":
        with proxy.lock:
            target = proxy.arrivals[kill.trigger] + kill.n
        while proc.poll() is None and time.monotonic() < deadline:
            with proxy.lock:
                if proxy.arrivals[kill.trigger] >= target:
                    break
            time.sleep(0.002)
    try:
        proc.wait(timeout=kill.after)
        return False
    except subprocess.TimeoutExpired:
        return True


def _one_run(cmd: list[str], key: str, workdir: Path, label: str, kill: Any, proxy: FaultProxy, outcome: Outcome,
             printed: list[tuple[str, str]]) -> None:
    out_path, err_path = workdir / f"{label}.stdout", workdir / f"{label}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(cmd, env=_env(key), stdout=out, stderr=err, cwd=workdir)
        signalled_at: float | None = None
        try:
            if kill is not None and _wait_for_trigger(proc, kill, proxy):
                outcome.kills[kill.signal] += 1
                if kill.signal == "sigkill":
                    proc.kill()
                    proc.wait()
                else:
                    signalled_at = time.monotonic()
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=SIGINT_GRACE)
                    except subprocess.TimeoutExpired:  # documented: a second Ctrl-C stops at once
                        proc.send_signal(signal.SIGINT)
                        try:
                            proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            outcome.violations.append(f"sigint: still running {SIGINT_GRACE:g}s after Ctrl-C and "
                                                      f"5s after a second one ({label})")
                            proc.kill()
                            proc.wait()
            else:
                try:
                    proc.wait(timeout=RUN_TIMEOUT)
                except subprocess.TimeoutExpired:
                    outcome.violations.append(f"hang: {label} did not finish in {RUN_TIMEOUT:g}s")
                    proc.kill()
                    proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    ended = time.monotonic()
    rc = proc.returncode
    outcome.exit_codes.append(rc)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    printed += [(f"{label} stdout", stdout), (f"{label} stderr", stderr)]
    was_killed = kill is not None and kill.signal == "sigkill" and rc == -signal.SIGKILL
    if "Traceback" in stderr and not was_killed and not _before_our_code(stderr, signalled_at is not None):
        last = [line for line in stderr.splitlines() if line.strip()][-1:]
        outcome.violations.append(f"traceback: {label} printed a traceback ({last[0][:120] if last else ''})")
    if signalled_at is not None:
        if rc not in (130, 0, 1, 3):
            outcome.violations.append(f"sigint: exit code {rc} after Ctrl-C ({label}; documented: 130)")
        with proxy.lock:
            late = [t for t in proxy.generate_arrivals if signalled_at + SIGINT_SEND_GRACE < t <= ended]
        if late:
            outcome.violations.append(f"sigint: {len(late)} generate call(s) sent more than "
                                      f"{SIGINT_SEND_GRACE:g}s after Ctrl-C ({label})")
    if kill is None and rc not in (0, 1, 3):  # 2 invalid input, 4 auth refused, 130/negative: not expected here
        outcome.violations.append(f"exit_code: {label} exited {rc}")
