"""Authenticated GenVR routes (three-step flow v1/v2, v2 batch, upload) and the file/blob hosting they point to."""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import api
from .api import Caller, Reply
from .media import KINDS, make_file
from .state import Blob, SimState

Operation = Callable[[SimState, str, Any, Caller], Reply]
OPERATIONS: dict[str, Operation] = {"generate": api.generate, "status": api.status, "response": api.response}
BATCH_MAX = 10
_INVALID = object()
_SAS_SECRET = b"genvr-simulator-sas"  # signs simulator upload URLs; not a credential of anything real
UPLOAD_CONTAINER = "temp"
UPLOAD_ACCOUNT = "simulatorstorage"


def _reply(reply: Reply) -> JSONResponse:
    return JSONResponse(reply[1], status_code=reply[0])


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return _INVALID


def _caller(state: SimState, request: Request, *, with_key: bool = True) -> Caller | Reply:
    found = api.authenticate(state, request.headers.get("authorization"))
    if not isinstance(found, Caller):
        return found
    key = request.headers.get("idempotency-key") if with_key else None
    return Caller(found.token, found.uid, str(request.base_url).rstrip("/"), key)


def make_api_endpoints(state: SimState) -> dict[str, Any]:
    def single(version: str, op_name: str) -> Callable[[Request], Any]:
        op = OPERATIONS[op_name]

        async def endpoint(request: Request) -> Response:
            caller = _caller(state, request)
            if not isinstance(caller, Caller):
                return _reply(caller)
            body = await _json(request)
            if body is _INVALID:
                return _reply(api.error(400, "request body is not valid JSON"))
            reply = op(state, version, body, caller)
            if op_name != "status":
                state.persist()  # generate creates tasks, response counts fetches (no-op without a state file)
            return _reply(reply)

        return endpoint

    def batch(op_name: str) -> Callable[[Request], Any]:
        op = OPERATIONS[op_name]
        route = f"/v2/{op_name}-batch"

        async def endpoint(request: Request) -> Response:
            caller = _caller(state, request, with_key=False)
            if not isinstance(caller, Caller):
                return _reply(caller)
            body = await _json(request)
            items = body.get("requests") if isinstance(body, dict) else None
            # Reply for 0, >10 or a non-array is UNKNOWN; the simulator refuses the whole call with a 400.
            if not isinstance(items, list) or not 1 <= len(items) <= BATCH_MAX:
                return _reply(api.error(400, f"'requests' must be an array of 1-{BATCH_MAX} request objects"))
            key = request.headers.get("idempotency-key")
            with state.lock:
                state.counters.batch_items.setdefault(route, []).append(len(items))
                if key is not None and op_name == "generate":
                    state.counters.generate_calls_by_idempotency_key[key] += 1
            results = [{"index": i, **_item(route, op, i, item, caller)} for i, item in enumerate(items)]
            if op_name != "status":
                state.persist()
            with state.lock:
                shape = state.faults.shape_fault(route)
            if shape is not None:
                results = _reshape(results, shape.mode or "", state.faults.seed)
            return JSONResponse({"success": True, "data": {"results": results}})

        return endpoint

    def _item(route: str, op: Operation, index: int, item: Any, caller: Caller) -> dict[str, Any]:
        with state.lock:
            fault = state.faults.item_fault(route, index)
        if fault is not None and fault.when == "after":
            op(state, "v2", item, caller)  # the sub-call ran (task created), yet it reports a failure
        if fault is not None:
            status = fault.status or 400
            return {"status": status, "body": api.error(status, fault.message or f"simulated item error {status}")[1]}
        status, body = op(state, "v2", item, caller)
        return {"status": status, "body": body}

    async def sas_url(request: Request) -> Response:
        caller = _caller(state, request)
        if not isinstance(caller, Caller):
            return JSONResponse({"success": False, "error": caller[1]["message"]}, status_code=caller[0])
        body = await _json(request)
        if not isinstance(body, dict):
            return JSONResponse({"success": False, "error": "request body must be a JSON object"}, status_code=400)
        for name in ("userId", "fileName"):
            if not isinstance(body.get(name), str) or not body[name]:
                return JSONResponse({"success": False, "error": f"missing or invalid field '{name}'"}, status_code=400)
        if body["userId"] != caller.uid:
            return JSONResponse({"success": False, "error": "userId does not match the access token"}, status_code=403)
        return JSONResponse(_sas_reply(state, caller, body["userId"], body["fileName"]))

    async def blob(request: Request) -> Response:
        container, path = request.path_params["container"], request.path_params["path"]
        blob_key = f"{container}/{path}"
        if request.query_params.get("sig") != _sign(blob_key):
            # Azure answers 403 for a private container without a valid SAS (API.md §6).
            return Response(b"AuthenticationFailed", status_code=403, media_type="text/plain")
        if request.method == "PUT":
            if request.headers.get("x-ms-blob-type") != "BlockBlob":
                return Response(b"MissingRequiredHeader: x-ms-blob-type: BlockBlob", status_code=400,
                                media_type="text/plain")
            data = await request.body()
            with state.lock:
                state.blobs[blob_key] = Blob(data, request.headers.get("content-type", "application/octet-stream"))
                state.counters.uploads += 1
            state.persist()
            return Response(status_code=201)
        stored = state.blobs.get(blob_key)
        if stored is None:
            return Response(b"BlobNotFound", status_code=404, media_type="text/plain")
        return Response(stored.data, media_type=stored.content_type)

    async def files(request: Request) -> Response:
        task = state.tasks.get(request.path_params["task_id"])
        match = re.fullmatch(r"(\d+)\.(\w+)", request.path_params["name"])
        if task is None or match is None or state.status_of(task) != "completed" or task.error_output:
            return Response(b"not found", status_code=404, media_type="text/plain")
        index, ext = int(match.group(1)), match.group(2)
        if index >= task.outputs or ext != KINDS[task.kind][0]:
            return Response(b"not found", status_code=404, media_type="text/plain")
        with state.lock:
            state.counters.downloads += 1
        return Response(make_file(task.kind, f"{task.id}/{index}".encode()), media_type=KINDS[task.kind][1])

    endpoints: dict[str, Any] = {f"{v}.{op}": single(v, op) for v in ("v1", "v2") for op in OPERATIONS}
    endpoints.update({f"batch.{op}": batch(op) for op in OPERATIONS})
    endpoints.update({"sas_url": sas_url, "blob": blob, "files": files})
    return endpoints


def _reshape(results: list[dict[str, Any]], mode: str, seed: int) -> list[dict[str, Any]]:
    """Batch replies that break the documented promises (case 11 of batch-anchors §4.4)."""
    if mode == "drop_last":
        return results[:-1]
    if mode == "duplicate":
        return [*results, dict(results[0])]
    shuffled = list(results)
    random.Random(f"{seed}:shuffle:{len(results)}").shuffle(shuffled)
    return shuffled


def _sign(blob_key: str) -> str:
    return hashlib.sha256(_SAS_SECRET + blob_key.encode()).hexdigest()[:32]


def _sas_reply(state: SimState, caller: Caller, user_id: str, file_name: str) -> dict[str, Any]:
    with state.lock:
        n = next(state.upload_seq)
    ext = re.sub(r"[^A-Za-z0-9.]", "", "." + file_name.rsplit(".", 1)[-1]) if "." in file_name else ""
    stamp = datetime.now(timezone.utc)
    blob_path = f"{user_id}/upload_{int(stamp.timestamp() * 1000)}_{n}{ext}"
    expires = (stamp + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = f"sv=2024-11-04&se={expires}&sr=b&sp=rcw&sig={_sign(f'{UPLOAD_CONTAINER}/{blob_path}')}"
    return {"success": True, "uploadUrl": f"{caller.base_url}/blob/{UPLOAD_CONTAINER}/{blob_path}?{query}",
            "blobPath": blob_path, "container": UPLOAD_CONTAINER, "account": UPLOAD_ACCOUNT, "expiresAt": expires,
            "instructions": {"method": "PUT", "headers": {"x-ms-blob-type": "BlockBlob",
                                                          "Content-Type": "application/octet-stream"}}}
