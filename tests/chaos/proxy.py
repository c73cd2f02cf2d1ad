"""A fault-injecting HTTP/1.1 reverse proxy on 127.0.0.1, written apart from the simulator's own faults.

It sits between the client and a simulator whose faults are off, so what the simulator counts and serves is the
ground truth. It speaks just enough HTTP by hand (request line, headers, Content-Length bodies, keep-alive) to be
able to misbehave the ways a network and a flaky gateway do: hang up after forwarding, stall, lie about a body's
length, answer 5xx/429 itself, or rewrite a JSON reply (truncate, corrupt, drop/duplicate/reorder batch items,
answer for another task, report statuses outside the documented set).

Faults are drawn per request from `FaultPlan` with an RNG keyed by (seed, route, n-th request on that route), so a
schedule replays the same faults as long as the client sends requests in the same order per route.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httpx

GENERATE_ROUTES = frozenset({"/v2/generate-batch", "/v2/generate", "/api/v1/generate"})
STATUS_ROUTES = frozenset({"/v2/status-batch", "/v2/status", "/api/v1/status"})
RESPONSE_ROUTES = frozenset({"/v2/response-batch", "/v2/response", "/api/v1/response"})
BATCH_ROUTES = frozenset({"/v2/generate-batch", "/v2/status-batch", "/v2/response-batch"})
API_ROUTES = GENERATE_ROUTES | STATUS_ROUTES | RESPONSE_ROUTES
FILE_PREFIX = "/files/"

# kind -> which routes it can hit. "files" means GET /files/... (output downloads).
FAULT_ROUTES: dict[str, frozenset[str]] = {
    "drop_after_forward": GENERATE_ROUTES,           # task created, reply lost (ambiguous)
    "stall_after_forward": GENERATE_ROUTES,          # task created, client times out (ambiguous)
    "error_5xx": API_ROUTES | {"files"},             # not forwarded
    "error_5xx_echo_key": API_ROUTES,                # not forwarded; the error text echoes the Authorization header
    "item_error_echo_key": frozenset({"/v2/generate-batch"}),  # not forwarded; every item a 400 echoing the key
    "rate_limit_seconds": API_ROUTES,                # 429, Retry-After: 1
    "rate_limit_date": API_ROUTES,                   # 429, Retry-After: <HTTP date>
    "stall": API_ROUTES | {"files"},                 # not forwarded, held past the client's timeout, then reset
    "truncated_json": API_ROUTES,                    # forwarded; the reply body cut short (Content-Length matches)
    "corrupt_json": API_ROUTES,                      # forwarded; the reply body is not JSON any more
    "items_dropped": BATCH_ROUTES,                   # forwarded; one batch item missing
    "items_duplicated": BATCH_ROUTES,                # forwarded; one batch item twice
    "items_reordered": BATCH_ROUTES,                 # forwarded; items shuffled (indices intact: harmless)
    "items_foreign": frozenset({"/v2/status-batch", "/v2/response-batch"}),  # an item answers for another task
    "odd_status": STATUS_ROUTES | RESPONSE_ROUTES,   # a status string outside the documented set
    "not_found_item": frozenset({"/v2/status-batch", "/v2/response-batch"}),  # 404 item for a live task
    "still_processing": frozenset({"/v2/response-batch"}),  # a response item still saying `processing`
    "download_reset": frozenset({"files"}),          # connection reset in the middle of the body
    "short_body": frozenset({"files"}),              # Content-Length larger than the body sent
}
FAULT_KINDS = tuple(FAULT_ROUTES)
# Faults on a generate call after which the client cannot know whether it created tasks. The first group was
# forwarded (tasks exist); a stall or a 5xx was not, but the client cannot tell (a 5xx may follow a creation).
AMBIGUOUS_FORWARDED = frozenset({"drop_after_forward", "stall_after_forward", "truncated_json", "corrupt_json",
                                 "items_dropped", "items_duplicated"})
AMBIGUOUS_ON_GENERATE = AMBIGUOUS_FORWARDED | {"stall", "error_5xx", "error_5xx_echo_key"}
_JSON_REWRITES = frozenset({"items_dropped", "items_duplicated", "items_reordered", "items_foreign", "odd_status",
                            "not_found_item", "still_processing"})
ODD_STATUSES: tuple[Any, ...] = ("IN_PROGRESS", "weird-state", "", None, 42, "PENDING", "Processing")


@dataclass
class FaultPlan:
    """Per-kind probability of hitting one request (at most one fault per request), or, for a deterministic
    scenario, a script: route -> {n-th request on that route (from 0): kind}."""

    seed: int
    rates: dict[str, float] = field(default_factory=dict)
    stall_seconds: float = 1.5  # longer than the client's read/generate timeouts
    script: dict[str, dict[int, str]] | None = None

    def choose(self, route: str, n: int) -> str | None:
        if self.script is not None:
            return self.script.get(route, {}).get(n)
        rng = random.Random(f"{self.seed}:{route}:{n}")
        kinds = [k for k in FAULT_KINDS if self.rates.get(k, 0.0) > 0 and route in FAULT_ROUTES[k]]
        rng.shuffle(kinds)
        for kind in kinds:
            if rng.random() < self.rates[kind]:
                return kind
        return None

    def rng(self, route: str, n: int) -> random.Random:
        return random.Random(f"{self.seed}:{route}:{n}:detail")


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def route(self) -> str:
        return "files" if self.path.startswith(FILE_PREFIX) else self.path

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class FaultProxy:
    """Start with `start()`; `plan = None` forwards everything untouched. Thread-safe counters for the harness."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None, host: str = "127.0.0.1") -> None:
        self.upstream = upstream.rstrip("/")
        self.plan = plan
        self.host = host
        self.port = 0
        self.lock = threading.Lock()
        self.fired: Counter[str] = Counter()  # kind -> times injected
        self.fired_on: Counter[str] = Counter()  # "kind route" -> times
        self.generate_arrivals: list[float] = []  # monotonic time each generate call reached the proxy
        self.arrivals: Counter[str] = Counter()  # "generate" | "status" | "response" | "files" -> requests seen
        self.upstream_down = 0  # requests answered 503 because the simulator was restarting
        self._seen: Counter[str] = Counter()
        self._foreign_status: dict[str, Any] = {}  # task id -> a status body seen for it
        self._foreign_response: dict[str, Any] = {}  # task id -> a completed response body seen for it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    # -- lifecycle ----------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._client = httpx.AsyncClient(base_url=self.upstream, timeout=30.0)
            self._server = loop.run_until_complete(asyncio.start_server(self._handle, self.host, 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._client.aclose())
            loop.close()

        self._thread = threading.Thread(target=serve, name="chaos-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._connections):
                writer.transport.abort()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        self._thread.join(10)
        self._loop = self._thread = None

    def set_plan(self, plan: FaultPlan | None) -> None:
        with self.lock:
            self.plan = plan

    # -- one connection -----------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if not await self._serve(request, writer):
                    writer.transport.abort()
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.transport.abort()
        finally:
            self._connections.discard(writer)

    async def _serve(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must be dropped."""
        route = request.route
        with self.lock:
            n = self._seen[route]
            self._seen[route] += 1
            plan = self.plan
            if route in GENERATE_ROUTES:
                self.generate_arrivals.append(time.monotonic())
            self.arrivals[_phase(route)] += 1
        kind = plan.choose(route, n) if plan is not None and not request.path.startswith("/_sim/") else None
        if kind is not None:
            with self.lock:
                self.fired[kind] += 1
                self.fired_on[f"{kind} {route}"] += 1
        assert plan is not None or kind is None
        # Faults answered without forwarding.
        if kind in ("error_5xx", "error_5xx_echo_key"):
            status = random.Random(f"{plan.seed if plan else 0}:{route}:{n}:5xx").choice([500, 502, 503, 504])
            message = "simulated gateway error"
            if kind == "error_5xx_echo_key":
                message = f"upstream rejected request with headers Authorization: {request.header('authorization')}"
            await _write(writer, status, json.dumps({"success": False, "message": message}).encode())
            return True
        if kind == "item_error_echo_key":
            asked = _json_or_none(request.body)
            count = len(asked.get("requests") or []) if isinstance(asked, dict) else 1
            message = f"invalid request (Authorization: {request.header('authorization')})"
            items = [{"index": i, "status": 400, "body": {"success": False, "message": message}} for i in range(count)]
            await _write(writer, 200, json.dumps({"success": True, "data": {"results": items}}).encode())
            return True
        if kind == "rate_limit_seconds":
            await _write(writer, 429, b'{"success": false, "message": "rate limited"}', [("Retry-After", "1")])
            return True
        if kind == "rate_limit_date":
            when = formatdate(time.time() + 1.0, usegmt=True)
            await _write(writer, 429, b'{"success": false, "message": "rate limited"}', [("Retry-After", when)])
            return True
        if kind == "stall":
            assert plan is not None
            await asyncio.sleep(plan.stall_seconds)
            return False
        # Everything else is forwarded first.
        try:
            upstream = await self._client.request(
                request.method, request.target, content=request.body,
                headers=[(k, v) for k, v in request.headers if k.lower() not in _HOP_HEADERS],
            )
        except httpx.ConnectError:
            with self.lock:
                self.upstream_down += 1
            await _write(writer, 503, b'{"success": false, "message": "upstream unavailable (restarting)"}',
                         [("Retry-After", "1")])
            return True
        except httpx.HTTPError:
            return False  # the upstream died mid-call: the client cannot know more than we do
        body = upstream.content
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() in ("content-type", "retry-after")]
        if route in STATUS_ROUTES | RESPONSE_ROUTES and upstream.status_code == 200:
            self._remember(route, request, body)
        if kind == "drop_after_forward":
            return False
        if kind == "stall_after_forward":
            assert plan is not None
            await asyncio.sleep(plan.stall_seconds)
            return False
        rng = plan.rng(route, n) if plan is not None else random.Random(0)
        if kind == "truncated_json" and len(body) > 2:
            body = body[: rng.randrange(1, len(body) - 1)]
        elif kind == "corrupt_json":
            body = rng.choice([b"<html><body>502 Bad Gateway</body></html>", b"{" + body, body.replace(b'"', b"'", 3),
                               b"null", b"[]", b'{"success": true, "data": "oops"}'])
        elif kind in _JSON_REWRITES:
            assert kind is not None
            body = self._rewrite(kind, route, request, body, rng)
        if route == "files" and kind == "download_reset":
            await _write_head(writer, upstream.status_code, len(body), headers)
            writer.write(body[: len(body) // 2])
            await writer.drain()
            return False
        if route == "files" and kind == "short_body":
            await _write_head(writer, upstream.status_code, len(body), headers)
            writer.write(body[: max(1, len(body) * 2 // 3)])
            await writer.drain()
            return False  # close: the client sees fewer bytes than promised
        await _write(writer, upstream.status_code, body, headers)
        return True

    # -- JSON rewrites ------------------------------------------------------------------------------------
    def _remember(self, route: str, request: Request, body: bytes) -> None:
        """Keep one real status/response body per task: material for answers "belonging to another task"."""
        try:
            asked = json.loads(request.body)
            reply = json.loads(body)
        except ValueError:
            return
        pairs: list[tuple[Any, Any]] = []
        if route in BATCH_ROUTES:
            items = (reply.get("data") or {}).get("results") if isinstance(reply, dict) else None
            requests = asked.get("requests") if isinstance(asked, dict) else None
            if not isinstance(items, list) or not isinstance(requests, list):
                return
            for item in items:
                if isinstance(item, dict) and item.get("status") == 200 and isinstance(item.get("index"), int) \
                        and 0 <= item["index"] < len(requests):
                    pairs.append((requests[item["index"]], item.get("body")))
        else:
            pairs.append((asked, reply))
        with self.lock:
            for req, reply_body in pairs:
                task_id = req.get("id") if isinstance(req, dict) else None
                if not isinstance(task_id, str):
                    continue
                if route in STATUS_ROUTES:
                    self._foreign_status[task_id] = reply_body
                elif isinstance(reply_body, dict) and (reply_body.get("data") or {}).get("output"):
                    # A response carries no id; ours says whose it is, so a careful client can tell.
                    data = dict(reply_body["data"])
                    data["id"] = task_id
                    self._foreign_response[task_id] = {**reply_body, "data": data}

    def _rewrite(self, kind: str, route: str, request: Request, body: bytes, rng: random.Random) -> bytes:
        try:
            reply = json.loads(body)
            items = reply["data"]["results"] if route in BATCH_ROUTES else None
            asked = json.loads(request.body)
        except (ValueError, KeyError, TypeError):
            return body
        if route not in BATCH_ROUTES:  # single status/response: only odd_status applies
            if kind == "odd_status" and isinstance(reply.get("data"), dict):
                reply["data"]["status"] = rng.choice(ODD_STATUSES)
            return json.dumps(reply).encode()
        if not isinstance(items, list) or not items:
            return body
        requests = asked.get("requests") if isinstance(asked, dict) else []
        i = rng.randrange(len(items))
        if kind == "items_dropped":
            del items[i]
        elif kind == "items_duplicated":
            items.insert(rng.randrange(len(items) + 1), json.loads(json.dumps(items[i])))
        elif kind == "items_reordered":
            rng.shuffle(items)
        elif kind == "odd_status":
            data = (items[i].get("body") or {}).get("data")
            if isinstance(data, dict):
                data["status"] = rng.choice(ODD_STATUSES)
        elif kind == "not_found_item":
            task_id = _asked_id(requests, items[i])
            items[i] = {"index": items[i].get("index"), "status": 404,
                        "body": {"success": False, "message": f"task '{task_id}' not found"}}
        elif kind == "still_processing":
            items[i] = {"index": items[i].get("index"), "status": 200,
                        "body": {"success": True, "data": {"status": "processing"}}}
        elif kind == "items_foreign":
            own = _asked_id(requests, items[i])
            with self.lock:
                pool = self._foreign_status if route in STATUS_ROUTES else self._foreign_response
                others = sorted(t for t in pool if t != own)
                foreign = json.loads(json.dumps(pool[rng.choice(others)])) if others else None
            if foreign is None:
                return body
            items[i] = {"index": items[i].get("index"), "status": 200, "body": foreign}
        return json.dumps(reply).encode()


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _phase(route: str) -> str:
    if route in GENERATE_ROUTES:
        return "generate"
    if route in STATUS_ROUTES:
        return "status"
    if route in RESPONSE_ROUTES:
        return "response"
    return route if route == "files" else "other"


def _asked_id(requests: Any, item: Any) -> str | None:
    index = item.get("index") if isinstance(item, dict) else None
    if isinstance(requests, list) and isinstance(index, int) and 0 <= index < len(requests):
        asked = requests[index]
        return asked.get("id") if isinstance(asked, dict) else None
    return None


# -- minimal HTTP/1.1 ---------------------------------------------------------------------------------------------
# Host is forwarded as sent: the simulator builds output URLs from it, so downloads come through the proxy too.
_HOP_HEADERS = frozenset({"connection", "keep-alive", "content-length", "transfer-encoding", "accept-encoding"})
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed its keep-alive connection
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        raise ConnectionError("chunked request bodies are not supported by the chaos proxy")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


async def _write_head(writer: asyncio.StreamWriter, status: int, length: int, headers: list[tuple[str, str]]) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Length: {length}",
             "Connection: keep-alive", *(f"{k}: {v}" for k, v in headers)]
    if not any(k.lower() == "content-type" for k, _ in headers):
        lines.append("Content-Type: application/json")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


async def _write(writer: asyncio.StreamWriter, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
    await _write_head(writer, status, len(body), headers or [])
    writer.write(body)
    await writer.drain()
