"""Outermost ASGI layer: per-route request counters, per-token rate limit, and request-level faults."""

from __future__ import annotations

import asyncio

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi_utils import Captured, drop_connection, retry_after_headers, send_bytes, send_json
from .faults import FaultRule
from .state import SimState

# Calls that carry a Bearer token (rate limited per token); discovery and file routes are public.
AUTHENTICATED_ROUTES = frozenset({
    "/api/v1/generate", "/api/v1/status", "/api/v1/response", "/v2/generate", "/v2/status", "/v2/response",
    "/v2/generate-batch", "/v2/status-batch", "/v2/response-batch", "/api/upload/sas-url",
})
ADMIN_PREFIX = "/_sim/"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _error_body(route: str, message: str) -> dict[str, object]:
    # The upload call reports errors in `error` (API.md §6); every other call in `message`.
    key = "error" if route == "/api/upload/sas-url" else "message"
    return {"success": False, key: message}


class FaultMiddleware:
    def __init__(self, app: ASGIApp, routes: list[Route], state: SimState) -> None:
        self.app = app
        self.routes = routes
        self.state = state

    def route_of(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match in (Match.FULL, Match.PARTIAL):
                return route.path
        return str(scope["path"])  # 404s still get counted, under their own path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        route, path, method = self.route_of(scope), scope["path"], scope["method"]
        with state.lock:
            state.counters.requests[f"{method} {route}"] += 1
        if route in AUTHENTICATED_ROUTES:
            token = _bearer(scope)
            if token is not None and token in state.settings.tokens:
                wait = state.take_token(token)
                if wait is not None:
                    await send_json(send, 429, _error_body(route, "rate limit exceeded"),
                                    retry_after_headers(wait, "seconds"))
                    return
        with state.lock:
            delays, fault = state.faults.request_faults(route, path, method)
        for rule in delays:
            await asyncio.sleep(rule.seconds)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.when == "before":
            await self._before(fault, route, scope, receive, send)
        else:
            captured = Captured()
            await self.app(scope, receive, captured.send)
            await self._after(fault, route, captured, send)

    async def _before(self, fault: FaultRule, route: str, scope: Scope, receive: Receive, send: Send) -> None:
        """The server has not acted: nothing was created or stored."""
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            await drop_connection(send, fault.mode)
        elif fault.kind == "malformed":
            await send_bytes(send, 200, b'{"success": true, "data": {"id": ', b"application/json")
        elif fault.kind == "truncate":
            await self._cut(send, 200, [(b"content-type", b"application/octet-stream")], b"\0" * 64)
        else:
            await self._error(fault, route, send)

    async def _after(self, fault: FaultRule, route: str, captured: Captured, send: Send) -> None:
        """The server acted (task created, blob stored, …); the client sees a fault instead of the reply."""
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            await captured.replay(send)
        elif fault.kind == "drop":
            await drop_connection(send, fault.mode)
        elif fault.kind == "malformed":
            # Valid HTTP, invalid JSON: the first half of the real body.
            await send_bytes(send, 200, captured.body[: max(1, len(captured.body) // 2)], b"application/json")
        elif fault.kind == "truncate":
            await self._cut(send, captured.status, captured.headers, captured.body)
        else:
            await self._error(fault, route, send)

    async def _error(self, fault: FaultRule, route: str, send: Send) -> None:
        status = fault.status or (429 if fault.kind == "rate_limit" else 500)
        message = fault.message or ("rate limit exceeded" if status == 429 else f"simulated HTTP {status}")
        retry = fault.retry_after if fault.retry_after is not None else (1.0 if status == 429 else None)
        headers = retry_after_headers(retry, fault.retry_after_format) if retry is not None else []
        await send_json(send, status, _error_body(route, message), headers)

    @staticmethod
    async def _cut(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Announce the full length, send half of it, hang up: a download cut mid-stream."""
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": status,
                    "headers": [*kept, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        await drop_connection(send, "close")
