"""Issue 10, observation 7: every constraint a schema states survives into the input class, the method
signature, the tool specs and the simulator; impossible constraints are refused by model and field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from generator.normalize import SchemaError
from generator.targets import llm_tools_schema
from generator.targets.python_package import annotation
from constraint_helpers import input_class, spec_of
from simulator.validation import InputError, validate_input


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def rejects(cls: type[Any], value: dict[str, Any]) -> bool:
    try:
        cls.model_validate(value)
    except ValidationError:
        return True
    return False


def test_number_enum_accepts_only_its_values_and_the_method_type_checks() -> None:
    schema = obj(cfg={"type": "number", "enum": [0.5, 1.5, 2]})
    cls = input_class(schema)
    assert not rejects(cls, {"cfg": 1.5}) and not rejects(cls, {"cfg": 2})
    assert rejects(cls, {"cfg": 1.0}) and rejects(cls, {"cfg": 3})
    [p] = spec_of(schema).params
    assert "Literal" not in annotation(p, for_method=True)  # Literal[0.5] is not a valid type for mypy
    strict = llm_tools_schema.parameters(spec_of(schema), "strict")["properties"]["cfg"]
    assert [0.5, 1.5, 2] in [b.get("enum") for b in strict.get("anyOf", [strict])]


def test_array_item_constraints_survive() -> None:
    schema = obj(
        tags={"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        sizes={"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 5}},
        grid={"type": "array", "items": {"type": "array", "items": {"type": "integer", "maximum": 3}}},
    )
    cls = input_class(schema)
    assert not rejects(cls, {"tags": ["a"], "sizes": [1, 5], "grid": [[1, 3]]})
    assert rejects(cls, {"tags": ["c"]})
    assert rejects(cls, {"sizes": [6]})
    assert rejects(cls, {"grid": [[4]]})
    assert rejects(cls, {"grid": [["x"]]})
    by = {p.wire_name: p for p in spec_of(schema).params}
    assert annotation(by["tags"], for_method=True).startswith('list[Literal["a", "b"]]')
    assert annotation(by["grid"], for_method=True).startswith("list[list[int]]")
    full = llm_tools_schema.parameters(spec_of(schema), "full")["properties"]
    assert full["tags"]["items"]["enum"] == ["a", "b"]
    assert full["sizes"]["items"]["maximum"] == 5
    assert full["grid"]["items"]["items"]["maximum"] == 3
    for body, bad in (({"tags": ["c"]}, "tags"), ({"sizes": [6]}, "sizes"), ({"grid": [[4]]}, "grid")):
        with pytest.raises(InputError, match=bad):
            validate_input(schema, body, reject_unknown=True)


@pytest.mark.parametrize(
    ("prop", "words"),
    [
        ({"type": "string", "minLength": 5, "maxLength": 2}, "minLength 5 is greater than maxLength 2"),
        ({"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 1}, "minItems 3 is greater than maxItems 1"),
        ({"type": "number", "minimum": 2, "exclusiveMaximum": 2}, "no value"),
        ({"type": "number", "exclusiveMinimum": 1, "maximum": 1}, "no value"),
        ({"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 2}, "no value"),
        ({"type": "array", "items": {"type": "string", "minLength": 3, "maxLength": 1}}, "minLength 3 is greater than maxLength 1"),
    ],
)
def test_impossible_bounds_are_refused_naming_model_and_field(prop: dict[str, Any], words: str) -> None:
    with pytest.raises(SchemaError, match=rf"imagegen/test_model\.bad: .*{words}"):
        spec_of(obj(bad=prop))


def test_mixed_enum_without_type_is_int_or_str() -> None:
    schema = obj(duration={"enum": [5, 10, "auto"], "default": 5})
    [p] = spec_of(schema).params
    assert p.types == ("integer", "string") and p.enum == (5, 10, "auto") and p.default == 5
    cls = input_class(schema)
    assert not rejects(cls, {"duration": "auto"}) and not rejects(cls, {"duration": 10})
    assert rejects(cls, {"duration": 7}) and rejects(cls, {"duration": "5"})
    # The documented `parameters` dialect: `type: enum` with mixed allowed values.
    doc = {"parameters": {"required": [], "optional": [{"name": "duration", "type": "enum", "allowedValues": [5, 10, "auto"]}]}}
    [q] = spec_of(doc).params
    assert q.types == ("integer", "string") and q.enum == (5, 10, "auto")


def test_unknown_type_fallback_is_said_on_the_console(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from generator.pipeline import generate
    from generator_helpers import StaticSource

    models = [{"category": "imagegen", "subcategory": "odd", "name": "Odd", "description": ""}]
    source = StaticSource(models=models, schemas={"imagegen/odd": obj(mask={"type": "tensor"})})
    generate(source, tmp_path / "out", workers=1, use_cache=False)
    err = capsys.readouterr().err
    assert "imagegen/odd.mask" in err and "unknown type 'tensor'" in err


def test_float_enum_inside_nested_arrays() -> None:
    # Found by the oracle: constrained items are RootModels; the runtime's check reads the plain values.
    schema = obj(grid={"type": "array", "items": {"type": "array", "items": {"type": "number", "enum": [0.5, 1]}, "maxItems": 2}})
    cls = input_class(schema)
    assert cls.model_validate({"grid": [[], [0.5, 1]]}).to_api_params() == {"grid": [[], [0.5, 1.0]]}
    assert rejects(cls, {"grid": [[0.7]]})


def test_a_default_does_not_decide_the_type() -> None:
    # Found by the oracle: `{default: 0}` without a type became `int`, while the raw schema and the simulator
    # accept any value. Without a type or an enum an input is Any (with the console warning).
    schema = obj(strength={"default": 0, "nullable": True})
    [p] = spec_of(schema).params
    assert p.types == ("any",)
    assert not rejects(input_class(schema), {"strength": True})


def test_a_default_shorter_than_min_length_is_dropped() -> None:
    # Found by the oracle: a required input's default "" with minLength 1 was kept and always sent (rejected).
    [p] = spec_of({"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1, "default": ""}}}).params
    assert not p.has_default and p.required and not p.send_always
