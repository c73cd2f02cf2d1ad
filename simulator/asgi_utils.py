"""Raw ASGI helpers for replies the normal Starlette path cannot make (dropped connections, cut bodies)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import time
from typing import Any

from starlette.types import Message, Send

Headers = list[tuple[bytes, bytes]]


def retry_after_headers(seconds: float, fmt: str) -> Headers:
    if fmt == "none":
        return []
    if fmt == "ms":
        return [(b"retry-after-ms", str(int(seconds * 1000)).encode())]
    if fmt == "http-date":
        # HTTP-date has 1 s resolution: round up so a client never retries early.
        return [(b"retry-after", email.utils.formatdate(time.time() + math.ceil(seconds) + 1, usegmt=True).encode())]
    return [(b"retry-after", str(max(0, math.ceil(seconds))).encode())]


async def send_bytes(send: Send, status: int, body: bytes, content_type: bytes,
                     headers: Headers | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: Any, headers: Headers | None = None) -> None:
    await send_bytes(send, status, json.dumps(payload).encode(), b"application/json", headers)


async def drop_connection(send: Send, mode: str | None) -> None:
    """Close the TCP connection with no (further) response bytes.

    ASGI has no "hang up" message, so reach the transport through uvicorn's bound `send` (its
    RequestResponseCycle). `mode="reset"` aborts (RST); anything else closes (FIN).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop fault needs uvicorn's h11 server (no transport reachable)")
    if mode == "reset":
        transport.abort()
    else:
        transport.close()
    # Tell uvicorn the peer is gone so it does not try to write a 500 afterwards.
    cycle.disconnected = True  # type: ignore[union-attr]
    await asyncio.sleep(0)


class Captured:
    """A buffered app response (for faults that hit after the server acted)."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: Headers = []
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += bytes(message.get("body", b""))

    async def replay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})
