"""The Starlette application: every route of API.md §2 plus the simulator's own /files, /blob and /_sim routes."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from .admin import make_admin_endpoints
from .api_routes import make_api_endpoints
from .discovery_routes import make_discovery_endpoints
from .faults import FaultConfig
from .middleware import FaultMiddleware
from .settings import Settings
from .state import Clock, SimState


def build_routes(state: SimState) -> list[Route]:
    d, a, s = make_discovery_endpoints(state), make_api_endpoints(state), make_admin_endpoints(state)
    routes = [
        Route("/api/models", d["models"], methods=["GET"]),
        Route("/api/get-models", d["get_models"], methods=["GET"]),
        Route("/api/schema/{category}/{subcategory}", d["schema"], methods=["GET"]),
        Route("/api/openai-function/{category}/{subcategory}", d["openai_function"], methods=["GET"]),
        Route("/api/comfyui-node/{category}/{subcategory}", d["comfyui_node"], methods=["GET"]),
        *(Route(f"/api/v1/{op}", a[f"v1.{op}"], methods=["POST"]) for op in ("generate", "status", "response")),
        *(Route(f"/v2/{op}", a[f"v2.{op}"], methods=["POST"]) for op in ("generate", "status", "response")),
        *(Route(f"/v2/{op}-batch", a[f"batch.{op}"], methods=["POST"]) for op in ("generate", "status", "response")),
        Route("/api/upload/sas-url", a["sas_url"], methods=["POST"]),
        Route("/blob/{container}/{path:path}", a["blob"], methods=["GET", "PUT"]),
        Route("/files/{task_id}/{name}", a["files"], methods=["GET"]),
        Route("/_sim/health", s["health"], methods=["GET"]),
        Route("/_sim/counters", s["counters"], methods=["GET"]),
        Route("/_sim/reset", s["reset"], methods=["POST"]),
        Route("/_sim/faults", s["faults"], methods=["GET", "POST"]),
        Route("/_sim/settings", s["settings"], methods=["GET", "POST"]),
        Route("/_sim/tasks", s["tasks"], methods=["GET"]),
        Route("/_sim/tasks/{task_id}", s["task"], methods=["GET"]),
        Route("/_sim/clock", s["clock"], methods=["POST"]),
    ]
    return routes


def create_app(settings: Settings | None = None, *, faults: FaultConfig | dict[str, Any] | None = None,
               clock: Clock | None = None, state: SimState | None = None) -> tuple[ASGIApp, SimState]:
    """The ASGI app (fault middleware outermost, so it can hang up the real connection) and its state."""
    if state is None:
        state = SimState(settings, faults, clock) if clock is not None else SimState(settings, faults)
    routes = build_routes(state)
    app = Starlette(routes=routes)
    return FaultMiddleware(app, routes, state), state
