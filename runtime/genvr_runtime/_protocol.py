"""GenVR's wire contract in one place: paths, bodies, envelopes, statuses. No I/O here."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from genvr_runtime._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    RoutingCollisionError,
    ServerError,
)
from genvr_runtime._inputs import ROUTING_FIELDS, GenVRInput

ApiVersion = Literal["v1", "v2"]
PATHS: dict[ApiVersion, dict[str, str]] = {
    "v1": {"generate": "/api/v1/generate", "status": "/api/v1/status", "response": "/api/v1/response"},
    "v2": {"generate": "/v2/generate", "status": "/v2/status", "response": "/v2/response"},
}
DEFAULT_BASE_URL = "https://api.genvrresearch.com"
TERMINAL_STATUSES = frozenset({"completed", "failed"})


def generate_body(uid: str, params: GenVRInput) -> dict[str, Any]:
    info = type(params).genvr_model
    model_params = params.to_api_params()
    clashes = sorted(ROUTING_FIELDS & model_params.keys())
    if clashes:
        raise RoutingCollisionError(
            f"input(s) {clashes} share their name with GenVR's routing fields; the flat generate body cannot "
            "carry both, so leave them unset (the server default applies)",
            model=info.key,
        )
    return {"uid": uid, "category": info.category, "subcategory": info.subcategory, **model_params}


def task_body(uid: str, task_id: str, category: str, subcategory: str) -> dict[str, Any]:
    return {"id": task_id, "uid": uid, "category": category, "subcategory": subcategory}


def parse_envelope(response: httpx.Response, *, model: str, task_id: str | None = None) -> dict[str, Any]:
    """Return `data` of a `{success, data}` reply, or raise the error class of its cause."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    message = _error_message(payload) or response.reason_phrase or "no message"
    if response.status_code >= 400:
        cls = _error_class(response.status_code)
        raise cls(message, status_code=response.status_code, body=payload, model=model, task_id=task_id)
    if not isinstance(payload, dict):
        raise APIError("reply is not a JSON object", status_code=response.status_code, model=model, task_id=task_id)
    if payload.get("success") is False:
        raise APIError(message, status_code=response.status_code, body=payload, model=model, task_id=task_id)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise APIError("reply has no `data` object", status_code=response.status_code, body=payload, model=model, task_id=task_id)
    return data


def _error_class(status: int) -> type[APIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return BadRequestError


def _error_message(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return None
    for key in ("message", "error"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    data = payload.get("data")
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return None
