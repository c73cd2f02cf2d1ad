"""Target: the importable `genvr` package (input classes, client, category namespaces).

Input classes come from datamodel-code-generator, called in-process once per model (failures stay local,
names stay stable, one module per model keeps imports cheap). Everything around them comes from the Jinja
templates in templates/python/.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import genvr_runtime
from .. import cache, name_registry, naming, output_kinds
from ..normalize import ItemSpec, ModelSpec, Param, ParamType
from ..render import HEADER, one_line, pyrepr, render
from genvr_runtime import AsyncBaseClient, BaseClient
from genvr_runtime._common import ROUTING_FIELDS

PACKAGE = "genvr"
# Runtime names `genvr` does not re-export: the generated clients replace the bases.
_NOT_REEXPORTED = frozenset({"BaseClient", "AsyncBaseClient", "ModelMethod", "AsyncModelMethod", "CategoryNamespace"})
_PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "object": "dict[str, Any]", "any": "Any"}
# Public attributes of the runtime clients: a category may not take one of these names.
CLIENT_ATTRIBUTES = frozenset(n for cls in (BaseClient, AsyncBaseClient) for n in dir(cls) if not n.startswith("_"))


@dataclass(frozen=True)
class PlannedModel:
    spec: ModelSpec
    category_attr: str
    attr: str  # method and module name
    class_name: str
    tool_name: str  # LLM tool name
    node_id: str  # ComfyUI node id


    @property
    def module(self) -> str:
        return f"{PACKAGE}.models.{self.category_attr}.{self.attr}"

    @property
    def path(self) -> str:
        return f"{PACKAGE}/models/{self.category_attr}/{self.attr}.py"

    @property
    def method_class(self) -> str:
        """`FluxDevInput` → `FluxDevMethod`: the class of `client.imagegen.flux_dev`. Never a name its module
        imports: only the base classes end in "Method" (a model named `model` gets `ModelInputMethod`)."""
        name = self.class_name.removesuffix("Input") + "Method"
        return self.class_name + "Method" if name == "ModelMethod" else name

    @property
    def method_path(self) -> str:
        return f"{PACKAGE}/resources/{self.category_attr}/{self.attr}.py"

    @property
    def model_info(self) -> dict[str, Any]:
        """Keyword arguments of the `ModelInfo` the runtime reads from the class."""
        params = self.spec.params
        enum_checks = tuple((p.wire_name, enum) for p in params if (enum := leaf_float_enum(p)) is not None)
        return {
            "category": self.spec.category,
            "subcategory": self.spec.subcategory,
            "name": self.spec.display_name,
            "send_always": tuple(sorted(p.wire_name for p in params if p.send_always)),
            "routing_collisions": tuple(sorted(p.wire_name for p in params if p.wire_name in ROUTING_FIELDS)),
            "nullable": tuple(sorted(p.wire_name for p in params if p.nullable)),
            "free_form": self.spec.free_form,
            "file_inputs": tuple(p.wire_name for p in params if p.is_file),
            "advanced": tuple(p.wire_name for p in params if p.hidden),
            **({"enum_checks": enum_checks} if enum_checks else {}),  # only where needed: no churn elsewhere
        }

    @property
    def catalog_entry(self) -> tuple[str, str, str, int, str]:
        """(name, category, output kind, inputs count, one-line description) for `genvr.catalog`."""
        spec = self.spec
        kind = output_kinds.output_kind(spec)
        description = " ".join((spec.description or "").split())
        return (spec.display_name, spec.category, kind, len(spec.params), description[:200])

    @property
    def params(self) -> list[dict[str, Any]]:
        """What the method template needs per input, required ones first (keyword-only, order is cosmetic)."""
        return self._signature[0]

    @property
    def choice_aliases(self) -> list[dict[str, Any]]:
        """The enums the method module names once (see `_signature`)."""
        return self._signature[1]

    @cached_property
    def _signature(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(inputs, named enums). An enum whose parameter line would not fit in 100 columns is named once at the top
        of the method module (`AspectRatioChoice = Literal[...]`, one value per line) instead of being spelt in all
        four signatures: the template then writes what black writes, and black has nothing to split."""
        from black.strings import str_width

        items: list[dict[str, Any]] = []
        aliases: list[dict[str, Any]] = []
        for p in sorted(self.spec.params, key=lambda p: not p.required):
            text = annotation(p, for_method=True)
            line = f"        {p.python_name}: {text}{'' if p.required else ' = NOT_GIVEN'},"
            if str_width(line) > 100 and p.enum is not None and leaf_float_enum(p) is None:
                alias = _choice_name(p.python_name, taken={a["name"] for a in aliases})
                aliases.append({"name": alias, "values": [pyrepr(v) for v in p.enum]})
                text = " | ".join([alias, *text.split(" | ")[1:]])  # the Literal is the first member
            items.append({"param": p, "annotation": text, "doc": param_doc(p)})
        return items, aliases


@dataclass(frozen=True)
class PlannedCategory:
    raw: str
    attr: str
    models: tuple[PlannedModel, ...]

    @property
    def resource_class(self) -> str:
        return naming.resource_class_name(self.attr)


def plan(specs: list[ModelSpec], recorded: naming.Names | None = None) -> list[PlannedCategory]:
    """Decide every name once, from the whole model list and the names recorded before (`name_registry`)."""
    if recorded is None:
        recorded = name_registry.load()
    names = naming.assign((s.key for s in specs), recorded, category_reserved=CLIENT_ATTRIBUTES)
    by_category: dict[str, list[ModelSpec]] = {}
    for spec in specs:
        by_category.setdefault(spec.category, []).append(spec)
    planned = []
    for raw in sorted(by_category, key=lambda c: names.categories[c]):
        members = by_category[raw]
        models = tuple(
            PlannedModel(
                spec=s,
                category_attr=names.categories[raw],
                attr=names.models[s.key].method,
                class_name=names.models[s.key].class_name,
                tool_name=names.models[s.key].tool,
                node_id=names.models[s.key].node,
            )
            for s in sorted(members, key=lambda s: names.models[s.key].method)
        )
        planned.append(PlannedCategory(raw=raw, attr=names.categories[raw], models=models))
    return planned


# ---------------------------------------------------------------------------------------------------------------
# Types


def _choice_name(python_name: str, taken: set[str]) -> str:
    """`aspect_ratio` → `AspectRatioChoice`: no name a method module imports ends in "Choice"."""
    base = "".join(part[:1].upper() + part[1:] for part in python_name.split("_") if part) + "Choice"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def leaf_float_enum(p: Param | ItemSpec) -> tuple[Any, ...] | None:
    """The enum of an input (or of its innermost items) when it holds a float, which `Literal` cannot spell:
    the class then takes the plain type and the runtime checks the values (`ModelInfo.enum_checks`)."""
    if p.enum is not None:
        return p.enum if any(isinstance(v, float) for v in p.enum) else None
    return leaf_float_enum(p.items) if p.items is not None else None


def _value_type(c: Param | ItemSpec, types: tuple[str, ...], file_ok: bool) -> list[str]:
    if c.enum is not None and leaf_float_enum(c) is None:
        return [f"Literal[{', '.join(pyrepr(v) for v in c.enum)}]"]
    out = []
    for t in types:
        if t == "array":
            inner = _value_type(c.items, (c.items.type,), file_ok) if c.items else ["str"]
            item = " | ".join(inner)
            out.append(f"list[{item} | FileSource]" if file_ok and inner == ["str"] else f"list[{item}]")
        elif t == "string" and file_ok and c.is_file:
            out += ["str", "FileSource"]
        else:
            out.append(_PY_TYPES[t])
    return out


def annotation(p: Param, *, for_method: bool) -> str:
    """The Python type of an input, as the generated method signature spells it."""
    # Methods take a local file (Path or bytes) wherever the schema takes a file URL: the runtime uploads it.
    base = _value_type(p, p.types, for_method and p.is_file)
    if p.nullable:
        base.append("None")
    if for_method and not p.required:
        base.append("NotGiven")
    return " | ".join(base)


def param_doc(p: Param) -> str:
    """One line for the Args section: the schema's description plus the constraints a caller must meet."""
    parts = [p.description or p.title or ""]
    if p.is_file:
        kind = f"{p.file_type} " if p.file_type else ""
        plural = "s" if p.main_type == "array" else ""
        parts.append(f"{kind}file{plural}: URL{plural}, or local Path/bytes (uploaded for you).")
    if p.enum is not None:
        shown = ", ".join(pyrepr(v) for v in p.enum[:12])
        parts.append(f"One of {shown}{', …' if len(p.enum) > 12 else ''}.")
    if p.presets:
        shown = " ".join(f"{i}. {label}: {_short(text)}" for i, (label, text) in enumerate(p.presets, 1))
        parts.append(f"Presets (see {p.python_name.upper()}_PRESETS): {one_line(shown, 600)}")
    bounds = []
    if p.minimum is not None:
        bounds.append(f"{'>' if p.exclusive_minimum else '>='} {p.minimum}")
    if p.maximum is not None:
        bounds.append(f"{'<' if p.exclusive_maximum else '<='} {p.maximum}")
    if bounds:
        parts.append(f"Range {' and '.join(bounds)}.")
    if p.max_length is not None:
        parts.append(f"At most {p.max_length} characters.")
    if p.min_items is not None or p.max_items is not None:
        parts.append(f"Items: {p.min_items or 0} to {p.max_items if p.max_items is not None else 'any'}.")
    if p.has_default:
        parts.append(f"Default {pyrepr(p.default) if len(pyrepr(p.default)) <= 60 else 'a long text'}.")
    if p.send_always:
        parts.append("Always sent (the schema requires it).")
    if p.wire_name in ROUTING_FIELDS:
        parts.append("Cannot be sent: its name collides with GenVR's routing field; leave unset.")
    if p.hidden:
        parts.append("Advanced.")
    return " ".join(_sentence(x) for x in parts if x)


def _short(text: str) -> str:
    return pyrepr(text if len(text) <= 80 else text[:79].rstrip() + "…")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?…:)" else text + "."


# ---------------------------------------------------------------------------------------------------------------
# Input classes (datamodel-code-generator)


def json_schema(model: PlannedModel) -> dict[str, Any]:
    """Standard JSON Schema for one model's inputs, keyed by wire name; what DCG turns into a class."""
    spec = model.spec
    properties: dict[str, Any] = {}
    for p in spec.params:
        prop = value_schema(p, p.types, p.nullable, python=True)
        if p.has_default:
            prop["default"] = p.default
        if p.description:
            prop["description"] = p.description
        properties[p.wire_name] = prop
    return {
        "type": "object",
        "title": model.class_name,
        # Not the model's description (the method and the docs carry it): a new one need not rerun DCG.
        "description": f"Input of {spec.display_name} (`{spec.key}`)."
        + (" GenVR publishes no schema for this model: inputs are passed through unchecked." if spec.free_form else ""),
        "properties": properties,
        "required": [p.wire_name for p in spec.params if p.required],
        "additionalProperties": spec.free_form,
    }


def value_schema(c: Param | ItemSpec, types: tuple[ParamType, ...], nullable: bool, *, python: bool = False) -> dict[str, Any]:
    """Standard JSON Schema of an input or an array item: type, enum, bounds, lengths, counts, items.
    `python=True` leaves out float enums (checked by the runtime instead, see `leaf_float_enum`)."""
    prop: dict[str, Any] = {}
    named = [t for t in types if t != "any"]
    if named:
        prop["type"] = named[0] if len(named) == 1 and not nullable else [*named, *(["null"] if nullable else [])]
    if c.enum is not None and not (python and leaf_float_enum(c) is not None):
        prop["enum"] = [*c.enum, *([None] if nullable else [])]
    for key, value in (
        ("minimum", None if c.exclusive_minimum else c.minimum),
        ("maximum", None if c.exclusive_maximum else c.maximum),
        ("exclusiveMinimum", c.minimum if c.exclusive_minimum else None),
        ("exclusiveMaximum", c.maximum if c.exclusive_maximum else None),
        ("minLength", c.min_length),
        ("maxLength", c.max_length),
        ("minItems", c.min_items),
        ("maxItems", c.max_items),
    ):
        if value is not None:
            prop[key] = value
    if "array" in types:
        prop["items"] = value_schema(c.items, (c.items.type,), False, python=python) if c.items else {"type": "string"}
    return prop


def run_dcg(source: dict[str, Any] | Path, **options: Any) -> str | None:
    """datamodel-code-generator on a schema (returns the module) or a folder of them (writes `output`), with the
    project's options. Imported here, not above: a run whose classes are all cached never loads DCG (~0.5 s)."""
    from datamodel_code_generator import generate
    from datamodel_code_generator.enums import DataModelType, InputFileType, TargetPydanticVersion
    from datamodel_code_generator.format import PythonVersion
    from datamodel_code_generator.parser import LiteralType

    body = generate(
        source,
        input_file_type=InputFileType.JsonSchema,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=PythonVersion.PY_310,
        target_pydantic_version=TargetPydanticVersion.V2_11,
        base_class="genvr_runtime.GenVRInput",
        additional_imports=["genvr_runtime.ModelInfo"],
        use_annotated=True,
        field_constraints=True,
        use_standard_collections=True,
        use_union_operator=True,
        enum_field_as_literal=LiteralType.All,
        strict_nullable=True,
        use_schema_description=True,
        use_double_quotes=True,
        use_exact_imports=True,
        keep_model_order=True,
        disable_timestamp=True,
        formatters=[],  # black runs afterwards, on the whole module
        **options,
    )
    assert body is None or isinstance(body, str)
    return body


def _check_class(model: PlannedModel, body: str) -> str:
    if f"\nclass {model.class_name}(" not in body:  # the footer and every name map use this exact name
        raise ValueError(f"{model.spec.key}: datamodel-code-generator renamed class {model.class_name}")
    return body.rstrip("\n") + "\n" + render("python/input_footer.py.jinja", model=model)


def input_class_code(model: PlannedModel) -> str:
    """The module of one input class (unformatted): DCG's class, then the routing facts the runtime reads."""
    return _check_class(model, _one_body(model))


def _one_body(model: PlannedModel) -> str:
    body = run_dcg(json_schema(model), class_name=model.class_name, aliases=_aliases(model), custom_file_header=f"{HEADER}\n# Source: {model.spec.key}")
    assert body is not None
    return body


def _aliases(*models: PlannedModel) -> dict[str, str]:
    """DCG's field renames, scoped by class name: wire name → Python name where they differ."""
    return {f"{m.class_name}.{p.wire_name}": p.python_name for m in models for p in m.spec.params if p.wire_name != p.python_name}


def input_modules(models: list[PlannedModel], *, code: str | None = None) -> dict[str, str]:
    """Unformatted input modules of many models from ONE datamodel-code-generator run over a folder of schemas
    (a module per schema): DCG's per-call set-up is most of its cost for one small class. Same text as
    `input_class_code`, model by model (tests/test_generation_cost.py compares them).

    With `code` (`fingerprint.code()`), DCG's output is cached by its exact input: a model whose schema for DCG
    did not change (its description, say, is not part of it) does not meet DCG again."""
    # Keys keep the schema's key order: property order is the class's field order.
    keys = {m.path: cache.key("dcg", code, m.spec.key, m.class_name, json.dumps([json_schema(m), _aliases(m)])) for m in models} if code else {}
    out: dict[str, str] = {}
    for m in models:
        hit = cache.cached_entry(keys[m.path]) if code else None
        if hit is not None:
            out[m.path] = _check_class(m, hit)
    missing = [m for m in models if m.path not in out]
    made = _input_bodies(missing)
    for m in missing:
        if code:
            cache.store_entry(keys[m.path], made[m.path])
        out[m.path] = _check_class(m, made[m.path])
    return {m.path: out[m.path] for m in models}


def _input_bodies(models: list[PlannedModel]) -> dict[str, str]:
    """DCG's module of each model (before the footer), as few DCG runs as class names allow."""
    batched = [m for m in models if not any("." in p.wire_name for p in m.spec.params)]  # "." would read as a scope
    out = {m.path: _one_body(m) for m in models if m not in batched}
    # Aliases are scoped by class name, which models of two categories may share: one run per round of unique names.
    rounds: list[list[PlannedModel]] = []
    for m in batched:
        free = next((r for r in rounds if all(o.class_name != m.class_name for o in r)), None)
        if free is None:
            rounds.append(free := [])
        free.append(m)
    for batch in rounds:
        out.update(_batch_bodies(batch))
    return out


def _batch_bodies(batched: list[PlannedModel]) -> dict[str, str]:
    """`_input_bodies` of models with distinct class names and no "." in a wire name: one DCG run."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="genvr-dcg-") as tmp:
        folder = Path(tmp) / "schemas"
        folder.mkdir()
        for i, m in enumerate(batched):
            (folder / f"m{i}.json").write_text(json.dumps(json_schema(m)), encoding="utf-8")
        run_dcg(folder, output=Path(tmp) / "out", aliases=_aliases(*batched), custom_file_header=f"{HEADER}\n# Source: @SOURCE@")
        for i, m in enumerate(batched):
            body = (Path(tmp) / "out" / f"m{i}.py").read_bytes().decode("utf-8")  # exactly: newlines untranslated
            out[m.path] = body.replace("# Source: @SOURCE@", f"# Source: {m.spec.key}", 1)
    return out


def model_files(model: PlannedModel) -> dict[str, str]:
    """The files of the `genvr` package that depend on this model alone, but its input module (unformatted)."""
    return {model.method_path: render("python/method.py.jinja", m=model)}


# ---------------------------------------------------------------------------------------------------------------
# The package


def catalog_json(models: list[PlannedModel]) -> str:
    """`genvr.catalog`'s table: one line per model, so a changed description is a one-line diff."""
    lines = [f"  {json.dumps(m.spec.key)}: {json.dumps(m.catalog_entry, ensure_ascii=False)}" for m in sorted(models, key=lambda m: m.spec.key)]
    return f'{{"$comment": {json.dumps(HEADER.lstrip("# "))},\n "models": {{\n' + ",\n".join(lines) + "\n}}\n"


def render_package(categories: list[PlannedCategory]) -> dict[str, str]:
    """The files of the `genvr` package that depend on the model list (not `model_files`), unformatted."""
    models = [m for c in categories for m in c.models]
    files: dict[str, str] = {
        f"{PACKAGE}/__init__.py": render(
            "python/package_init.py.jinja",
            categories=categories,
            model_count=len(models),
            runtime_exports=sorted(n for n in genvr_runtime.__all__ if n not in _NOT_REEXPORTED),
        ),
        f"{PACKAGE}/py.typed": f"{HEADER}\n# PEP 561 marker: this package ships type information.\n",
        f"{PACKAGE}/_client.py": render("python/client.py.jinja", categories=categories),
        f"{PACKAGE}/resources/__init__.py": render("python/resources_init.py.jinja", categories=categories),
        f"{PACKAGE}/models/__init__.py": render("python/models_init.py.jinja", categories=categories, models=models),
        f"{PACKAGE}/catalog.py": render("python/catalog.py.jinja", models=models),
        f"{PACKAGE}/catalog.json": catalog_json(models),
        f"{PACKAGE}/__main__.py": render("python/main.py.jinja"),
    }
    for category in categories:
        files[f"{PACKAGE}/resources/{category.attr}/__init__.py"] = render("python/resource.py.jinja", category=category)
        files[f"{PACKAGE}/models/{category.attr}/__init__.py"] = render("python/category_models_init.py.jinja", category=category)
    return files
