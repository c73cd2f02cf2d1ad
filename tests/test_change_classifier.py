"""The breaking-change classifier (generator/changes.py) against an independent oracle.

Hypothesis evolves real snapshot schemas (models and inputs added and removed, required toggled, enums widened
and narrowed, bounds tightened and loosened, types changed, null allowed or not...). The oracle never looks at
`ModelSpec`: it maps each raw schema to JSON Schema (the GenVR dialect rules of the README, written again here)
and calls a model's evolution breaking iff it finds an input object that `jsonschema` accepts under the old
schema and refuses under the new one. Candidate objects vary one input at a time over the boundary values of
both schemas (enum values, bounds ± 1 and ± 0.5, length limits ± 1, one value of every JSON type), which is
exhaustive for constraints that each concern one input, as all of GenVR's do.

`make test` runs a bounded number of evolutions; `make fuzz` sets GENVR_FUZZ_EXAMPLES (e.g. 10000) and prints
the counts. Any disagreement fails the test and is listed (goal: 0).
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from generator.changes import compare, param_changes
from generator.discovery import Discovery, SnapshotSource
from generator.pipeline import build_specs
from generator_helpers import SNAPSHOT, snapshot_specs

FUZZ_EXAMPLES = int(os.environ.get("GENVR_FUZZ_EXAMPLES", "0"))
EXAMPLES = FUZZ_EXAMPLES or 150
SCALARS = ("string", "integer", "number", "boolean")


@cache
def snapshot() -> Discovery:
    return SnapshotSource(SNAPSHOT).load()


@cache
def model_entries() -> dict[str, dict[str, Any]]:
    return {f"{m['category']}/{m['subcategory']}": m for m in snapshot().models_document["data"]}


# ---------------------------------------------------------------------------------------------------------------
# The oracle: raw GenVR schema → JSON Schema, then a search for an object valid before and invalid after


def oracle_schema(doc: Any) -> dict[str, Any]:
    """The README's dialect rules: `nullable` adds null; object enums and `x-order`/UI keys constrain nothing;
    `required` names that are no input, or whose input has a valid default, are not required of the caller;
    no input beyond the listed ones (the classes forbid extras); arrays without `items` hold strings."""
    if doc is None:
        return {"type": "object"}  # no schema published: anything goes
    schema = doc["schema"] if "schema" in doc else doc
    raw_props: dict[str, Any] = schema.get("properties", {})
    props = {name: _oracle_property(prop) for name, prop in raw_props.items()}
    required = []
    for name in schema.get("required") or []:
        if name not in props or name in required:
            continue
        if "default" in raw_props[name] and Draft202012Validator(props[name]).is_valid(raw_props[name]["default"]):
            continue
        required.append(name)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def _oracle_property(prop: dict[str, Any]) -> dict[str, Any]:
    raw = prop.get("type")
    types = [t for t in (raw if isinstance(raw, list) else [raw]) if t != "null"]
    nullable = prop.get("nullable") is True or (isinstance(raw, list) and "null" in raw)
    out: dict[str, Any] = {"type": types + (["null"] if nullable else [])}
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        out["enum"] = list(prop["enum"]) + ([None] if nullable else [])
    for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        if key in prop:
            out[key] = prop[key]
    if "array" in types:
        out["items"] = {"type": (prop.get("items") or {}).get("type", "string")}
    return out


def _candidates(*props: dict[str, Any]) -> list[Any]:
    values: list[Any] = [None, True, False, "", "a", 0, 1, -1, 0.5, 1.5, -1.5, 10**9, -(10**9), 1e9 + 0.5, [], ["a"], [1], {}]
    for prop in props:
        values += [v for v in prop.get("enum", [])]
        for key in ("minimum", "maximum"):
            if key in prop:
                b = prop[key]
                values += [b, b - 1, b + 1, b - 0.5, b + 0.5]
        for key in ("minLength", "maxLength"):
            if key in prop:
                values += ["x" * n for n in (prop[key] - 1, prop[key], prop[key] + 1) if n >= 0]
        for key in ("minItems", "maxItems"):
            if key in prop:
                values += [[item] * n for n in (prop[key] - 1, prop[key], prop[key] + 1) if n >= 0 for item in ("a", 1)]
    unique: dict[str, Any] = {}
    for v in values:
        unique.setdefault(json.dumps(v, sort_keys=True), v)
    return list(unique.values())


def breaking_witness(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """An input object `old` accepts and `new` refuses (None for a model that does not exist), or None."""
    if old is None:
        return None
    before = Draft202012Validator(old)
    after = Draft202012Validator(new if new is not None else False)
    old_props, new_props = old.get("properties", {}), (new or {}).get("properties", {})
    base: dict[str, Any] = {}
    for name in old.get("required", []):
        prop = old_props[name]
        value = next((v for v in _candidates(prop) if Draft202012Validator(prop).is_valid(v)), None)
        if value is None and not Draft202012Validator(prop).is_valid(None):
            return None  # the old schema accepts nothing
        base[name] = value
    instances = [base] + [
        {**base, name: v}
        for name in sorted(old_props if old_props else {"any_input": None})
        for v in _candidates(old_props.get(name, {}), new_props.get(name, {}))
    ]
    return next((i for i in instances if before.is_valid(i) and not after.is_valid(i)), None)


# ---------------------------------------------------------------------------------------------------------------
# Evolutions of real schemas


@dataclass
class Evolution:
    before: dict[str, Any]  # model key → raw schema document (None: no schema published)
    after: dict[str, Any]
    steps: list[str] = field(default_factory=list)


def _scalar_value(kind: str, i: int) -> Any:
    return {"string": f"new value {i}", "integer": 1000 + i, "number": 1000.5 + i, "boolean": True}[kind]


def _single_type(prop: dict[str, Any]) -> str | None:
    t = prop.get("type")
    return t if isinstance(t, str) else None


def _has_enum(prop: dict[str, Any]) -> bool:
    return isinstance(prop.get("enum"), list) and _single_type(prop) is not None


def _numeric(prop: dict[str, Any]) -> bool:
    return _single_type(prop) in ("integer", "number")


# Mutations pick an input they can change (the others would be no-ops).
_APPLIES_TO = {
    "widen enum": _has_enum, "narrow enum": lambda prop: _has_enum(prop) and len(prop["enum"]) > 1,
    "drop enum": _has_enum, "tighten bound": _numeric, "loosen bound": _numeric, "add bound": _numeric,
    "drop bound": lambda prop: _numeric(prop) and ("minimum" in prop or "maximum" in prop),
    "tighten length": lambda prop: _single_type(prop) in ("string", "array"),
    "loosen length": lambda prop: "maxLength" in prop or "maxItems" in prop,
    "change default": lambda prop: "default" in prop and _single_type(prop) is not None,
    "disallow null": lambda prop: prop.get("nullable") is True,
    "allow null": lambda prop: prop.get("nullable") is not True,
}


def _mutate(draw: st.DrawFn, evo: Evolution, i: int) -> None:
    keys = sorted(evo.after)
    kinds = ["remove model", "add model", "add input", "remove input", "toggle required", "widen enum", "narrow enum",
             "drop enum", "tighten bound", "loosen bound", "add bound", "drop bound", "change type", "allow null", "disallow null",
             "change description", "tighten length", "loosen length", "change default"]
    kind = draw(st.sampled_from(kinds))
    if kind == "remove model":
        if len(keys) > 1:
            key = draw(st.sampled_from(keys))
            del evo.after[key]
            evo.steps.append(f"{key}: model removed")
        return
    if kind == "add model":
        spare = sorted(set(model_entries()) - set(evo.after) - set(evo.before))
        key = draw(st.sampled_from(spare))
        evo.after[key] = copy.deepcopy(snapshot().schemas[key])
        evo.steps.append(f"{key}: model added")
        return
    key = draw(st.sampled_from(keys))
    doc = evo.after[key]
    if doc is None:
        return
    schema = doc["schema"]
    props: dict[str, Any] = schema.setdefault("properties", {})
    required: list[str] = schema.setdefault("required", [])
    if kind == "add input":
        new_type = draw(st.sampled_from(SCALARS))
        name = f"added_input_{i}"
        new: dict[str, Any] = {"type": new_type, "x-order": 900 + i, "description": "added"}
        if new_type in ("string", "integer") and draw(st.booleans()):
            new["enum"] = [_scalar_value(new_type, i), _scalar_value(new_type, i + 1)]
        elif new_type in ("integer", "number") and draw(st.booleans()):
            new["minimum"], new["maximum"] = 0, 10
        props[name] = new
        if draw(st.booleans()):
            required.append(name)
        evo.steps.append(f"{key}.{name}: added {new} required={name in required}")
        return
    fits: Callable[[dict[str, Any]], bool] = _APPLIES_TO.get(kind, lambda prop: True)
    names = sorted(n for n, prop in props.items() if fits(prop))
    if not names:
        return
    name = draw(st.sampled_from(names))
    prop = props[name]
    t = _single_type(prop)
    step = f"{key}.{name}: {kind}"
    if kind == "remove input":
        del props[name]
    elif kind == "toggle required":
        if name in required:
            required.remove(name)
        else:
            required.append(name)
    elif kind in ("widen enum", "narrow enum", "drop enum"):
        enum = prop.get("enum")
        if not isinstance(enum, list) or t is None:
            return
        if kind == "widen enum":
            enum.append(_scalar_value(t, i))
        elif kind == "narrow enum" and len(enum) > 1:
            enum.remove(draw(st.sampled_from(enum)))
        elif kind == "drop enum":
            del prop["enum"]
        else:
            return
    elif kind in ("tighten bound", "loosen bound", "add bound", "drop bound"):
        if t not in ("integer", "number"):
            return
        bound = draw(st.sampled_from(["minimum", "maximum"]))
        delta = draw(st.sampled_from([1, 2, 10] if t == "integer" else [0.5, 1, 2.5]))
        if kind == "drop bound":
            if bound not in prop:
                return
            del prop[bound]
        elif kind == "add bound":
            if bound in prop:
                return
            anchor = prop.get("default") if isinstance(prop.get("default"), (int, float)) and not isinstance(prop.get("default"), bool) else 0
            prop[bound] = anchor + (delta if bound == "maximum" else -delta) * draw(st.sampled_from([-1, 1]))
        else:
            if bound not in prop:
                return
            inward = (kind == "tighten bound") == (bound == "minimum")
            prop[bound] = prop[bound] + (delta if inward else -delta)
        if "minimum" in prop and "maximum" in prop and prop["minimum"] > prop["maximum"]:
            prop[bound] = prop["maximum" if bound == "minimum" else "minimum"]  # keep the schema valid
        step += f" → {bound} {prop.get(bound)}"
    elif kind == "change type":
        target = draw(st.sampled_from([s for s in SCALARS if s != t]))
        for key_ in ("enum", "enum_control", "minimum", "maximum", "minLength", "maxLength", "items", "minItems",
                     "maxItems", "default", "format", "fileType", "step"):
            prop.pop(key_, None)
        prop["type"] = target
        step += f" → {target}"
    elif kind == "allow null":
        prop["nullable"] = True
    elif kind == "disallow null":
        del prop["nullable"]
    elif kind == "change description":
        prop["description"] = f"{prop.get('description', '')} (changed)"
    elif kind in ("tighten length", "loosen length"):
        limit = "maxLength" if t == "string" else "maxItems" if t == "array" else None
        if limit is None:
            return
        current = prop.get(limit)
        if kind == "tighten length":
            prop[limit] = max((current if current is not None else 20) - draw(st.integers(1, 5)), prop.get(limit.replace("max", "min"), 0))
        elif current is None:
            return
        else:
            del prop[limit]
        step += f" → {prop.get(limit)}"
    elif kind == "change default":
        if "default" not in prop or t is None:
            return
        prop["default"] = _scalar_value(t, i) if not isinstance(prop.get("enum"), list) else draw(st.sampled_from(prop["enum"]))
    evo.steps.append(step)


@cache
def rare_feature_models() -> list[str]:
    """Models with an input few others have (nullable, a type list, a number enum): drawn more often."""
    def rare(prop: dict[str, Any]) -> bool:
        return prop.get("nullable") is True or isinstance(prop.get("type"), list) or (
            isinstance(prop.get("enum"), list) and prop.get("type") in ("integer", "number"))
    return sorted(k for k, doc in snapshot().schemas.items() if doc is not None and any(
        rare(p) for p in doc["schema"].get("properties", {}).values()))


@st.composite
def evolutions(draw: st.DrawFn) -> Evolution:
    any_model = st.sampled_from(sorted(model_entries()))
    keys = draw(st.lists(st.one_of(any_model, st.sampled_from(rare_feature_models())), min_size=1, max_size=3, unique=True))
    before = {k: copy.deepcopy(snapshot().schemas[k]) for k in keys}
    evo = Evolution(before=before, after=copy.deepcopy(before))
    for i in range(draw(st.integers(1, 6))):
        _mutate(draw, evo, i)
    return evo


def _discovery(schemas: dict[str, Any]) -> Discovery:
    document = {"success": True, "data": [model_entries()[k] for k in sorted(schemas)]}
    return Discovery(models_document=document, schemas=dict(schemas))


# ---------------------------------------------------------------------------------------------------------------
# The property


@dataclass
class Tally:
    evolutions: int = 0
    models: Counter[str] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)


def judge(evo: Evolution, tally: Tally) -> None:
    old_specs, new_specs = build_specs(_discovery(evo.before)), build_specs(_discovery(evo.after))
    assert not old_specs.errors and not new_specs.errors, (evo.steps, new_specs.errors)  # mutations stay valid
    report = compare(old_specs.models, new_specs.models)
    tally.evolutions += 1
    for key in sorted(set(evo.before) | set(evo.after)):
        changes = [c for c in report.changes if c.model == key]
        classified = any(c.breaking for c in changes)
        old = oracle_schema(evo.before[key]) if key in evo.before else None
        new = oracle_schema(evo.after[key]) if key in evo.after else None
        witness = breaking_witness(old, new)
        tally.models["breaking" if classified else "additive" if changes else "unchanged"] += 1
        if classified != (witness is not None):
            tally.disagreements.append(
                f"{key}: classifier says {'breaking' if classified else 'not breaking'} "
                f"({[c.line() for c in changes]}); oracle witness {witness}; steps {evo.steps}"
            )


def test_classifier_agrees_with_the_json_schema_oracle() -> None:
    tally = Tally()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not FUZZ_EXAMPLES, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(evolutions())
    def check(evo: Evolution) -> None:
        judge(evo, tally)

    check()
    print(f"\nchange classifier: {tally.evolutions} evolutions, models {dict(tally.models)}, "
          f"disagreements with the oracle: {len(tally.disagreements)}")
    assert not tally.disagreements, "\n".join(tally.disagreements[:20])
    assert tally.models["breaking"] and tally.models["additive"]  # both sides were exercised


# ---------------------------------------------------------------------------------------------------------------
# Worked examples, one per rule (each also a check of the oracle itself)


def _evolve(key: str, name: str, **changes: Any) -> tuple[list[tuple[bool, str]], dict[str, Any] | None]:
    before: Any = copy.deepcopy(snapshot().schemas[key])
    after = copy.deepcopy(before)
    prop = after["schema"]["properties"][name]
    for k, v in changes.items():
        if v is None:
            prop.pop(k, None)
        else:
            prop[k] = v
    new_spec = build_specs(_discovery({key: after})).models[0]
    old_param = next(p for p in snapshot_specs()[key].params if p.wire_name == name)
    new_param = next(p for p in new_spec.params if p.wire_name == name)
    return param_changes(old_param, new_param), breaking_witness(oracle_schema(before), oracle_schema(after))


def test_worked_examples() -> None:
    flux = "imagegen/flux_dev"
    ratios: list[str] = (snapshot().schemas[flux] or {})["schema"]["properties"]["aspect_ratio"]["enum"]
    changes, witness = _evolve(flux, "aspect_ratio", enum=[*ratios, "7:3"])
    assert changes == [(False, "enum +'7:3'")] and witness is None
    changes, witness = _evolve(flux, "aspect_ratio", enum=ratios[1:])
    assert changes == [(True, "enum -'1:1' (refuses '1:1')")] and witness == {"prompt": "", "aspect_ratio": "1:1"}
    changes, witness = _evolve(flux, "output_quality", minimum=0)
    assert changes == [(False, "minimum 1 → 0")] and witness is None
    changes, witness = _evolve(flux, "output_quality", minimum=5)
    assert changes == [(True, "minimum 1 → 5")] and witness is not None and witness["output_quality"] == 1
    changes, witness = _evolve(flux, "guidance", type="integer")
    assert changes == [(True, "type number → integer"), (False, "default changed")] and witness is not None
    changes, witness = _evolve(flux, "seed", nullable=True)
    assert changes == [(False, "now accepts null")] and witness is None
    changes, witness = _evolve("imagegen/qwen_image", "seed", nullable=None)
    assert changes == [(True, "no longer accepts null")] and witness is not None and witness["seed"] is None
