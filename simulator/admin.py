"""Unauthenticated admin routes under /_sim/ (never faulted, never counted): counters, faults, settings, tasks."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import ManualClock, SimState


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return JSONResponse({"ok": False, "error": "body is not valid JSON"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"ok": False, "error": "body must be a JSON object"}, status_code=400)
    return body


def make_admin_endpoints(state: SimState) -> dict[str, Any]:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "models": len(state.catalog.listed_models)})

    async def counters(request: Request) -> Response:
        return JSONResponse(state.counters_snapshot())

    async def reset(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        state.reset(tasks=bool(body.get("tasks")), faults=bool(body.get("faults")), settings=bool(body.get("settings")))
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            if isinstance(body, JSONResponse):
                return body
            try:
                state.configure(faults=body)
            except (TypeError, ValueError) as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        with state.lock:
            return JSONResponse({"ok": True, "seed": state.faults.seed, "config": state.faults.config.to_dict(),
                                 "fired": list(state.faults.log)})

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            if isinstance(body, JSONResponse):
                return body
            try:
                state.configure(**body)
            except (TypeError, ValueError) as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "settings": state.settings.public()})

    async def tasks(request: Request) -> Response:
        now = state.clock()
        with state.lock:
            return JSONResponse({"ok": True, "tasks": [t.public(now) for t in state.tasks.values()]})

    async def task(request: Request) -> Response:
        found = state.tasks.get(request.path_params["task_id"])
        if found is None:
            return JSONResponse({"ok": False, "error": "no such task"}, status_code=404)
        return JSONResponse({"ok": True, "task": found.public(state.clock())})

    async def clock(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, JSONResponse):
            return body
        if not isinstance(state.clock, ManualClock):
            return JSONResponse({"ok": False, "error": "the job clock is real time (start with a ManualClock)"},
                                status_code=409)
        return JSONResponse({"ok": True, "now": state.clock.advance(float(body.get("advance", 0.0)))})

    return {"health": health, "counters": counters, "reset": reset, "faults": faults, "settings": settings,
            "tasks": tasks, "task": task, "clock": clock}
