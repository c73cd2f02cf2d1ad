"""What a refresh keeps when the live schema dialect says less than the snapshot.

GenVR's documented `/api/schema` answer is the *parameters* form; the snapshot holds GenVR's richer internal
*inputJson* form. The parameters form has no key for `nullable`, object enums (prompt presets), `x-order`,
`display: hidden`, UI groups, titles... Taking it verbatim would silently drop those facts. So, per input of a
model whose snapshot schema is inputJson and whose live answer is the parameters form:

- a fact the live parameters form states comes from the live answer, present or absent: a changed enum,
  bound, default or description is taken; a bound the live answer no longer gives is gone. Stated are the
  documented keys (`DOCUMENTED`) and any other key some live parameter of the same refresh uses (the live
  form may or may not carry `format`, `fileType`, `items`, `maxItems`... as GenVR's own reader expects);
- a fact it has no key for is carried over from the snapshot (unless the live answer gives it after all),
  except when the live type differs from the snapshot's: then only display facts (`DISPLAY`) are carried,
  the input having become something else;
- inputs only in the live answer are added (after the existing ones, in the live order); inputs it lacks are
  removed; `required` follows the live lists (names that are not inputs, which GenVR lists in 36 models and
  the parameters form cannot express, are carried over).

The merged schema is written in the snapshot's own form, so an unchanged live answer rewrites nothing. Every
carried fact is listed in `carried-over.json` next to the snapshot. A live answer in the inputJson form, or a
model the snapshot has no inputJson schema for, is taken as it is.
"""

from __future__ import annotations

import json
from typing import Any

from .discovery import Discovery
from .normalize import SchemaError, extract_schema

# Keys of GenVR's documented parameter object (API.md §3.3; `allowedValues` is `enum` here). Whether the live
# form also carries the other keys GenVR's own reader looks for (format, fileType, items, maxItems, step...) is
# unknown: a key counts as stated once any live parameter of the refresh uses it.
DOCUMENTED = frozenset({"type", "enum", "description", "default", "minimum", "maximum"})
DISPLAY = frozenset({"title", "x-order", "display"})
_MODEL_KEY = "*"  # the key under which carried-over model-level facts are recorded

Carried = dict[str, list[str]]  # input name (or "*" for the model) → the facts kept from the snapshot


def merge_discovery(old: Discovery | None, live: Discovery) -> tuple[Discovery, dict[str, Carried]]:
    """The discovery to store, and per model what was carried over from `old` (models with nothing carried left out)."""
    merged = Discovery(models_document=live.models_document)
    carried: dict[str, Carried] = {}
    stated = DOCUMENTED | _keys_used(live)
    for key, live_doc in live.schemas.items():
        merged.schemas[key], kept = merge_schema(old.schemas.get(key) if old else None, live_doc, stated)
        if kept:
            carried[key] = kept
    return merged, carried


def _keys_used(live: Discovery) -> frozenset[str]:
    """Every key some live parameter object has (in inputJson spelling): the keys the live dialect carries."""
    used: set[str] = set()
    for doc in live.schemas.values():
        try:
            dialect, parameters = extract_schema(doc, "live") if doc is not None else ("none", {})
        except SchemaError:
            continue
        for _, param, _ in (_parameter_list(parameters) or []) if dialect == "parameters" else []:
            used |= _as_inputjson(param).keys()
    return frozenset(used)


def merge_schema(old_doc: Any, live_doc: Any, stated: frozenset[str] = DOCUMENTED) -> tuple[Any, Carried]:
    """The document to store for one model, and what was carried over from `old_doc` (empty: taken as is).
    `stated`: the keys whose absence from a live parameter means the fact no longer holds."""
    if old_doc is None or live_doc is None:
        return live_doc, {}
    try:
        old_dialect, old_schema = extract_schema(old_doc, "snapshot")
        live_dialect, live_parameters = extract_schema(live_doc, "live")
    except SchemaError:
        return live_doc, {}  # not understood: stored as answered; generation names the fault
    live_params = _parameter_list(live_parameters)
    old_props = old_schema.get("properties")
    if old_dialect != "inputjson" or live_dialect != "parameters" or live_params is None or not isinstance(old_props, dict):
        return live_doc, {}

    carried: Carried = {}
    live_by_name = {name: prop for name, prop, _ in live_params}
    properties: dict[str, Any] = {}
    for name, old_prop in old_props.items():
        if name in live_by_name:
            properties[name], kept = merge_property(old_prop, live_by_name[name], stated) if isinstance(old_prop, dict) else (_as_inputjson(live_by_name[name]), [])
            if kept:
                carried[name] = kept
    orders = [p.get("x-order") for p in properties.values() if isinstance(p, dict)]
    next_order = max([o for o in orders if isinstance(o, int) and not isinstance(o, bool)], default=-1) + 1
    for name, prop, _ in live_params:
        if name not in properties:
            properties[name] = _as_inputjson(prop)
            properties[name].setdefault("x-order", next_order)
            next_order += 1

    schema: dict[str, Any] = {}
    model_facts: list[str] = []
    for key, value in old_schema.items():
        if key == "properties":
            schema[key] = properties
        elif key == "required":
            schema[key] = _required(value, old_props, live_params)
            if isinstance(value, list):
                model_facts += [f"required: {n}" for n in value if n not in old_props and n in schema[key]]
        else:
            schema[key] = value
            if key != "type":
                model_facts.append(key)
    live_required = [name for name, _, required in live_params if required]
    if "required" not in schema and live_required:
        schema["required"] = live_required
    if model_facts:
        carried[_MODEL_KEY] = sorted(model_facts)
    return _rewrap(old_doc, old_schema, schema), carried


def merge_property(old: dict[str, Any], live_param: dict[str, Any], stated: frozenset[str] = DOCUMENTED) -> tuple[dict[str, Any], list[str]]:
    """One input: live facts where the parameters form states them, the snapshot's elsewhere (see module doc)."""
    live = _as_inputjson(live_param, old_type=old.get("type"))
    type_changed = "type" in live and _canonical(live["type"]) != _canonical(old.get("type"))
    merged: dict[str, Any] = {}
    kept: list[str] = []
    for key, value in old.items():
        if key in live:  # stated live; the snapshot's spelling when equal, so an unchanged answer rewrites nothing
            merged[key] = value if _canonical(value) == _canonical(live[key]) else live[key]
        elif key in stated and key != "type" and not (key == "enum" and isinstance(value, dict)):
            continue  # the live form would state it: it no longer holds (an absent type or object enum is unstated)
        elif not type_changed or key in DISPLAY:
            merged[key] = value
            kept.append(key)
    for key, value in live.items():
        merged.setdefault(key, value)
    return merged, sorted(kept)


def _parameter_list(parameters: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]] | None:
    """(name, parameter, required) in live order; None when malformed (then nothing is merged)."""
    out: list[tuple[str, dict[str, Any], bool]] = []
    for group in ("required", "optional"):
        entries = parameters.get(group) or []
        if not isinstance(entries, list):
            return None
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                return None
            out.append((entry["name"], entry, group == "required"))
    return out if len({name for name, _, _ in out}) == len(out) else None


def _as_inputjson(param: dict[str, Any], old_type: Any = None) -> dict[str, Any]:
    """A parameter object in inputJson terms: `allowedValues` → `enum`, `min`/`max` → `minimum`/`maximum`,
    `type: "enum"` → the type of the values (the snapshot's type when it accepts every value)."""
    prop = {k: v for k, v in param.items() if k != "name"}
    for short, full in (("min", "minimum"), ("max", "maximum"), ("allowedValues", "enum")):
        if short in prop:
            value = prop.pop(short)
            prop.setdefault(full, value)
    if prop.get("type") == "enum":
        values = prop.get("enum")
        values = values if isinstance(values, list) else []
        if old_type is not None and all(_type_accepts(old_type, v) for v in values if v is not None):
            prop["type"] = old_type
        else:
            inferred = _type_of_values(values)
            if inferred is None:
                del prop["type"]
            else:
                prop["type"] = inferred
    return prop


def _required(old_required: Any, old_props: dict[str, Any], live_params: list[tuple[str, dict[str, Any], bool]]) -> Any:
    if not isinstance(old_required, list):
        return old_required
    live_names = {name for name, _, _ in live_params}
    live_required = [name for name, _, required in live_params if required]
    # Snapshot order first (no rewrite when unchanged); names that are no input on either side stay.
    kept = [n for n in old_required if n in live_required or (n not in old_props and n not in live_names)]
    return kept + [n for n in live_required if n not in kept]


def _rewrap(old_doc: Any, old_schema: dict[str, Any], schema: dict[str, Any]) -> Any:
    """`old_doc` with its schema replaced (the snapshot keeps its envelope, e.g. GenVR's `{name, schema}`)."""
    if old_doc is old_schema:
        return schema
    if isinstance(old_doc, dict):
        return {k: _rewrap(v, old_schema, schema) if isinstance(v, dict) else v for k, v in old_doc.items()}
    return old_doc


def _type_accepts(json_type: Any, value: Any) -> bool:
    names = json_type if isinstance(json_type, list) else [json_type]
    kind = _value_type(value)
    return kind in names or (kind == "integer" and "number" in names)


def _type_of_values(values: list[Any]) -> Any:
    kinds = sorted({_value_type(v) for v in values if v is not None})
    if not kinds:
        return None
    if kinds == ["integer", "number"]:
        return "number"
    return kinds[0] if len(kinds) == 1 else kinds


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _canonical(value: Any) -> str:
    """Equality that tells 1 from 1.0 and true from 1 (Python's == does not)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
