"""inputJson → documented `parameters` form (API.md §9.1's suggested mapping), written independently of generator/."""

from __future__ import annotations

from typing import Any

# Keys carried over from an inputJson property unchanged (the 2026 GenVR client reads all of these, API.md §3.3).
_COPIED = ("description", "default", "minimum", "maximum", "step", "format", "fileType",
           "items", "maxItems", "minItems", "maxLength")


def _order_key(item: tuple[str, dict[str, Any]]) -> tuple[float, str]:
    name, prop = item
    order = prop.get("x-order")
    # Missing/odd x-order sorts last; ties (8 models have duplicates) break by name.
    return (float(order) if isinstance(order, (int, float)) and not isinstance(order, bool) else float("inf"), name)


def convert_property(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One parameter object: `type: "enum"` + `allowedValues` for list enums, otherwise the inputJson type."""
    param: dict[str, Any] = {"name": name}
    enum = prop.get("enum")
    if isinstance(enum, list):
        param["type"] = "enum"
        param["allowedValues"] = list(enum)  # values keep their JSON type (integer enums stay integers)
    else:
        # Object enums ({label: prompt}) are suggestions for a free string: keep the real type, drop the enum.
        param["type"] = prop.get("type", "string")
    for key in _COPIED:
        if key in prop:
            param[key] = prop[key]
    return param


def to_parameters(schema: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """`{required: [P], optional: [P]}`; required = names in `schema.required` that exist as properties."""
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    required_names = schema.get("required")
    required_set = {n for n in required_names if isinstance(n, str)} if isinstance(required_names, list) else set()
    out: dict[str, list[dict[str, Any]]] = {"required": [], "optional": []}
    for name, prop in sorted(props.items(), key=_order_key):
        if not isinstance(prop, dict):
            continue
        out["required" if name in required_set else "optional"].append(convert_property(name, prop))
    return out


def schema_body(category: str, subcategory: str, schema: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The `/api/schema/:category/:subcategory` reply in the chosen dialect."""
    data: dict[str, Any] = {"category": category, "subcategory": subcategory}
    if dialect == "parameters":
        data["parameters"] = to_parameters(schema)
    else:
        # No real envelope is public; `schema` carries the inputJson exactly as GenVR's cache holds it.
        data["schema"] = schema
    return {"success": True, "data": data, "message": "Schema retrieved successfully"}
