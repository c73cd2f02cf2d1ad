"""Schemas are data, never code: hostile names, descriptions, enum values and defaults produce code that
compiles, imports, validates, and executes nothing from the schema."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest

from generator.normalize import SchemaError, normalize_model
from generator.pipeline import build_specs, render_all
from generator.write import sync_tree
from generator_helpers import StaticSource, run_python

PAYLOADS = [
    '"""; import os; os.system("touch PWNED") #',
    "'''; __import__('os').system('touch PWNED') #",
    "\\", "\\\\\"", "end with quote\"", "new\nline", "tab\there", "\r\n", "\x00nul", "\x1bescape",
    "unicode ✓ ünïcödé 🔥 中文", "\u2028line separator", "{{ jinja }}", "{% raw %}", "${shell}", "`backtick`",
    "</script>", "\ud800",
]


def hostile_schema(text: str) -> dict[str, object]:
    return {
        "type": "object",
        "title": text,
        "required": ["prompt", text],
        "properties": {
            "prompt": {"type": "string", "description": text, "default": text, "x-order": 0, "title": text},
            text: {"type": "string", "enum": [text, "safe"], "default": text, "description": text, "x-order": 1},
            "class": {"type": "integer", "enum": [1, 2], "description": text, "x-order": 2},
            "presets": {"type": "string", "enum": {text: text, "b": "c"}, "x-order": 3},
        },
    }


def generate_hostile(tmp_path: Path, texts: list[str]) -> Path:
    models = [{"category": "imagegen", "subcategory": f"hostile_{i}", "name": t, "description": t} for i, t in enumerate(texts)]
    source = StaticSource(models=models, schemas={f"imagegen/hostile_{i}": hostile_schema(t) for i, t in enumerate(texts)})
    specs = build_specs(source.load())
    assert not specs.errors, specs.errors
    out = tmp_path / "out"
    sync_tree(render_all(specs, workers=1, use_cache=False), out)
    return out


CHECK = """
import json
from genvr.models import MODEL_KEYS, load_input_class
from genvr import Client
texts = json.loads(open('texts.json', encoding='utf-8').read())
for i, text in enumerate(texts):
    cls = load_input_class(f"imagegen/hostile_{i}")
    fields = cls.model_fields
    made = cls.model_validate({"prompt": "p", text: "safe"})
    body = made.to_api_params()
    assert body == {"prompt": "p", text: "safe"}, body
    assert cls.model_validate({"prompt": "p", text: text}).to_api_params()[text] == text
    default_field = next(n for n, f in fields.items() if f.alias == text or n == text)
    assert fields["prompt"].default == text, (text, fields["prompt"].default)
    assert fields["prompt"].description == (text if text.strip() else None), (text, fields["prompt"].description)
    assert cls.__doc__ is not None
print("ok", len(texts))
"""


def test_hostile_text_everywhere_compiles_imports_and_runs_nothing(tmp_path: Path) -> None:
    texts = [t for t in PAYLOADS if t != "\ud800"]  # lone surrogates: see the next test
    out = generate_hostile(tmp_path, texts)
    for path in out.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))  # compiles
    (out / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    done = run_python(CHECK, out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {len(texts)}"
    assert not list(tmp_path.rglob("PWNED"))  # nothing from a schema ran


def test_lone_surrogates_are_repaired_in_text_and_refused_in_names() -> None:
    schema = {"type": "object", "properties": {"p": {"type": "string", "description": "bad \ud800 text", "enum": ["ok"]}}}
    spec = normalize_model(category="imagegen", subcategory="s", display_name="x\udfff", description="", raw_schema=schema)
    assert spec.params[0].description == "bad \ufffd text" and spec.display_name == "x\ufffd"
    schema["properties"]["p"]["enum"] = ["\ud800"]
    with pytest.raises(SchemaError, match="imagegen/s.p: .* is not valid Unicode"):
        normalize_model(category="imagegen", subcategory="s", display_name="x", description="", raw_schema=schema)



def test_lone_surrogates_are_repaired_in_the_name_and_description_of_a_model_without_a_schema() -> None:
    # No schema published: the model is free-form, but its name and description reach every target all the same.
    spec = normalize_model(category="imagegen", subcategory="s", display_name="x\udfff", description="bad \ud800 text", raw_schema=None)
    assert spec.free_form and spec.display_name == "x\ufffd" and spec.description == "bad \ufffd text"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40).filter(lambda t: t not in ("prompt", "class", "presets", "safe")))
def test_any_text_yields_valid_python(text: str) -> None:
    specs = build_specs(StaticSource(
        models=[{"category": "imagegen", "subcategory": "fuzz", "name": text, "description": text}],
        schemas={"imagegen/fuzz": hostile_schema(text)},
    ).load())
    files = render_all(specs, workers=1)  # cached by content: only files holding `text` are formatted afresh
    for rel, code in files.items():
        if rel.endswith(".py"):
            ast.parse(code)
    module = files["genvr/models/imagegen/fuzz.py"]
    tree = ast.parse(module)
    # Every string the schema supplied is a constant in the tree, never a name or call.
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert {ast.unparse(c.func) for c in calls} <= {"Field", "ConfigDict", "ModelInfo"}
