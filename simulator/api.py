"""The GenVR calls as plain functions (body in, (HTTP status, JSON body) out), shared by single and batch routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import Model
from .media import KINDS
from .state import SimState, Task, input_key
from .validation import ROUTING_FIELDS, InputError, validate_input

Reply = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Caller:
    """Who is calling (from the Bearer token) and how to build absolute URLs back to this server."""

    token: str
    uid: str
    base_url: str  # "http://127.0.0.1:PORT" (no trailing slash)
    idempotency_key: str | None = None


def error(status: int, message: str) -> Reply:
    # Error bodies are UNKNOWN in the real API; GenVR's clients read `message` (API.md §4.4).
    return status, {"success": False, "message": message}


class ApiError(Exception):
    """Raised inside a call; turned into `error(status, message)` at the call's boundary."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def authenticate(state: SimState, authorization: str | None) -> Caller | Reply:
    """Caller without base URL/key (the route fills them), or a 401 reply."""
    if not authorization:
        return error(401, "missing Authorization header (expected 'Bearer <access token>')")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error(401, "malformed Authorization header (expected 'Bearer <access token>')")
    uid = state.settings.tokens.get(token.strip())
    if uid is None:
        return error(401, "invalid access token")
    return Caller(token=token.strip(), uid=uid, base_url="")


def _routing(state: SimState, body: Any, caller: Caller, *, need_id: bool) -> tuple[dict[str, Any], Model]:
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    names = ("id", "uid", "category", "subcategory") if need_id else ("uid", "category", "subcategory")
    for name in names:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"missing or invalid field '{name}' (a non-empty string is required)")
    if body["uid"] != caller.uid:
        raise ApiError(403, "field 'uid' does not match the access token")
    model = state.catalog.get(body["category"], body["subcategory"])
    if model is None:
        raise ApiError(404, f"unknown model '{body['category']}/{body['subcategory']}'")
    return body, model


def generate(state: SimState, version: str, body: Any, caller: Caller) -> Reply:
    try:
        return _generate(state, version, body, caller)
    except ApiError as exc:
        return error(exc.status, exc.message)


def _generate(state: SimState, version: str, raw: Any, caller: Caller) -> Reply:
    body, model = _routing(state, raw, caller, need_id=False)
    params = {k: v for k, v in body.items() if k not in ROUTING_FIELDS}
    key = input_key(body)
    with state.lock:
        state.counters.generate_calls_by_input[key] += 1
        if caller.idempotency_key is not None:
            state.counters.generate_calls_by_idempotency_key[caller.idempotency_key] += 1
    try:
        validate_input(model.schema, params, reject_unknown=state.settings.reject_unknown_fields)
    except InputError as exc:
        return error(400, str(exc))
    with state.lock:
        existing = None
        if caller.idempotency_key is not None and state.settings.honor_idempotency_key:
            existing = state.tasks.get(state.tasks_by_idempotency_key.get(caller.idempotency_key, ""))
        task = existing or state.create_task(version, model, caller.uid, params, key)
        if caller.idempotency_key is not None and state.settings.honor_idempotency_key:
            state.tasks_by_idempotency_key[caller.idempotency_key] = task.id
    status = task.statuses[0] if existing is None else state.status_of(task)
    mode = state.faults.config.top_level_task_id
    if mode == "only":
        return 200, {"success": True, "taskId": task.id, "data": {"status": status}}
    reply: dict[str, Any] = {"success": True, "data": {"id": task.id, "status": status}}
    if mode == "both":
        reply["taskId"] = task.id
    return 200, reply


def _find_task(state: SimState, raw: Any, caller: Caller) -> Task:
    body, model = _routing(state, raw, caller, need_id=True)
    task = state.tasks.get(body["id"])
    if task is None or task.uid != caller.uid:
        raise ApiError(404, f"task '{body['id']}' not found")
    if (task.category, task.subcategory) != (model.category, model.subcategory):
        raise ApiError(400, f"task '{task.id}' belongs to {task.category}/{task.subcategory}, not "
                          f"{model.category}/{model.subcategory}")
    return task


def status(state: SimState, version: str, body: Any, caller: Caller) -> Reply:
    try:
        found = _find_task(state, body, caller)
    except ApiError as exc:
        return error(exc.status, exc.message)
    current = state.status_of(found)
    data: dict[str, Any] = {"id": found.id, "status": current}
    if current == "failed":
        data["error"] = found.error
    return 200, {"success": True, "data": data}


def output_urls(task: Task, caller: Caller) -> list[str]:
    ext = KINDS[task.kind][0]
    # A fresh signature per /response call: a client that re-fetches gets new URLs (like re-signed SAS URLs).
    return [f"{caller.base_url}/files/{task.id}/{i}.{ext}?sig={task.response_calls}" for i in range(task.outputs)]


def response(state: SimState, version: str, body: Any, caller: Caller) -> Reply:
    try:
        found = _find_task(state, body, caller)
    except ApiError as exc:
        return error(exc.status, exc.message)
    with state.lock:
        found.response_calls += 1
        current = state.status_of(found)
        data: dict[str, Any] = {"status": current}
        if current == "failed":
            data["error"] = found.error
        elif current == "completed":
            if found.empty_fetches_left != 0:
                found.empty_fetches_left -= 1 if found.empty_fetches_left > 0 else 0
                data["output"] = []
            elif found.error_output:
                data["output"] = ["Error: simulated generation error (the model returned no file)"]
            else:
                data["output"] = output_urls(found, caller)
        # Before completion: status only, no `output` key (D1: output is only available once completed).
    return 200, {"success": True, "data": data}
