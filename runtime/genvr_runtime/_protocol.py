"""GenVR's wire contract in one place: paths, bodies, envelopes, statuses. No I/O here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal


from genvr_runtime._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    PaymentRequiredError,
    RateLimitError,
    RoutingCollisionError,
    ServerError,
)
from genvr_runtime._common import ROUTING_FIELDS
from genvr_runtime._redact import reply_json, reply_reason

if TYPE_CHECKING:  # httpx and pydantic load with the first request, not with this table of names
    import httpx

    from genvr_runtime._inputs import GenVRInput

ApiVersion = Literal["v1", "v2"]
PATHS: dict[ApiVersion, dict[str, str]] = {
    "v1": {"generate": "/api/v1/generate", "status": "/api/v1/status", "response": "/api/v1/response"},
    "v2": {"generate": "/v2/generate", "status": "/v2/status", "response": "/v2/response"},
}
DEFAULT_BASE_URL = "https://api.genvrresearch.com"
TERMINAL_STATUSES = frozenset({"completed", "failed"})
# The three statuses GenVR documents as normalized; anything else (`starting`, `queued`, new values) means running.
DOCUMENTED_STATUSES = frozenset({"processing", "completed", "failed"})
# Outside that set but shown in GenVR's own examples right after generate (v1 `starting`, v2 `queued`).
EXAMPLE_STATUSES = frozenset({"starting", "queued"})
# GenVR's batch endpoints take 1–10 requests per call (API.md §5). The one place this number lives.
BATCH_LIMIT = 10
BATCH_PATHS = {"generate": "/v2/generate-batch", "status": "/v2/status-batch", "response": "/v2/response-batch"}
UPLOAD_PATH = "/api/upload/sas-url"


def generate_body(uid: str, params: GenVRInput) -> dict[str, Any]:
    info = type(params).genvr_model
    model_params = params.to_api_params()
    clashes = sorted(ROUTING_FIELDS & model_params.keys())
    if clashes:
        raise RoutingCollisionError(
            f"input(s) {clashes} share their name with GenVR's routing fields; the flat generate body cannot "
            "carry both, so leave them unset (the server default applies)",
            fields=tuple(clashes),
            model=info.key,
        )
    return {"uid": uid, "category": info.category, "subcategory": info.subcategory, **model_params}


def task_body(uid: str, task_id: str, category: str, subcategory: str) -> dict[str, Any]:
    return {"id": task_id, "uid": uid, "category": category, "subcategory": subcategory}


def parse_envelope(response: httpx.Response, *, model: str, task_id: str | None = None) -> dict[str, Any]:
    """Return `data` of a `{success, data}` reply, or raise the error class of its cause."""
    try:
        payload = reply_json(response)
    except ValueError:
        payload = None
    message = _error_message(payload) or reply_reason(response) or "no message"
    if response.status_code >= 400:
        cls = _error_class(response.status_code)
        raise cls(message, status_code=response.status_code, body=payload, model=model, task_id=task_id)
    if not isinstance(payload, dict):
        raise APIError("reply is not a JSON object", status_code=response.status_code, model=model, task_id=task_id)
    if payload.get("success") is False:
        raise APIError(message, status_code=response.status_code, body=payload, model=model, task_id=task_id)
    return envelope_data(payload, status_code=response.status_code, model=model, task_id=task_id)


def envelope_data(payload: object, *, status_code: int = 200, model: str | None, task_id: str | None = None) -> dict[str, Any]:
    """`data` of a decoded `{success, data}` body (a batch item's `body` too), tolerating un-nested shapes."""
    if not isinstance(payload, dict):
        raise APIError("reply is not a JSON object", status_code=status_code, model=model, task_id=task_id)
    if payload.get("success") is False:
        message = _error_message(payload) or "no message"
        raise APIError(message, status_code=status_code, body=payload, model=model, task_id=task_id)
    data = payload.get("data")
    if not isinstance(data, dict):
        # Some GenVR paths answer un-nested (`taskId`/`status`/`output` at the top level, API.md §4.4).
        if any(k in payload for k in ("taskId", "id", "status", "output")):
            data = {}
        else:
            raise APIError("reply has no `data` object", status_code=status_code, body=payload, model=model, task_id=task_id)
    data = dict(data)
    for key in ("status", "output", "error"):
        if key not in data and key in payload:
            data[key] = payload[key]
    if "id" not in data:
        for key in ("taskId", "id"):
            if isinstance(payload.get(key), str):
                data["id"] = payload[key]
                break
        else:
            if isinstance(data.get("taskId"), str):
                data["id"] = data["taskId"]
    return data


def json_or_none(response: httpx.Response) -> object:
    """The reply's JSON (redacted), or None when it is not JSON."""
    try:
        return reply_json(response)
    except ValueError:
        return None


def error_for_status(status: int, message: str, *, body: object = None, model: str | None, task_id: str | None = None) -> APIError:
    return _error_class(status)(message, status_code=status, body=body, model=model, task_id=task_id)


def error_message(payload: object) -> str | None:
    return _error_message(payload)


def is_output_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "data:"))


def _error_class(status: int) -> type[APIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status == 402:
        return PaymentRequiredError
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
