"""In-process generation of input classes from raw schemas: what the constraint tests and the differential
oracle judge instances with (the same code path `make generate` uses, without writing files)."""

from __future__ import annotations

import itertools
import sys
import types
from typing import Any

from generator.normalize import ModelSpec, normalize_model
from generator.targets import python_package

_counter = itertools.count()


def spec_of(schema: Any, key: str = "imagegen/test_model") -> ModelSpec:
    category, subcategory = key.split("/")
    return normalize_model(category=category, subcategory=subcategory, display_name="Test", description="", raw_schema=schema)


def planned(spec: ModelSpec) -> python_package.PlannedModel:
    [category] = python_package.plan([spec])
    [model] = category.models
    return model


def exec_module(code: str) -> types.ModuleType:
    """Import generated code as a throwaway module (pydantic resolves annotations through sys.modules)."""
    name = f"_genvr_oracle_{next(_counter)}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(code, name, "exec"), module.__dict__)
    return module


def input_class(schema: Any, key: str = "imagegen/test_model") -> type[Any]:
    model = planned(spec_of(schema, key))
    module = exec_module(python_package.input_class_code(model))
    cls: type[Any] = getattr(module, model.class_name)
    return cls
