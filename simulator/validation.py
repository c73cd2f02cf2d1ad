"""Model input checks against a model's inputJson. Errors name the field (the 400 message)."""

from __future__ import annotations

from typing import Any

# Fields of the generate body that route the call; never model parameters (API.md §9.9: a model parameter named
# `category` collides with the routing field, and the routing meaning wins here).
ROUTING_FIELDS = frozenset({"uid", "category", "subcategory"})


class InputError(ValueError):
    """A model input the simulator refuses; `str(error)` is the message sent to the client."""


def _type_ok(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "integer":
        # JSON does not tell 5 from 5.0 (GenVR's backend is JavaScript), so an integral float passes.
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if json_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "array":
        return isinstance(value, list)
    if json_type == "object":
        return isinstance(value, dict)
    return True  # a type we do not know: do not refuse what the real server might accept


def _enum_ok(value: Any, enum: list[Any]) -> bool:
    # Same value and same JSON kind: "5" is not 5, True is not 1.
    return any(value == e and isinstance(value, bool) == isinstance(e, bool) and isinstance(value, str) == isinstance(e, str)
               for e in enum)


def _bound(prop: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    value = next((prop[k] for k in keys if k in prop), None)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def check_value(field: str, value: Any, prop: dict[str, Any]) -> None:
    declared = prop.get("type")
    types = [t for t in declared if isinstance(t, str)] if isinstance(declared, list) else ([declared] if isinstance(declared, str) else [])
    enum = prop.get("enum")
    if value is None:
        if prop.get("nullable") is True or "null" in types or (isinstance(enum, list) and None in enum):
            return
        raise InputError(f"invalid input: field '{field}' must not be null")
    # No type given: the enum (if any) decides, like JSON Schema; a `format: uri` input is a string (a file URL).
    types = [t for t in types if t != "null"] or (["string"] if declared is None and prop.get("format") == "uri" else [])
    if types and not any(_type_ok(value, t) for t in types):
        raise InputError(f"invalid input: field '{field}' must be of type {' or '.join(types)}, got {type(value).__name__}")
    # Object enums ({label: prompt}) are preset suggestions only: any string passes.
    if isinstance(enum, list) and enum and not _enum_ok(value, enum):
        shown = ", ".join(repr(e) for e in enum[:10]) + (", ..." if len(enum) > 10 else "")
        raise InputError(f"invalid input: field '{field}' must be one of [{shown}], got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = _bound(prop, ("minimum", "min")), _bound(prop, ("maximum", "max"))
        excl_low, excl_high = prop.get("exclusiveMinimum"), prop.get("exclusiveMaximum")
        if isinstance(excl_low, (int, float)) and not isinstance(excl_low, bool):
            low, excl_low = excl_low, True
        if isinstance(excl_high, (int, float)) and not isinstance(excl_high, bool):
            high, excl_high = excl_high, True
        if low is not None and (value < low or (excl_low is True and value == low)):
            raise InputError(f"invalid input: field '{field}' must be {'>' if excl_low is True else '>='} {low}, got {value}")
        if high is not None and (value > high or (excl_high is True and value == high)):
            raise InputError(f"invalid input: field '{field}' must be {'<' if excl_high is True else '<='} {high}, got {value}")
    if isinstance(value, str):
        min_len, max_len = prop.get("minLength"), prop.get("maxLength")
        if isinstance(min_len, int) and len(value) < min_len:
            raise InputError(f"invalid input: field '{field}' is shorter than {min_len} characters ({len(value)})")
        if isinstance(max_len, int) and len(value) > max_len:
            raise InputError(f"invalid input: field '{field}' is longer than {max_len} characters ({len(value)})")
    if isinstance(value, list):
        min_items, max_items = prop.get("minItems"), prop.get("maxItems")
        if isinstance(min_items, int) and len(value) < min_items:
            raise InputError(f"invalid input: field '{field}' needs at least {min_items} item(s), got {len(value)}")
        if isinstance(max_items, int) and len(value) > max_items:
            raise InputError(f"invalid input: field '{field}' allows at most {max_items} item(s), got {len(value)}")
        # An array without `items` holds strings (URLs, texts); a value of an untyped input is not checked.
        items = prop.get("items", {"type": "string"}) if "array" in types else None
        if isinstance(items, dict):
            for i, item in enumerate(value):
                check_value(f"{field}[{i}]", item, items)


def validate_input(schema: dict[str, Any] | None, params: dict[str, Any], *, reject_unknown: bool) -> None:
    """Raise `InputError` for the first problem in `params` (the body minus routing fields)."""
    if schema is None:
        return  # no schema in the snapshot: accept any parameters
    props = schema.get("properties")
    props = props if isinstance(props, dict) else {}
    for name in sorted(params):
        prop = props.get(name)
        if isinstance(prop, dict):
            check_value(name, params[name], prop)
        elif reject_unknown:
            raise InputError(f"invalid input: unknown field '{name}'")
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        prop = props.get(name)
        # Only real properties are enforced (36 models require names that are not properties); a required
        # property with a default that meets its own constraints is filled by the server; a routing-colliding name can never be sent.
        if not isinstance(prop, dict) or _usable_default(name, prop) or name in ROUTING_FIELDS:
            continue
        if name not in params:
            raise InputError(f"invalid input: missing required field '{name}'")


def _usable_default(name: str, prop: dict[str, Any]) -> bool:
    if "default" not in prop:
        return False
    try:
        check_value(name, prop["default"], prop)
    except InputError:
        return False
    return True
