"""What must hold after a schedule, checked against the simulator's ground truth (counters, tasks, served files).

Every check returns a list of violations, each "<invariant>: <what>", so a report can count them per invariant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from simulator.media import KINDS
from simulator.state import input_key

TERMINAL = frozenset({"succeeded", "failed", "rejected", "unknown", "lost"})
# End states a final fault-free rerun must not leave behind for a task that completed on the server.
UNRECOVERED = frozenset({"failed", "lost", "download_failed", "timed_out", "pending", "processing", "completed",
                         "submitting", "rejected"})


def job_key(job: Mapping[str, Any]) -> str:
    """The simulator's counter key of a job's generate call (canonical body without uid)."""
    category, subcategory = job["model"].split("/")
    return input_key({"category": category, "subcategory": subcategory, **job["input"]})


def task_key(task: Mapping[str, Any]) -> str:
    return input_key({"category": task["category"], "subcategory": task["subcategory"], **task["params"]})


class GroundTruth:
    """The simulator's view, read over its admin routes and its file route (never through the proxy)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        with httpx.Client(base_url=base_url, timeout=10) as http:
            self.counters: dict[str, Any] = http.get("/_sim/counters").json()
            self.tasks: dict[str, dict[str, Any]] = {t["id"]: t for t in http.get("/_sim/tasks").json()["tasks"]}
        self.tasks_by_key: dict[str, list[dict[str, Any]]] = {}
        for task in self.tasks.values():
            self.tasks_by_key.setdefault(task_key(task), []).append(task)
        self._files: dict[tuple[str, int], bytes | None] = {}

    def calls_for(self, job: Mapping[str, Any]) -> int:
        return int(self.counters["generate_calls_by_input"].get(job_key(job), 0))

    def served_file(self, task: Mapping[str, Any], index: int) -> bytes | None:
        key = (str(task["id"]), index)
        if key not in self._files:
            ext = KINDS[task["kind"]][0]
            with httpx.Client(base_url=self.base_url, timeout=10) as http:
                reply = http.get(f"/files/{task['id']}/{index}.{ext}")
            self._files[key] = reply.content if reply.status_code == 200 else None
        return self._files[key]


def check_charges(jobs: list[dict[str, Any]], truth: GroundTruth, allowance: Mapping[int, int]) -> list[str]:
    """No input charged twice, unless it was `unknown` and resent by explicit --resubmit-unknown (allowance)."""
    out = []
    for i, job in enumerate(jobs):
        calls, allowed = truth.calls_for(job), 1 + allowance.get(i, 0)
        if calls > allowed:
            out.append(f"charged_twice: {job['custom_id']} sent {calls} times (allowed {allowed})")
    return out


def check_lines(jobs: list[dict[str, Any]], results: list[dict[str, Any]] | None) -> list[str]:
    """Exactly one result line per input line, in input order."""
    if results is None:
        return ["one_line_per_input: no results file"]
    got, want = [r.get("custom_id") for r in results], [j["custom_id"] for j in jobs]
    if got != want:
        return [f"one_line_per_input: {len(got)} lines for {len(want)} jobs, ids {got[:5]}... != {want[:5]}..."]
    return []


def check_attribution_and_files(jobs: list[dict[str, Any]], results: list[dict[str, Any]], truth: GroundTruth,
                                downloads: bool) -> list[str]:
    """A line's task was created from that line's input; a `succeeded` line carries that task's outputs and
    (with downloads) files byte-identical to what the simulator serves for it, as many as it has."""
    out = []
    for job, row in zip(jobs, results):
        cid, task_id = job["custom_id"], row.get("task_id")
        if not task_id:
            if row.get("status") == "succeeded":
                out.append(f"succeeded_files: {cid} succeeded without a task id")
            continue
        task = truth.tasks.get(task_id)
        if task is None:
            out.append(f"misattributed: {cid} names task {task_id}, which the simulator never created")
            continue
        if task_key(task) != job_key(job):
            out.append(f"misattributed: {cid} names task {task_id}, created for another input")
            continue
        if row.get("status") != "succeeded":
            continue
        urls = row.get("output") or []
        if len(urls) != task["outputs"] or not all(f"/files/{task_id}/" in str(u) for u in urls):
            out.append(f"succeeded_files: {cid} output URLs {urls} are not the {task['outputs']} of task {task_id}")
        if not downloads:
            continue
        files = row.get("files") or []
        if len(files) != task["outputs"]:
            out.append(f"succeeded_files: {cid} has {len(files)} files, task {task_id} has {task['outputs']} outputs")
        for i, f in enumerate(files):
            path = Path(str(f.get("path")))
            served = truth.served_file(task, i)
            data = path.read_bytes() if path.is_file() else None
            if data is None:
                out.append(f"succeeded_files: {cid} file {path} is missing")
            elif data != served:
                out.append(f"succeeded_files: {cid} file {path.name} ({len(data)} B) differs from output {i} of "
                           f"task {task_id} ({len(served or b'')} B)")
            elif f.get("sha256") != hashlib.sha256(data).hexdigest():
                out.append(f"succeeded_files: {cid} file {path.name}: recorded sha256 is not the file's")
    return out


def check_recovered(jobs: list[dict[str, Any]], results: list[dict[str, Any]], truth: GroundTruth) -> list[str]:
    """After a fault-free rerun: every line ends in an end state, and a job whose task completed on the server
    is `succeeded` (an honest `unknown`, whose task id the client never learnt, is left to the opt-in)."""
    out = []
    for job, row in zip(jobs, results):
        status, cid = row.get("status"), job["custom_id"]
        if status not in TERMINAL:
            out.append(f"not_finished: {cid} is still {status} after a fault-free rerun")
            continue
        completed = [t for t in truth.tasks_by_key.get(job_key(job), []) if t["status"] == "completed"]
        if completed and status in UNRECOVERED:
            error = row.get("error") or {}
            out.append(f"unrecovered: {cid} is {status} ({str(error.get('message'))[:80]}) although task "
                       f"{completed[0]['id']} completed on the server")
    return out


def check_no_key(key: str, files: Iterable[Path], printed: Iterable[tuple[str, str]]) -> list[str]:
    """The API key appears in no file written and in no output printed."""
    out = []
    needle = key.encode()
    for path in files:
        if path.is_file() and needle in path.read_bytes():
            out.append(f"key_leak: the API key is in {path.name}")
    for label, text in printed:
        if key in text:
            out.append(f"key_leak: the API key was printed ({label})")
    return out


def count_unknown(results: list[dict[str, Any]] | None) -> int:
    return sum(r.get("status") == "unknown" for r in results or [])
