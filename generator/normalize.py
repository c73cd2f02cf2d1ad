"""GenVR schema dialects → one internal description of a model's inputs (`ModelSpec`).

Two dialects reach us (see ../shared/genvr/API.md §9):
- the documented `/api/schema` *parameters* form: `{parameters: {required: [P], optional: [P]}}`, with
  `type: "enum"` + `allowedValues`, `min`/`minimum`, `max`/`maximum`;
- GenVR's internal *inputJson* form: JSON-Schema-like `{type: object, properties, required}` with extensions
  (`x-order`, `fileType`, `display: hidden`, `nullable`, object enums, type lists, ...).

Both are translated property by property by the same code, so every later target (pydantic classes, client
methods, tool specs, ComfyUI nodes) reads one `ModelSpec`. What cannot be understood is either an error that
names the model and the field (`SchemaError`) or a documented fallback recorded as a warning in the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from . import naming

ParamType = Literal["string", "integer", "number", "boolean", "array", "object", "any"]
FileKind = Literal["image", "video", "audio"]

# Keys of the GenVR dialect that carry no meaning for the bindings: UI wiring, server-side actions, prompt
# translation, misspellings GenVR shipped. Ignored on purpose; any key outside KNOWN_* is reported.
IGNORED_MODEL_KEYS = frozenset(
    {
        "title", "linkto", "map", "speech_enabled", "translatable", "transatable", "get_metadata",
        "poromptField", "basic_properties", "bottom_properties", "$schema",
    }
)  # fmt: skip
USED_MODEL_KEYS = frozenset({"type", "properties", "required", "advanced_properties", "description"})
IGNORED_PROPERTY_KEYS = frozenset(
    {
        "title", "action", "extra", "value_action", "default_extra", "default_type", "enum_control",
        "translatable", "x-display",
    }
)  # fmt: skip
USED_PROPERTY_KEYS = frozenset(
    {
        "type", "description", "default", "enum", "allowedValues", "minimum", "maximum", "min", "max",
        "exclusiveMinimum", "exclusiveMaximum", "step", "steps", "format", "fileType", "items", "minItems",
        "maxItems", "minLength", "maxLength", "nullable", "display", "x-order", "name",
    }
)  # fmt: skip

_JSON_TYPES: dict[str, ParamType] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
_FILE_KINDS: tuple[FileKind, ...] = ("image", "video", "audio")
# Warnings that weaken a check (an input accepting any JSON value): said on the console, not only in REPORT.md.
ANY_FALLBACK = "accepted as any JSON value"


class SchemaError(ValueError):
    """A schema the generator cannot translate faithfully. The message names the model and the field."""

    def __init__(self, model: str, message: str, field_name: str | None = None) -> None:
        where = f"{model}.{field_name}" if field_name is not None else model
        super().__init__(f"{where}: {message}")
        self.model = model
        self.field_name = field_name


@dataclass(frozen=True)
class ItemSpec:
    """The element of an array parameter, with its own constraints (nested arrays nest ItemSpecs)."""

    type: ParamType
    is_file: bool = False
    file_type: FileKind | None = None
    enum: tuple[Any, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    items: ItemSpec | None = None


@dataclass(frozen=True)
class Param:
    """One model input, in wire terms and in Python terms."""

    wire_name: str
    python_name: str
    types: tuple[ParamType, ...]  # more than one for GenVR's `type: ["integer", "string"]`
    required: bool  # the caller must pass it (required by the schema and no default)
    send_always: bool  # required by the schema but has a default: the runtime sends the default
    order: int
    description: str | None = None
    title: str | None = None
    has_default: bool = False
    default: Any = None
    nullable: bool = False
    enum: tuple[Any, ...] | None = None
    presets: tuple[tuple[str, str], ...] | None = None  # object enums: label → suggested value
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    step: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    items: ItemSpec | None = None
    is_file: bool = False
    file_type: FileKind | None = None
    hidden: bool = False  # `display: hidden` or only in `advanced_properties`: advanced input

    @property
    def main_type(self) -> ParamType:
        return self.types[0]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the targets need to know about one model."""

    category: str
    subcategory: str
    display_name: str
    description: str
    params: tuple[Param, ...]
    dialect: Literal["inputjson", "parameters", "none"]
    free_form: bool = False  # no schema published: inputs are passed through unchecked
    warnings: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.category}/{self.subcategory}"


def spec_from_data(data: dict[str, Any]) -> ModelSpec:
    """The inverse of `dataclasses.asdict(spec)` after a JSON round trip (tuples came back as lists): how the
    pipeline caches normalized specs without pickle (a cache file never runs code)."""

    def items(d: dict[str, Any] | None) -> ItemSpec | None:
        return None if d is None else ItemSpec(**{**d, "enum": _tuple(d["enum"]), "items": items(d["items"])})

    def param(d: dict[str, Any]) -> Param:
        presets = None if d["presets"] is None else tuple((label, text) for label, text in d["presets"])
        return Param(**{**d, "types": tuple(d["types"]), "enum": _tuple(d["enum"]), "presets": presets, "items": items(d["items"])})

    return ModelSpec(**{**data, "params": tuple(map(param, data["params"])), "warnings": tuple(data["warnings"])})


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


# ---------------------------------------------------------------------------------------------------------------
# Envelope detection


def extract_schema(raw: Any, model: str) -> tuple[Literal["inputjson", "parameters"], dict[str, Any]]:
    """Find the schema inside whatever document the discovery source returned.

    Accepted: the `/api/schema` envelope `{success, data: ...}`; inside or bare, the parameters form
    (`parameters: {required, optional}`), `{inputJson: ...}`, GenVR's cache entry `{name, schema}`, or a bare
    JSON-Schema-like object.
    """
    doc = raw
    if isinstance(doc, dict) and doc.get("success") is False:
        raise SchemaError(model, f"schema endpoint answered success=false: {doc.get('message')!r}")
    if isinstance(doc, dict) and "success" in doc and "data" in doc:
        doc = doc["data"]
    for _ in range(3):  # unwrap {inputJson: ...} / {schema: ...} / {data: ...} nestings
        if not isinstance(doc, dict):
            break
        if isinstance(doc.get("parameters"), dict):
            return "parameters", doc["parameters"]
        if "properties" in doc or doc.get("type") == "object":
            return "inputjson", doc
        for key in ("inputJson", "schema", "data"):
            if isinstance(doc.get(key), dict):
                doc = doc[key]
                break
        else:
            break
    keys = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
    raise SchemaError(model, f"unrecognised schema document (keys: {keys})")


# ---------------------------------------------------------------------------------------------------------------
# Model level


def normalize_model(
    *,
    category: str,
    subcategory: str,
    display_name: str,
    description: str,
    raw_schema: Any | None,
) -> ModelSpec:
    """Translate one discovered model. `raw_schema=None` means GenVR publishes no schema for it."""
    key = f"{category}/{subcategory}"
    display_name, description = _repair_text(display_name), _repair_text(description)  # schema or not
    if raw_schema is None:
        return ModelSpec(
            category=category,
            subcategory=subcategory,
            display_name=display_name,
            description=description,
            params=(),
            dialect="none",
            free_form=True,
            warnings=(f"{key}: no schema published; generated as a free-form input (parameters unchecked)",),
        )
    dialect, schema = extract_schema(_valid_unicode(raw_schema, key), key)
    warnings: list[str] = []
    if dialect == "parameters":
        props, required = _parameters_form_to_properties(schema, key)
        advanced: frozenset[str] = frozenset()
    else:
        props, required, advanced = _inputjson_properties(schema, key, warnings)

    drafts = [_normalize_property(key, name, prop, name in required, name in advanced, warnings) for name, prop in props.items()]
    missing = sorted(set(required) - set(props))
    if missing:
        warnings.append(f"{key}: `required` names {missing}, which are not properties; not enforced")

    python_names = naming.field_names([d["wire_name"] for d in drafts])
    drafts.sort(key=lambda d: (d["order"], d["wire_name"]))
    params = tuple(Param(python_name=python_names[d["wire_name"]], **d) for d in drafts)
    return ModelSpec(
        category=category,
        subcategory=subcategory,
        display_name=display_name,
        description=description,
        params=params,
        dialect=dialect,
        warnings=tuple(warnings),
    )


_FREE_TEXT_KEYS = frozenset({"description", "title", "message"})
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _repair_text(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)


def _valid_unicode(doc: Any, key: str, field_name: str | None = None, parent_key: str | None = None) -> Any:
    """Lone surrogates (legal in JSON escapes, not in UTF-8) are repaired in free text, refused elsewhere."""
    if isinstance(doc, str):
        if not _LONE_SURROGATE.search(doc):
            return doc
        if parent_key in _FREE_TEXT_KEYS:
            return _repair_text(doc)
        raise SchemaError(key, f"{doc.encode('utf-8', 'backslashreplace').decode()!r} is not valid Unicode", field_name)
    if isinstance(doc, list):
        return [_valid_unicode(v, key, field_name, parent_key) for v in doc]
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            name = field_name if field_name is not None or parent_key != "properties" else k
            checked = _valid_unicode(k, key, field_name) if isinstance(k, str) else k
            out[checked] = _valid_unicode(v, key, name, k)
        return out
    return doc


def _inputjson_properties(
    schema: dict[str, Any], key: str, warnings: list[str]
) -> tuple[dict[str, dict[str, Any]], list[str], frozenset[str]]:
    if schema.get("type", "object") != "object":
        raise SchemaError(key, f"top-level type must be 'object', got {schema.get('type')!r}")
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise SchemaError(key, f"'properties' must be an object, got {type(props).__name__}")
    for name, prop in props.items():
        if not isinstance(prop, dict):
            raise SchemaError(key, f"property must be an object, got {type(prop).__name__}", name)
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(key, f"'required' must be a list of names, got {required!r}")
    # UI groups: inputs listed only under `advanced_properties` are advanced, like `display: hidden`.
    groups = {g: schema.get(g) for g in ("basic_properties", "advanced_properties", "bottom_properties")}
    advanced_list = groups["advanced_properties"] or []
    basic = set(groups["basic_properties"] or []) | set(groups["bottom_properties"] or [])
    advanced = frozenset(n for n in advanced_list if isinstance(n, str) and n not in basic)
    unknown = sorted(set(schema) - IGNORED_MODEL_KEYS - USED_MODEL_KEYS - {"basic_properties", "bottom_properties"})
    if unknown:
        warnings.append(f"{key}: unknown schema keys {unknown} ignored")
    return props, list(required), advanced


def _parameters_form_to_properties(
    parameters: dict[str, Any], key: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Turn `{required: [P], optional: [P]}` into inputJson-like properties (list position → order)."""
    props: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    position = 0
    for group in ("required", "optional"):
        entries = parameters.get(group, [])
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise SchemaError(key, f"parameters.{group} must be a list, got {type(entries).__name__}")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise SchemaError(key, f"parameters.{group} entry without a string 'name': {entry!r}")
            name = entry["name"]
            if name in props:
                raise SchemaError(key, "parameter listed twice", name)
            prop = {k: v for k, v in entry.items() if k != "name"}
            if prop.get("type") == "enum":
                values = prop.get("allowedValues", prop.get("enum"))
                inferred = _infer_types(values) if isinstance(values, list) else None
                prop["type"] = list(inferred) if inferred else "string"
                prop["enum"] = values
            elif "allowedValues" in prop and "enum" not in prop:
                prop["enum"] = prop["allowedValues"]
            prop.pop("allowedValues", None)
            prop.setdefault("x-order", position)
            position += 1
            props[name] = prop
            if group == "required":
                required.append(name)
    return props, required


# ---------------------------------------------------------------------------------------------------------------
# Property level


def _normalize_property(
    key: str, name: str, prop: dict[str, Any], in_required: bool, advanced: bool, warnings: list[str]
) -> dict[str, Any]:
    where = f"{key}.{name}"
    unknown = sorted(set(prop) - USED_PROPERTY_KEYS - IGNORED_PROPERTY_KEYS)
    if unknown:
        warnings.append(f"{where}: unknown keys {unknown} ignored")

    types, nullable = _types(key, name, prop, warnings)
    nullable = nullable or prop.get("nullable") is True
    out: dict[str, Any] = {"wire_name": name, "types": types, "nullable": nullable}

    description = prop.get("description")
    out["description"] = description if isinstance(description, str) and description.strip() else None
    title = prop.get("title")
    out["title"] = title if isinstance(title, str) else None
    order = prop.get("x-order")
    out["order"] = order if isinstance(order, int) and not isinstance(order, bool) else 1_000_000
    out["hidden"] = prop.get("display") == "hidden" or advanced

    # Enums: a list constrains the value; a {label: value} object only suggests presets (GenVR pairs it with
    # `enum_control`, a list of labels, on free-text prompts of video templates).
    enum = prop.get("enum")
    out["presets"] = None
    if isinstance(enum, dict):
        if not all(isinstance(v, str) for v in enum.values()):
            raise SchemaError(key, "object enum values must be strings", name)
        out["presets"] = tuple((str(label), value) for label, value in enum.items())
    out.update(_constraints(key, name, prop, types, warnings))
    # `step` is a UI increment, not a multipleOf rule; GenVR once wrote it `steps` (ltxv num_frames).
    step = prop.get("step", prop.get("steps") if _is_number(prop.get("steps")) else None)
    out["step"] = step if isinstance(step, (int, float)) and _is_number(step) and step > 0 else None
    if out["items"] is not None:
        out["is_file"], out["file_type"] = out["items"].is_file, out["items"].file_type
    else:
        # Files: strings with `format: uri` (+ `fileType`); arrays carry them in `items`.
        out["is_file"], out["file_type"] = _file_kind(prop, name)

    # Defaults: kept only when valid, because the class would otherwise carry a default it rejects. Unset
    # inputs are not sent, so the server's own default still applies.
    out["has_default"] = False
    out["default"] = None
    if "default" in prop:
        default = prop["default"]
        problem = _default_problem(out, default)
        if problem is None:
            out["has_default"], out["default"] = True, default
        elif default is not None:
            warnings.append(f"{where}: default {default!r} dropped ({problem})")
    out["required"] = in_required and not out["has_default"]
    out["send_always"] = in_required and out["has_default"]
    return out


def _constraints(
    key: str, name: str, prop: dict[str, Any], types: tuple[ParamType, ...], warnings: list[str]
) -> dict[str, Any]:
    """enum, bounds, lengths, counts and items of a property or of an array's items (same rules for both).
    Constraints no value can meet are a SchemaError: the class would refuse every input."""
    where = f"{key}.{name}"
    out: dict[str, Any] = {"enum": None}
    enum = prop.get("enum")
    if isinstance(enum, list):
        if not enum:
            warnings.append(f"{where}: empty enum ignored")
        else:
            out["enum"] = _enum_values(key, name, enum, types, warnings)
    elif enum is not None and not isinstance(enum, dict):
        raise SchemaError(key, f"'enum' must be a list or an object, got {type(enum).__name__}", name)

    # Numeric bounds: `minimum`/`maximum` (documented) or `min`/`max` (GenVR's own reader accepts both).
    for bound, keys in (("minimum", ("minimum", "min")), ("maximum", ("maximum", "max"))):
        value = next((prop[k] for k in keys if k in prop), None)
        if value is not None and not _is_number(value):
            warnings.append(f"{where}: non-numeric {bound} {value!r} ignored")
            value = None
        if value is not None and not set(types) & {"integer", "number"}:
            warnings.append(f"{where}: {bound} on a {'/'.join(types)} input ignored")
            value = None
        out[bound] = value
    out["exclusive_minimum"] = False
    out["exclusive_maximum"] = False
    for bound, flag in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        excl = prop.get(flag)
        if _is_number(excl) and set(types) & {"integer", "number"}:  # JSON Schema 2019+: the bound itself
            out[bound], out[f"exclusive_{bound}"] = excl, True
        elif excl is True:
            out[f"exclusive_{bound}"] = out[bound] is not None
    low, high = out["minimum"], out["maximum"]
    if low is not None and high is not None:
        if low > high:
            raise SchemaError(key, f"minimum {low} is greater than maximum {high}", name)
        if _empty_range(low, high, out["exclusive_minimum"], out["exclusive_maximum"], integers=set(types) & {"integer", "number"} == {"integer"}):
            shown = f"{'>' if out['exclusive_minimum'] else '>='} {low} and {'<' if out['exclusive_maximum'] else '<='} {high}"
            raise SchemaError(key, f"no value satisfies {shown}", name)

    out["min_length"] = _count(key, name, prop, "minLength")
    out["max_length"] = _count(key, name, prop, "maxLength")
    out["min_items"] = _count(key, name, prop, "minItems")
    out["max_items"] = _count(key, name, prop, "maxItems")
    if "array" not in types:
        if out["min_items"] is not None or out["max_items"] is not None:
            warnings.append(f"{where}: minItems/maxItems on a non-array input ignored")
        out["min_items"] = out["max_items"] = None
    if "string" not in types:
        out["min_length"] = out["max_length"] = None
    for low_key, high_key, label in (("min_length", "max_length", "Length"), ("min_items", "max_items", "Items")):
        if out[low_key] is not None and out[high_key] is not None and out[low_key] > out[high_key]:
            raise SchemaError(key, f"min{label} {out[low_key]} is greater than max{label} {out[high_key]}", name)

    out["items"] = None
    if "array" in types:
        items = prop.get("items", {"type": "string"})
        if not isinstance(items, dict):
            raise SchemaError(key, f"'items' must be an object, got {type(items).__name__}", name)
        item_types, _ = _types(key, f"{name}[]", items, warnings)
        is_file, file_type = _file_kind(items, name)
        # Only the first type of an item type list is kept (GenVR publishes none); see tests/test_oracle.py.
        inner = _constraints(key, name, items, item_types[:1], warnings)
        out["items"] = ItemSpec(type=item_types[0], is_file=is_file, file_type=file_type, **inner)
    return out


def _empty_range(low: float, high: float, excl_low: bool, excl_high: bool, *, integers: bool) -> bool:
    if integers:
        first = math.floor(low) + 1 if excl_low else math.ceil(low)
        last = math.ceil(high) - 1 if excl_high else math.floor(high)
        return first > last
    return low == high and (excl_low or excl_high)


def _types(
    key: str, name: str, prop: dict[str, Any], warnings: list[str]
) -> tuple[tuple[ParamType, ...], bool]:
    raw = prop.get("type")
    if raw is None:
        # From the enum's values; a default is no evidence of the type (no real schema relies on it, and the
        # validators that read the raw schema would not guess it either): without an enum it is Any.
        inferred = _infer_types(prop["enum"]) if isinstance(prop.get("enum"), list) else None
        if inferred is None and prop.get("format") == "uri":
            inferred = ("string",)
        if inferred is None:
            warnings.append(f"{key}.{name}: no type given; {ANY_FALLBACK}")
            return ("any",), False
        raw = list(inferred)
    names = raw if isinstance(raw, list) else [raw]
    types: list[ParamType] = []
    nullable = False
    for t in names:
        if t == "null":
            nullable = True
        elif isinstance(t, str) and t in _JSON_TYPES:
            if _JSON_TYPES[t] not in types:
                types.append(_JSON_TYPES[t])
        elif isinstance(t, str):
            # Documented loud fallback: an unknown type never becomes a guessed class.
            warnings.append(f"{key}.{name}: unknown type {t!r}; {ANY_FALLBACK}")
            return ("any",), nullable
        else:
            raise SchemaError(key, f"'type' must be a string or a list of strings, got {raw!r}", name)
    if not types:
        raise SchemaError(key, f"'type' {raw!r} names no usable type", name)
    return tuple(types), nullable


def _infer_types(values: list[Any]) -> tuple[ParamType, ...] | None:
    """The types of a list of enum values: ints and floats together are numbers; a mixed enum
    (`[5, 10, "auto"]`) is `integer | string`; None when a value is no scalar."""
    kinds = {_value_type(v) for v in values if v is not None}
    if not kinds or kinds & {"array", "object", "any"}:
        return None
    if {"integer", "number"} <= kinds:
        kinds.discard("integer")
    return tuple(t for t in ("integer", "number", "string", "boolean") if t in kinds)


def _value_type(value: Any) -> ParamType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "any"


def _accepts(types: tuple[ParamType, ...], value: Any) -> bool:
    kind = _value_type(value)
    return "any" in types or kind in types or (kind == "integer" and "number" in types)


def _enum_values(
    key: str, name: str, values: list[Any], types: tuple[ParamType, ...], warnings: list[str]
) -> tuple[Any, ...]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, (dict, list)) or (isinstance(v, float) and not math.isfinite(v)):
            raise SchemaError(key, f"enum value {v!r} is not a scalar", name)
        if v is None:
            continue  # `null` in an enum means nullable; handled by the type
        if not _accepts(types, v):
            raise SchemaError(key, f"enum value {v!r} does not match type {'/'.join(types)}", name)
        if any(v == o and type(v) is type(o) for o in out):
            warnings.append(f"{key}.{name}: duplicate enum value {v!r} dropped")
            continue
        out.append(v)
    return tuple(out)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(key: str, name: str, prop: dict[str, Any], k: str) -> int | None:
    value = prop.get(k)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(key, f"'{k}' must be a non-negative integer, got {value!r}", name)
    return value


def _file_kind(prop: dict[str, Any], name: str) -> tuple[bool, FileKind | None]:
    file_type = prop.get("fileType")
    if file_type in _FILE_KINDS:
        return True, file_type
    if prop.get("format") != "uri" and file_type is None:
        return False, None
    # 23 real file inputs have `format: uri` without `fileType`: guess the kind from name and description.
    text = f"{name} {prop.get('description') or ''}".lower()
    for kind in ("video", "audio", "image"):
        if kind in text:
            return True, kind
    if "mask" in text or "img" in text or "photo" in text:
        return True, "image"
    return True, None


def _default_problem(draft: dict[str, Any], default: Any) -> str | None:
    if default is None:
        return None if draft["nullable"] else "null default on a non-nullable input"
    if not _accepts(draft["types"], default):
        return f"not a {'/'.join(draft['types'])}"
    if draft["enum"] is not None and not any(default == v and type(default) is type(v) for v in draft["enum"]):
        if not (isinstance(default, int) and any(isinstance(v, float) and v == default for v in draft["enum"])):
            return "not one of the enum values"
    if _is_number(default):
        lo, hi = draft["minimum"], draft["maximum"]
        if lo is not None and (default < lo or (draft["exclusive_minimum"] and default == lo)):
            return f"below minimum {lo}"
        if hi is not None and (default > hi or (draft["exclusive_maximum"] and default == hi)):
            return f"above maximum {hi}"
    if isinstance(default, str) and draft["max_length"] is not None and len(default) > draft["max_length"]:
        return f"longer than maxLength {draft['max_length']}"
    if isinstance(default, str) and draft["min_length"] is not None and len(default) < draft["min_length"]:
        return f"shorter than minLength {draft['min_length']}"
    if isinstance(default, list):
        if draft["max_items"] is not None and len(default) > draft["max_items"]:
            return f"more than maxItems {draft['max_items']}"
        if draft["min_items"] is not None and len(default) < draft["min_items"]:
            return f"fewer than minItems {draft['min_items']}"
    return None
