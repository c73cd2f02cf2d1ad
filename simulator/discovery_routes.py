"""Public discovery routes (no auth): model lists, schemas in either dialect, tool and node exports."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .catalog import Model
from .dialect import schema_body
from .settings import DIALECTS
from .state import SimState


def _not_found(message: str) -> JSONResponse:
    return JSONResponse({"success": False, "message": message}, status_code=404)


def _model_with_schema(state: SimState, request: Request) -> Model | JSONResponse:
    category, sub = request.path_params["category"], request.path_params["subcategory"]
    model = state.catalog.get(category, sub)
    if model is None:
        return _not_found(f"Model not found: {category}/{sub}")
    if model.schema is None:
        # 5 listed models (and the 17 get-models-only ones) have no schema in any public source.
        return _not_found(f"No schema available for {category}/{sub}")
    return model


def make_discovery_endpoints(state: SimState) -> dict[str, Any]:
    async def models(request: Request) -> Response:
        return Response(state.catalog.models_body, media_type="application/json")

    async def get_models(request: Request) -> Response:
        return Response(state.catalog.get_models_body, media_type="application/json")

    async def schema(request: Request) -> Response:
        found = _model_with_schema(state, request)
        if not isinstance(found, Model):
            return found
        # `?dialect=` is a simulator-only override so one server can answer both shapes.
        dialect = request.query_params.get("dialect", state.settings.dialect)
        if dialect not in DIALECTS:
            return JSONResponse({"success": False, "message": f"unknown dialect {dialect!r}"}, status_code=400)
        assert found.schema is not None
        return JSONResponse(schema_body(found.category, found.subcategory, found.schema, dialect))

    async def openai_function(request: Request) -> Response:
        found = _model_with_schema(state, request)
        if not isinstance(found, Model):
            return found
        return JSONResponse({"success": True, "data": openai_tool(found), "message": "Function retrieved successfully"})

    async def comfyui_node(request: Request) -> Response:
        found = _model_with_schema(state, request)
        if not isinstance(found, Model):
            return found
        return PlainTextResponse(comfyui_source(found), media_type="text/x-python")

    return {"models": models, "get_models": get_models, "schema": schema, "openai_function": openai_function,
            "comfyui_node": comfyui_node}


def openai_tool(model: Model) -> dict[str, Any]:
    """Shape UNKNOWN (API.md §3.4); modelled on GenVR's MCP server: hidden inputs dropped, list enums kept."""
    schema = model.schema or {}
    props: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("display") == "hidden":
            continue
        out: dict[str, Any] = {"type": prop.get("type", "string"), "description": prop.get("description", f"Parameter: {name}")}
        for key in ("default", "minimum", "maximum", "maxItems", "items"):
            if key in prop:
                out[key] = prop[key]
        if isinstance(prop.get("enum"), list):
            out["enum"] = prop["enum"]
        props[name] = out
    required = [n for n in schema.get("required") or [] if n in props]
    return {"type": "function", "function": {
        "name": f"generate_{model.category}_{model.subcategory}".replace("-", "_"),
        "description": f"Generate content using {model.name}. Category: {model.category}, Model: {model.subcategory}. "
                       f"{model.description}".strip(),
        "parameters": {"type": "object", "properties": props, "required": required}}}


def comfyui_source(model: Model) -> str:
    """Shape UNKNOWN (API.md §3.4): a minimal ComfyUI custom-node module naming the model's visible inputs."""
    tool = openai_tool(model)["function"]["parameters"]
    cls = "GenVR_" + "".join(p.capitalize() for p in f"{model.category}_{model.subcategory}".replace("-", "_").split("_"))
    inputs = ", ".join(f'"{n}": ("STRING", {{}})' for n in tool["properties"])
    return (f'"""ComfyUI node for GenVR {model.category}/{model.subcategory} (simulated export)."""\n\n\n'
            f"class {cls}:\n    CATEGORY = \"GenVR/{model.category}\"\n    RETURN_TYPES = (\"STRING\",)\n"
            f"    FUNCTION = \"generate\"\n\n    @classmethod\n    def INPUT_TYPES(cls):\n"
            f"        return {{\"required\": {{{inputs}}}}}\n\n\nNODE_CLASS_MAPPINGS = {{\"{cls}\": {cls}}}\n")
