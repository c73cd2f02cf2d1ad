"""The differential oracle (issue 10): four deciders judge the same instances of a model's inputs.

- (a) `raw`: the raw GenVR schema under a JSON Schema validator (`jsonschema`, draft 2020-12), after
  `genvr_to_json_schema` maps the GenVR dialect (the mapping is the documented meaning of each extension);
- (b) `pydantic`: the input class `make generate` writes (same in-process path, `constraint_helpers`);
- (c) `simulator`: `simulator.validation.validate_input`, what the simulator answers a generate call with;
- (d) `strict`: the OpenAI strict tool spec under `jsonschema`, judging the instance in its strict form
  (`to_strict_arguments`: every property present, `null` / the `"$default"` sentinel for omitted ones).

Instances come from the *normalized* JSON Schema (`instance_strategy`, a hypothesis strategy for the subset the
generator emits) plus mutated ones (`mutated`: boundary values, wrong kinds, dropped required inputs, unknown
keys). Agreement is required, except for the documented exceptions `judge` names and counts:
- `coerced`: pydantic (lax mode, on purpose for Python callers) accepts a value of another kind (`"5"` for an
  integer) and converts it; accepted only when the body it would send is valid under (a);
- `none_not_sent`: for Python callers `None` on an input that is not nullable means "not given": the class
  accepts it and sends nothing (the body without it is valid under (a));
- `null_means_default`: in the strict form, `null` for an input that is not nullable means "GenVR's default",
  so an instance holding such a null (invalid under (a)) has no strict spelling; (d) does not judge it;
- `routing_field`: an input named like a routing field (`category` on two try-on models) can never be sent
  (the runtime refuses it, the tool specs leave it out); instances setting it are not judged;
- `strict_lengths`: OpenAI strict mode has no `minLength`/`maxLength` (they are in the description), so (d)
  accepts a string of the wrong length that (a) refuses; the dispatcher validates with (b), which refuses it.
"""

from __future__ import annotations

import copy
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from hypothesis import strategies as st
from pydantic import ValidationError

from constraint_helpers import exec_module, planned
from generator.normalize import ModelSpec, normalize_model
from generator.targets import llm_tools_schema
from generator.targets.llm_tools_schema import Unsupported
from generator.targets.python_package import input_class_code, value_schema
from genvr_runtime.tools.dispatcher import DEFAULT_SENTINEL, tool_arguments
from genvr_runtime._common import ROUTING_FIELDS
from simulator.validation import InputError, validate_input

_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object", "null"})


# ---------------------------------------------------------------------------------------------------------------
# (a) the GenVR dialect as JSON Schema


def genvr_to_json_schema(raw: dict[str, Any]) -> dict[str, Any]:
    """What a GenVR inputJson schema means, in standard JSON Schema (draft 2020-12):

    - `min`/`max` → `minimum`/`maximum` (when the standard key is absent); `exclusiveMinimum: true` (draft-4
      style) → a numeric `exclusiveMinimum` equal to the minimum;
    - `nullable: true` → `null` added to `type` (and to a list `enum`);
    - an object enum `{label: text}` (presets) constrains nothing → removed;
    - an array without `items` holds strings (every GenVR array is a list of URLs or texts);
    - no `type` with `format: uri` → a string (a file URL); an unknown `type`, or none without an enum → any
      value but null (the generator's documented `Any` fallback; null is a value only where `nullable` says so);
    - `required`: names that are not properties, and properties with a default that meets their own
      constraints (the server fills them), are not required;
    - no input beyond the properties (`additionalProperties: false`, as GenVR's validation does);
    - every other GenVR key (`x-order`, `step`, `fileType`, `display`, ...) is an annotation.
    """
    props = raw.get("properties", {})
    mapped = {name: _map_property(prop, top=True) for name, prop in props.items()}

    def filled_by_server(name: str) -> bool:
        return "default" in props[name] and jsonschema.Draft202012Validator(mapped[name]).is_valid(props[name]["default"])

    required = [n for n in raw.get("required", []) if n in props and not filled_by_server(n)]
    return {
        "type": "object",
        "properties": mapped,
        "required": required,
        "additionalProperties": False,
    }


def _map_property(prop: dict[str, Any], *, top: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    declared = prop.get("type")
    types = declared if isinstance(declared, list) else ([declared] if declared is not None else None)
    if types is not None and all(t in _JSON_TYPES for t in types):
        out["type"] = list(types)
    elif types is None and prop.get("format") == "uri":
        out["type"] = ["string"]
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        out["enum"] = list(enum)
    for std, alias in (("minimum", "min"), ("maximum", "max")):
        value = prop.get(std, prop.get(alias))
        if value is not None:
            out[std] = value
    for flag, std in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = prop.get(flag)
        if value is True and std in out:
            out[flag] = out.pop(std)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[flag] = value
    for key in ("minLength", "maxLength", "minItems", "maxItems"):
        if key in prop:
            out[key] = prop[key]
    if "array" in (types or []):
        items = prop.get("items", {"type": "string"})
        out["items"] = _map_property(items, top=False)
    if prop.get("nullable") is not True and "type" not in out and "enum" not in out:
        out["not"] = {"type": "null"}  # no (known) type: any value but null, which only nullable inputs take
    if prop.get("nullable") is True:
        if "type" in out and "null" not in out["type"]:
            out["type"].append("null")
        if "enum" in out:
            out["enum"].append(None)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Fuzzed GenVR-dialect schemas

NAMES = ("prompt", "seed", "steps", "ratio", "images", "mode", "strength", "bodyControl", "negative_prompt", "tags", "fps", "loop")
_TEXT = st.text(alphabet="ab1 :é", min_size=0, max_size=6)
_INT = st.integers(-20, 40)
_FLOAT = st.one_of(st.integers(-80, 160).map(lambda n: n / 4), st.floats(-50, 50, allow_nan=False, allow_infinity=False))


@st.composite
def _bounds(draw: st.DrawFn, prop: dict[str, Any], number: st.SearchStrategy[Any], integral: bool) -> None:
    low = draw(st.none() | number)
    high = None if draw(st.booleans()) else (low if low is not None else 0) + draw(st.integers(0, 10) if integral else _FLOAT.map(abs))
    spelled = draw(st.sampled_from(("minimum", "min")))
    if low is not None:
        prop[spelled] = low
        if draw(st.integers(0, 3)) == 0:
            prop["exclusiveMinimum"] = True
    if high is not None:
        prop["maximum" if spelled == "minimum" else "max"] = high
        if draw(st.integers(0, 3)) == 0:
            prop["exclusiveMaximum"] = high
            prop.pop("maximum", None), prop.pop("max", None)


@st.composite
def genvr_property(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kinds = ["string", "integer", "number", "boolean"] + (["array"] if depth < 2 else [])
    kinds += ["mixed_enum", "int_or_str", "presets", "untyped"] if depth == 0 else []
    kind = draw(st.sampled_from(kinds))
    prop: dict[str, Any] = {}
    if kind == "string":
        prop["type"] = "string"
        if draw(st.booleans()):
            prop["enum"] = draw(st.lists(_TEXT, min_size=1, max_size=4, unique=True))
        else:
            low = draw(st.none() | st.integers(0, 3))
            if low is not None:
                prop["minLength"] = low
            if draw(st.booleans()):
                prop["maxLength"] = (low or 0) + draw(st.integers(0, 4))
            if draw(st.integers(0, 4)) == 0:
                prop["format"], prop["fileType"] = "uri", "image"
    elif kind == "integer":
        prop["type"] = "integer"
        if draw(st.integers(0, 2)) == 0:
            prop["enum"] = draw(st.lists(_INT, min_size=1, max_size=4, unique=True))
        else:
            draw(_bounds(prop, _INT, True))
    elif kind == "number":
        prop["type"] = "number"
        if draw(st.integers(0, 2)) == 0:
            prop["enum"] = draw(st.lists(_FLOAT | _INT, min_size=1, max_size=4, unique=True))
        else:
            draw(_bounds(prop, _FLOAT, False))
    elif kind == "boolean":
        prop["type"] = "boolean"
    elif kind == "array":
        prop["type"] = "array"
        if draw(st.integers(0, 4)):
            prop["items"] = draw(genvr_property(depth + 1))
        low = draw(st.none() | st.integers(0, 2))
        if low is not None:
            prop["minItems"] = low
        if draw(st.booleans()):
            prop["maxItems"] = (low or 0) + draw(st.integers(0, 3))
    elif kind == "mixed_enum":  # no type: inferred from the values
        prop["enum"] = draw(st.lists(_INT | _TEXT, min_size=2, max_size=4, unique=True))
    elif kind == "int_or_str":
        prop["type"] = ["integer", "string"]
        if draw(st.booleans()):
            prop["enum"] = draw(st.lists(_INT | _TEXT, min_size=1, max_size=4, unique=True))
    elif kind == "presets":
        labels = draw(st.lists(_TEXT, min_size=1, max_size=3, unique=True))
        prop.update(type="string", enum={label: f"text {i}" for i, label in enumerate(labels)}, enum_control=labels)
    elif kind == "untyped":
        prop["type"] = draw(st.sampled_from(["tensor", None]))
        if prop["type"] is None:
            del prop["type"]
    if depth == 0:
        if draw(st.integers(0, 3)) == 0:
            prop["nullable"] = True
        if draw(st.integers(0, 3)) == 0:
            prop["default"] = draw(_INT | _TEXT | st.booleans() | st.none())
    return prop


@st.composite
def genvr_schema(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    props = {name: {**draw(genvr_property()), "x-order": i} for i, name in enumerate(names)}
    required = draw(st.lists(st.sampled_from(names + ["not_a_property"]), max_size=3, unique=True))
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required or draw(st.booleans()):
        schema["required"] = required
    return schema


# ---------------------------------------------------------------------------------------------------------------
# Instances from the normalized JSON Schema, and mutations


def normalized_json_schema(spec: ModelSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {p.wire_name: value_schema(p, p.types, p.nullable) for p in spec.params},
        "required": [p.wire_name for p in spec.params if p.required],
    }


def value_strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else ["string", "integer", "boolean"]
    return st.one_of([_typed_strategy(schema, t) for t in types])


def _typed_strategy(schema: dict[str, Any], t: str) -> st.SearchStrategy[Any]:
    if t == "null":
        return st.none()
    if t == "boolean":
        return st.booleans()
    if t == "string":
        return st.text(alphabet="ab1 é", min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", schema.get("minLength", 0) + 5))
    if t in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        excl_low, excl_high = "exclusiveMinimum" in schema, "exclusiveMaximum" in schema
        ints = st.integers(
            None if low is None else (math.floor(low) + 1 if excl_low else math.ceil(low)),
            None if high is None else (math.ceil(high) - 1 if excl_high else math.floor(high)),
        ).filter(lambda n: abs(n) < 10**6)
        if t == "integer":
            return ints
        floats = st.floats(low, high, exclude_min=excl_low and low is not None, exclude_max=excl_high and high is not None, allow_nan=False, allow_infinity=False)
        return ints | floats if _has_int(low, high, excl_low, excl_high) else floats
    if t == "array":
        low = schema.get("minItems", 0)
        return st.lists(value_strategy(schema.get("items", {})), min_size=low, max_size=schema.get("maxItems", low + 3))
    return st.just({})


def _has_int(low: float | None, high: float | None, excl_low: bool, excl_high: bool) -> bool:
    first = -math.inf if low is None else (math.floor(low) + 1 if excl_low else math.ceil(low))
    last = math.inf if high is None else (math.ceil(high) - 1 if excl_high else math.floor(high))
    return first <= last


def instance_strategy(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema["properties"]
    required = {n: value_strategy(props[n]) for n in schema["required"]}
    optional = {n: value_strategy(p) for n, p in props.items() if n not in schema["required"]}
    return st.fixed_dictionaries(required, optional=optional)


_ODD_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 1, 1.5, -0.5, 2**40, "5", "", "auto", "x" * 40, [], ["a"], [1, 2], [[1]], {"a": 1})


@st.composite
def mutated(draw: st.DrawFn, instance: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(instance)
    props = schema["properties"]
    action = draw(st.sampled_from(("odd", "edge", "drop", "unknown")))
    name = draw(st.sampled_from(sorted(props)))
    if action == "odd":
        out[name] = draw(st.sampled_from(_ODD_VALUES))
    elif action == "edge":
        out[name] = draw(st.sampled_from(_edges(props[name])))
    elif action == "drop":
        out.pop(name, None)
    else:
        out["zz_unknown"] = 1
    return out


def _edges(schema: dict[str, Any]) -> list[Any]:
    """Values on and just past each bound of a value (for arrays, of its items too)."""
    edges: list[Any] = [None]
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in schema:
            v = schema[key]
            edges += [v, v - 1, v + 1, v - 0.5, v + 0.5, float(v)]
    for key in ("minLength", "maxLength"):
        if key in schema:
            edges += ["a" * schema[key], "a" * (schema[key] + 1), "a" * max(schema[key] - 1, 0)]
    for key in ("minItems", "maxItems"):
        if key in schema:
            item = _edges(schema.get("items", {}))[-1]
            edges += [[item] * schema[key], [item] * (schema[key] + 1), [item] * max(schema[key] - 1, 0)]
    if "items" in schema:
        edges += [[e] for e in _edges(schema["items"])]
    for e in schema.get("enum", []):
        if isinstance(e, (int, float)) and not isinstance(e, bool):
            edges += [e + 0.5, str(e), float(e)]
        elif isinstance(e, str):
            edges += [e + "x", e.upper()]
    return edges


# ---------------------------------------------------------------------------------------------------------------
# The four deciders and the judge


@dataclass
class Tally:
    schemas: int = 0
    refused_schemas: int = 0
    instances: int = 0
    disagreements: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        pairs = ", ".join(f"{k} {v}" for k, v in sorted(self.disagreements.items())) or "none"
        allowed = ", ".join(f"{k} {v}" for k, v in sorted(self.exceptions.items())) or "none"
        return (
            f"oracle: {self.schemas} schemas ({self.refused_schemas} refused by the generator), {self.instances} instances judged "
            f"({self.verdicts['valid']} valid, {self.verdicts['invalid']} invalid); disagreements: {pairs}; documented exceptions: {allowed}"
        )


@dataclass
class Deciders:
    """Everything built once per schema."""

    raw: dict[str, Any]
    spec: ModelSpec
    cls: type[Any]
    mapped: jsonschema.Draft202012Validator
    strict: jsonschema.Draft202012Validator | None
    normalized: dict[str, Any]

    @classmethod
    def build(cls, raw: dict[str, Any], key: str = "imagegen/fuzzed") -> Deciders:
        category, subcategory = key.split("/")
        spec = normalize_model(category=category, subcategory=subcategory, display_name="Fuzzed", description="", raw_schema=raw)
        try:
            strict_schema = llm_tools_schema.parameters(spec, "strict")
            strict: jsonschema.Draft202012Validator | None = jsonschema.Draft202012Validator(strict_schema)
        except Unsupported:
            strict = None
        model = planned(spec)
        module = exec_module(input_class_code(model))
        input_cls = getattr(module, model.class_name)
        input_cls.model_rebuild()  # complete while the module is importable, then let it go (10,000 schemas)
        sys.modules.pop(module.__name__, None)
        return cls(
            raw=raw,
            spec=spec,
            cls=input_cls,
            mapped=jsonschema.Draft202012Validator(genvr_to_json_schema(raw)),
            strict=strict,
            normalized=normalized_json_schema(spec),
        )

    def pydantic(self, instance: dict[str, Any]) -> dict[str, Any] | None:
        """The body the class would send, or None when it refuses the instance."""
        try:
            return dict(self.cls.model_validate(instance).to_api_params())
        except ValidationError:
            return None

    def simulator(self, instance: dict[str, Any]) -> bool:
        try:
            validate_input(self.raw, instance, reject_unknown=True)
        except InputError:
            return False
        return True


def to_strict_arguments(spec: ModelSpec, instance: dict[str, Any]) -> dict[str, Any]:
    """The arguments a strict-mode model sends for `instance`: every property; an omitted one as the
    sentinel when the input is nullable (null would be sent as null), else as null."""
    out = {k: v for k, v in instance.items()}
    for p in llm_tools_schema.tool_params(spec):
        if p.wire_name not in out and not p.required:  # a missing required input stays missing (refused)
            out[p.wire_name] = DEFAULT_SENTINEL if p.nullable else None
    return out


def judge(d: Deciders, instance: dict[str, Any], tally: Tally) -> list[str]:
    """Judge one instance; returns the disagreements (also counted in `tally`)."""
    if set(instance) & ROUTING_FIELDS:
        tally.exceptions["routing_field"] += 1  # cannot be sent at all (README: `category` inputs); not judged
        return []
    tally.instances += 1
    raw_ok = d.mapped.is_valid(instance)
    tally.verdicts["valid" if raw_ok else "invalid"] += 1
    problems: list[str] = []
    nullable = {p.wire_name for p in d.spec.params if p.nullable}
    if d.simulator(instance) != raw_ok:
        problems.append("raw/simulator")
    body = d.pydantic(instance)
    if body is None and raw_ok:
        problems.append("raw/pydantic")
    elif body is not None and not raw_ok:
        nulls_dropped = {k: v for k, v in instance.items() if v is not None or k in nullable}
        if body == nulls_dropped and d.mapped.is_valid(body):
            tally.exceptions["none_not_sent"] += 1
        elif d.mapped.is_valid(body) and body != instance:
            tally.exceptions["coerced"] += 1
        else:
            problems.append("raw/pydantic")
    elif body is not None and not d.mapped.is_valid(body):
        problems.append("raw/pydantic-body")
    if d.strict is not None and any(v is None and k not in nullable for k, v in instance.items()):
        tally.exceptions["null_means_default"] += 1  # no strict spelling: null there means "GenVR's default"
    elif d.strict is not None:
        arguments = to_strict_arguments(d.spec, instance)
        strict_ok = d.strict.is_valid(arguments)
        if strict_ok != raw_ok:
            errors = list(jsonschema.Draft202012Validator(genvr_to_json_schema(d.raw)).iter_errors(instance))
            if strict_ok and errors and all(e.validator in ("minLength", "maxLength") for e in errors):
                tally.exceptions["strict_lengths"] += 1
            else:
                problems.append("raw/strict")
        elif strict_ok and tool_arguments(d.cls, arguments) != instance:
            problems.append("strict/round-trip")  # the dispatcher must turn the strict arguments back into the instance
    for p in problems:
        tally.disagreements[p] += 1
    return problems


__all__ = ["Deciders", "Tally", "genvr_schema", "genvr_to_json_schema", "instance_strategy", "judge", "mutated", "normalized_json_schema"]
