"""The HTTP side of the MCP server: per-client GenVR credentials and the Streamable HTTP app.

Each client sends its own GenVR credentials with every request:

    Authorization: Bearer <GenVR API key>
    X-GenVR-UID: <GenVR user id>

A request without them is answered 401 before it reaches MCP. The pair is kept in the request scope (never
logged; its repr hides the key); the server knows a client by a fingerprint of the pair, so one user's sessions,
jobs and results are out of reach of another. The MCP SDK's session check uses the same fingerprint: a session
id presented with other credentials answers 404, as if it did not exist.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

UID_HEADER = "X-GenVR-UID"
MCP_PATH = "/mcp"
_SCOPE_KEY = "genvr.credentials"
MISSING_CREDENTIALS = (
    f"GenVR credentials required: send 'Authorization: Bearer <your GenVR API key>' and '{UID_HEADER}: <your GenVR "
    "user id>' with every request. Each client uses its own credentials; this server keeps none of its own."
)
REMOTE_REFUSED = (
    "refusing to listen on {host}: this server is plain HTTP, so the GenVR API keys that clients send would cross the "
    "network unencrypted, and anyone who can reach it can start paid jobs with a key they hold. Listen on 127.0.0.1 "
    "(the default) or, behind a TLS proxy you trust, pass --allow-remote."
)


@dataclass(frozen=True)
class Credentials:
    """One client's GenVR credentials. The key never appears in a repr."""

    api_key: str = field(repr=False)
    uid: str

    @property
    def fingerprint(self) -> str:
        """Who this is, without the key: stable, not reversible, safe to log."""
        return hashlib.sha256(f"{self.uid}\0{self.api_key}".encode()).hexdigest()[:16]


class BadCredentials(ValueError):
    """Credentials were sent but cannot be used; the message says why without quoting them."""


def credentials_from_headers(headers: Headers) -> Credentials | None:
    """The client's credentials; None when either header is missing. Raises `BadCredentials` for several headers
    of a kind (which one a proxy and this server would each pick is anybody's guess) or for a key or uid that
    could not be sent on to GenVR (not printable ASCII)."""
    for name in ("Authorization", UID_HEADER):
        if len(headers.getlist(name)) > 1:
            raise BadCredentials(f"send one {name} header, not several.")
    scheme, _, key = headers.get("authorization", "").partition(" ")
    key, uid = key.strip(), headers.get(UID_HEADER, "").strip()
    if scheme.lower() != "bearer" or not key or not uid:
        return None
    if not all(text.isascii() and text.isprintable() for text in (key, uid)):
        raise BadCredentials("GenVR keys and uids are printable ASCII; these headers hold other characters.")
    return Credentials(api_key=key, uid=uid)


def request_credentials(request: Any) -> Credentials | None:
    """The credentials the middleware attached to this HTTP request (None off HTTP)."""
    if not isinstance(request, Request):
        return None
    found = request.scope.get(_SCOPE_KEY)
    return found if isinstance(found, Credentials) else None


class RequireCredentials:
    """ASGI middleware: every request to the MCP endpoint carries GenVR credentials, or gets a 401 saying how."""

    def __init__(self, app: ASGIApp, path: str = MCP_PATH) -> None:
        self.app = app
        self.path = path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        try:
            credentials = credentials_from_headers(Headers(scope=scope))
        except BadCredentials as exc:
            await _unauthorized(send, f"{exc} {MISSING_CREDENTIALS}")
            return
        if credentials is None:
            await _unauthorized(send, MISSING_CREDENTIALS)
            return
        # The SDK ties a session to the principal that opened it; the fingerprint stands for the key there.
        principal = AccessToken(token="-", client_id=credentials.fingerprint, scopes=[])
        await self.app({**scope, _SCOPE_KEY: credentials, "user": AuthenticatedUser(principal)}, receive, send)


async def _unauthorized(send: Send, description: str) -> None:
    body = json.dumps({"error": "invalid_token", "error_description": description}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer error="invalid_token", error_description="GenVR credentials required"'),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one), so the real address is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def http_app(server: Server[Any], host: str) -> ASGIApp:
    """The MCP server as an ASGI app at /mcp, behind the credentials check. On a loopback host the SDK's
    DNS-rebinding protection is on (Host and Origin must be loopback): for every loopback address, not only the
    three the SDK turns it on for by itself."""
    security = None
    if is_loopback(host):
        names = ["127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host]
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"{name}:*" for name in names],
            allowed_origins=[f"http://{name}:*" for name in names],
        )
    app = server.streamable_http_app(host=host, streamable_http_path=MCP_PATH, transport_security=security)
    return RequireCredentials(app)


async def serve(app: ASGIApp, sock: socket.socket) -> None:
    """Serve until SIGINT/SIGTERM. uvicorn logs no request headers, and its access log is off."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


@asynccontextmanager
async def running(app: ASGIApp, sock: socket.socket) -> AsyncIterator[None]:
    """Serve in the background of the current event loop while the block runs (tests, benchmarks)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:
            await anyio.sleep(0.01)
        try:
            yield
        finally:
            server.should_exit = True
