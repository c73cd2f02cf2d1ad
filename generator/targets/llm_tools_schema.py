"""One model's inputs as the JSON Schema each LLM provider accepts, built from `ModelSpec.params` only.

Three dialects, because the providers accept three different subsets (research note B2–B6):
- `full`: JSON Schema with every constraint GenVR publishes (OpenAI non-strict, Anthropic, MCP). Optional inputs
  are simply not required; `format: uri` marks file URLs; defaults are shown.
- `strict`: OpenAI strict mode. Every property is required, optional ones accept `null` (the dispatcher drops
  nulls, so null means "GenVR's default"); keywords strict mode refuses (`default`, `format: uri`, `minLength`,
  `maxLength`) move into the description, so nothing the model needs to know is lost.
- `gemini`: Gemini's OpenAPI 3.0 `Schema` subset: one upper-case `type` per schema, `nullable` instead of type
  lists, string-only `enum` (integer enums become a range plus "One of ..."), `propertyOrdering`, no
  `additionalProperties`.

Schema text only ever reaches the output as JSON values, never as JSON syntax.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from ..normalize import ItemSpec, ModelSpec, Param
from genvr_runtime._common import ROUTING_FIELDS
from genvr_runtime.tools.dispatcher import DEFAULT_SENTINEL

Dialect = Literal["full", "strict", "gemini"]

DESCRIPTION_LIMIT = 1024  # OpenAI enforced it on function descriptions; kept for every text for portability
_LONG_DEFAULT = 120
_PRESETS_LIMIT = 600  # of the 1024 a description may have
_PRESET_TEXT = 160  # longer defaults (preset prompts) are named, not quoted, in descriptions
_GEMINI_TYPES = {"string": "STRING", "integer": "INTEGER", "number": "NUMBER", "boolean": "BOOLEAN", "array": "ARRAY"}


class Unsupported(Exception):
    """The dialect cannot express this model's inputs; the model is left out of that dialect's files."""


def tool_params(spec: ModelSpec) -> tuple[Param, ...]:
    """The inputs a tool exposes: every input of the class except those named like a routing field
    (`category` on two try-on models), which the runtime refuses to send, so a model must never set them."""
    return tuple(p for p in spec.params if p.wire_name not in ROUTING_FIELDS)


def clip(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def tool_description(spec: ModelSpec) -> str:
    text = f"{spec.display_name} (GenVR model {spec.key})."
    if spec.description.strip():
        text += f" {_sentence(spec.description)}"
    if spec.free_form:
        text += " GenVR publishes no input schema for this model: pass its inputs as arguments; they are sent unchecked."
    # The behaviour an agent must know before calling: it costs credits and blocks until the job ends.
    text += " Starts a paid generation job, waits for it and returns the output file URL(s)."
    return clip(text)


def parameters(spec: ModelSpec, dialect: Dialect) -> dict[str, Any]:
    """The `parameters` / `input_schema` / `inputSchema` object of one model."""
    if spec.free_form:
        if dialect != "full":
            raise Unsupported("GenVR publishes no schema for it (free-form inputs)")
        return {"type": "object", "properties": {}, "additionalProperties": True}
    params = tool_params(spec)
    properties = {p.wire_name: _property(p, dialect) for p in params}
    if dialect == "gemini":
        out: dict[str, Any] = {"type": "OBJECT", "properties": properties}
        required = [p.wire_name for p in params if p.required]
        if required:
            out["required"] = required
        if properties:
            out["propertyOrdering"] = list(properties)
        return out
    required = list(properties) if dialect == "strict" else [p.wire_name for p in params if p.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


# ---------------------------------------------------------------------------------------------------------------
# One input


def _property(p: Param, dialect: Dialect) -> dict[str, Any]:
    if "any" in p.types or "object" in p.types:
        if dialect != "full":
            raise Unsupported(f"input {p.wire_name!r} has an untyped or object value")
        return {"description": _description(p, dialect)}  # any JSON value; the input class still validates it
    if dialect == "gemini":
        return _gemini_property(p)
    variants = [_typed(p, t, dialect) for t in p.types]
    optional_null = dialect == "strict" and not p.required
    nullable = p.nullable or optional_null
    if optional_null and p.nullable:
        # null is a value GenVR reads here, so "GenVR's default" needs its own spelling (see the dispatcher).
        schema: dict[str, Any] = {"anyOf": [*variants, {"type": "null"}, {"type": "string", "enum": [DEFAULT_SENTINEL]}]}
    elif len(variants) == 1 and ("enum" not in variants[0] or not nullable):
        schema = variants[0]
        if nullable:
            schema["type"] = [schema["type"], "null"]
    else:
        # Nullable enums and type unions: an anyOf keeps each branch's keywords apart (strict mode's documented form).
        schema = {"anyOf": variants + ([{"type": "null"}] if nullable else [])}
    schema = {"description": _description(p, dialect), **schema}
    if dialect == "full" and p.has_default:
        schema["default"] = p.default
    return schema


def _typed(p: Param, json_type: str, dialect: Dialect) -> dict[str, Any]:
    """The schema of one branch of the input's type, with the constraints that apply to that type."""
    out: dict[str, Any] = {"type": json_type}
    if json_type in ("integer", "number"):
        for key, value in (
            ("minimum", None if p.exclusive_minimum else p.minimum),
            ("maximum", None if p.exclusive_maximum else p.maximum),
            ("exclusiveMinimum", p.minimum if p.exclusive_minimum else None),
            ("exclusiveMaximum", p.maximum if p.exclusive_maximum else None),
        ):
            if value is not None:
                out[key] = value
    elif json_type == "string":
        if dialect == "full":
            if p.min_length is not None:
                out["minLength"] = p.min_length
            if p.max_length is not None:
                out["maxLength"] = p.max_length
            if p.is_file:
                out["format"] = "uri"
    elif json_type == "array":
        out["items"] = _item_schema(p.items, dialect) if p.items else {"type": "string"}
        if p.min_items is not None:
            out["minItems"] = p.min_items
        if p.max_items is not None:
            out["maxItems"] = p.max_items
    if p.enum is not None:
        # A mixed enum (`[5, 10, "auto"]`, `integer | string`): each branch lists the values of its type.
        out["enum"] = [v for v in p.enum if len(p.types) == 1 or _fits(v, json_type)]
    return out


def _fits(value: Any, json_type: str) -> bool:
    if isinstance(value, bool):
        return json_type == "boolean"
    if isinstance(value, int):
        return json_type in ("integer", "number")
    if isinstance(value, float):
        return json_type == "number"
    return isinstance(value, str) and json_type == "string"


def _item_schema(item: ItemSpec, dialect: Dialect) -> dict[str, Any]:
    """An array's items with their own constraints (enum, bounds, lengths, nested items); strict mode and
    Gemini take what their subset allows, the rest is said in the input's description."""
    if item.type in ("any", "object"):
        if dialect != "full":
            raise Unsupported(f"array items of type {item.type!r}")
        return {} if item.type == "any" else {"type": "object"}
    if dialect == "gemini":
        out: dict[str, Any] = {"type": _GEMINI_TYPES[item.type]}
        if item.enum is not None and item.type == "string":
            out["enum"] = list(item.enum)
    else:
        out = {"type": item.type}
        if item.enum is not None:
            out["enum"] = list(item.enum)
    if item.type in ("integer", "number"):
        exclusive_ok = dialect != "gemini"
        for key, value in (
            ("minimum", item.minimum if not (exclusive_ok and item.exclusive_minimum) else None),
            ("maximum", item.maximum if not (exclusive_ok and item.exclusive_maximum) else None),
            ("exclusiveMinimum", item.minimum if exclusive_ok and item.exclusive_minimum else None),
            ("exclusiveMaximum", item.maximum if exclusive_ok and item.exclusive_maximum else None),
        ):
            if value is not None:
                out[key] = value
    elif item.type == "string" and dialect != "strict":
        out.update({k: v for k, v in (("minLength", item.min_length), ("maxLength", item.max_length)) if v is not None})
        if dialect == "full" and item.is_file:
            out["format"] = "uri"
    elif item.type == "array":
        out["items"] = _item_schema(item.items, dialect) if item.items else {"type": "STRING" if dialect == "gemini" else "string"}
        out.update({k: v for k, v in (("minItems", item.min_items), ("maxItems", item.max_items)) if v is not None})
    return out


def _gemini_property(p: Param) -> dict[str, Any]:
    branches = []
    for t in p.types:
        branch: dict[str, Any] = {"type": _GEMINI_TYPES[t]}
        if t in ("integer", "number"):
            branch.update({k: v for k, v in (("minimum", p.minimum), ("maximum", p.maximum)) if v is not None})
        elif t == "string":
            if p.min_length is not None:
                branch["minLength"] = p.min_length
            if p.max_length is not None:
                branch["maxLength"] = p.max_length
        elif t == "array":
            branch["items"] = _item_schema(p.items, "gemini") if p.items else {"type": "STRING"}
            branch.update({k: v for k, v in (("minItems", p.min_items), ("maxItems", p.max_items)) if v is not None})
        if p.enum is not None and len(p.types) == 1:
            if t == "string":
                branch["enum"] = list(p.enum)
            elif t == "integer":  # Gemini enums are strings only: keep the value range, list the values in text
                branch["minimum"], branch["maximum"] = min(p.enum), max(p.enum)
            else:
                raise Unsupported(f"input {p.wire_name!r} has a {t} enum")
        branches.append(branch)
    schema: dict[str, Any] = branches[0] if len(branches) == 1 else {"anyOf": branches}
    schema = {"description": _description(p, "gemini"), **schema}
    if p.nullable:
        schema["nullable"] = True
    if p.has_default and p.default is not None:
        schema["default"] = p.default
    return schema


def _description(p: Param, dialect: Dialect) -> str:
    """The input's own description plus, in words, every constraint the dialect cannot carry as a keyword."""
    parts = [p.description or p.title or p.wire_name]
    if p.is_file:
        kind = f"{p.file_type} " if p.file_type else ""
        many = p.main_type == "array"
        parts.append(f"Public https URL{'s' if many else ''} (or data: URI{'s' if many else ''}) of {'' if many else 'a '}{kind}file{'s' if many else ''}")
    if dialect == "gemini" and p.enum is not None and p.main_type != "string":
        parts.append("One of " + ", ".join(str(v) for v in p.enum))
    if dialect == "strict":
        if p.max_length is not None:
            parts.append(f"At most {p.max_length} characters")
        if p.min_length is not None:
            parts.append(f"At least {p.min_length} characters")
    if dialect == "strict" and p.has_default and p.default is not None:
        parts.append(f"Default: {_show(p.default)}")
    if dialect == "strict" and not p.required:
        parts.append(f"null = send null; {DEFAULT_SENTINEL!r} = GenVR's default" if p.nullable else "null = GenVR's default")
    elif p.nullable:
        parts.append("null is sent as null")
    if p.hidden:
        parts.append("Advanced")
    if p.presets:  # last: the one part that may be clipped
        parts.append(presets_text(p.presets, _PRESETS_LIMIT))
    return clip(" ".join(_sentence(x) for x in parts if x.strip()))


def presets_text(presets: tuple[tuple[str, str], ...], limit: int) -> str:
    """Numbered presets with their text (descriptions say "use the second preset"), at most `limit` long."""
    entries = [f"{i}. {label}: {json.dumps(clip(text, _PRESET_TEXT), ensure_ascii=False)}" for i, (label, text) in enumerate(presets, 1)]
    return clip("Presets (send the text; any other text is accepted too): " + " ".join(entries), limit)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _LONG_DEFAULT else "a preset text (leave unset to use it)"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?…:)" else text + "."
