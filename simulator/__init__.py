"""A faithful GenVR API simulator: a real HTTP server (Starlette + uvicorn) on 127.0.0.1 for tests and benchmarks.

Serves the committed discovery snapshot (`discovery/`), the three-step flow on v1 (`/api/v1/...`) and v2 (`/v2/...`),
the v2 batch routes, the upload flow, the output files it links to, and seeded fault injection. Start it with
`python -m simulator --port 8765` or, in tests, the `genvr_simulator` fixtures of `simulator.pytest_plugin`.

Modules: `settings` (run switches), `catalog` (discovery snapshot), `dialect` (inputJson → parameters form),
`validation` (model inputs), `state` (tasks, job clock, counters, rate limit), `faults` (rules, seeded engine),
`media` (PNG/MP4/WAV/GLB/SVG bytes), `api` (the calls as functions), `api_routes`/`discovery_routes`/`admin` (HTTP),
`middleware` (counters, rate limit, request faults), `app` (routes), `server` (threaded runner).

Documented choices where the real API is UNKNOWN (API.md §11):

- Errors: `{"success": false, "message": "..."}` for every generation-family call, `{"success": false, "error":
  "..."}` for `/api/upload/sas-url` (what GenVR's clients read). Codes: 400 bad/missing field or invalid JSON (the
  message names the field), 401 missing/malformed/unknown Bearer token, 403 body `uid`/`userId` not the token's
  user, 404 unknown model or task (another user's task is also 404), 429 rate limit (`Retry-After` in seconds).
- Auth: tokens map to one uid each (default `sim-token` → `sim-user`, fake). Discovery, `/files`, `/blob` (SAS
  signature in the query instead) and `/_sim` need no token.
- Known models = `/api/models` ∪ `/api/get-models` (308). Unknown model → 404 `{success: false, message}`.
  Models without a schema (5 listed + the get-models-only ones): `/api/schema`, `/api/openai-function` and
  `/api/comfyui-node` answer 404 "No schema available"; generate accepts any parameters for them.
- `/api/schema` dialect: setting `dialect` (default `parameters`, the documented shape); `?dialect=` overrides per
  request. inputjson envelope: `{success, data: {category, subcategory, schema: <inputJson>}, message}`.
  parameters form: API.md §9.1 mapping; object enums ({label: prompt}) are dropped (type stays `string`).
- `/api/openai-function`: `{success, data: {type: "function", function: {name: generate_<cat>_<sub>, description,
  parameters}}, message}` modelled on GenVR's MCP server; `/api/comfyui-node`: a small `text/x-python` module.
- Input validation (inputJson): type (integral floats pass as integers; `["integer","string"]` accepts either),
  list enums (same value and JSON kind), object enums are suggestions (any string), minimum/maximum, maxLength,
  minItems/maxItems, array items. `null` only where `nullable: true`. Required = names in `required` that are
  properties, have no default and are not routing fields (a required name that is not a property is not enforced).
  Unknown extra fields: accepted (setting `reject_unknown_fields`). `format: uri` values are not checked.
- The routing `category` always routes; a model parameter named `category` (imgutils_transfer/garment,
  imgutils_transfer/fashn_tryon) cannot be sent in the flat body and takes its default.
- Task ids: `task-XXXXXXXXXX` (v1) / `pred_XXXXXXXXXX` (v2), drawn from the seed and task number.
  Statuses: first `starting` (v1) or `queued` (v2), then any `extra_statuses` anomaly values, then `processing`,
  sharing the job duration equally, then `completed` or `failed` (`data.error`; status also carries `error`).
- `/response` before completion: `{success: true, data: {status}}` with NO `output` key. Failed: `{status:
  "failed", error}`. Completed: `output` = absolute URLs to `/files/<task>/<n>.<ext>?sig=<k>`, `k` changing on
  every `/response` call (re-signed URLs); 1 output unless the input asks for more (`num_outputs`, `num_images`, …,
  capped by `max_outputs`). Files by the model's output kind (`genvr.output_kinds`, else its category): PNG
  (image), H.264 MP4 (video), WAV (audio), GLB with a mesh (3d), SVG (svg), text otherwise.
- Batch: `requests` must be an array of 1–10 items, else 400 for the whole call; items may mix models; each item
  runs like the single v2 call (`{index, status, body}`). A batch counts as one request for rate limiting.
- Upload: `uploadUrl` points at this server (`/blob/temp/<userId>/upload_<ms>_<n><ext>?sv=…&se=…&sig=…`), account
  `simulatorstorage`; PUT needs `x-ms-blob-type: BlockBlob` (else 400) and answers 201 with an empty body; GET of
  the same URL returns the bytes; a wrong/missing `sig` is 403. Expiry (`se`) is not enforced.
- Idempotency: GenVR has none; `Idempotency-Key` is only counted, unless `honor_idempotency_key` is set (then a
  repeated key on single generate returns the first task). On generate-batch it counts once per call.
- Rate limit: per token bucket (`rate_limit_rps`, `rate_limit_burst`), 429 + `Retry-After` seconds.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Caller as Caller
    from .app import create_app as create_app
    from .catalog import Catalog as Catalog, Model as Model, load_catalog as load_catalog
    from .dialect import to_parameters as to_parameters
    from .faults import FaultConfig as FaultConfig, FaultRule as FaultRule
    from .media import kind_for_category as kind_for_category
    from .server import SimulatorServer as SimulatorServer, start_simulator as start_simulator, wait_for as wait_for
    from .settings import DEFAULT_TOKEN as DEFAULT_TOKEN, DEFAULT_UID as DEFAULT_UID, Settings as Settings
    from .state import ManualClock as ManualClock, SimState as SimState, input_key as input_key
    from .validation import InputError as InputError, validate_input as validate_input

# Name → module, imported on first use: `genvr-simulator` can say what is missing (starlette and uvicorn come with
# the `simulator` extra) instead of failing while Python imports this package.
_EXPORTS = {
    "Caller": "api", "create_app": "app", "Catalog": "catalog", "Model": "catalog", "load_catalog": "catalog",
    "to_parameters": "dialect", "FaultConfig": "faults", "FaultRule": "faults", "kind_for_category": "media",
    "SimulatorServer": "server", "start_simulator": "server", "wait_for": "server", "DEFAULT_TOKEN": "settings",
    "DEFAULT_UID": "settings", "Settings": "settings", "ManualClock": "state", "SimState": "state",
    "input_key": "state", "InputError": "validation", "validate_input": "validation",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
