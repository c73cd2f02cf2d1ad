"""Generated LLM tool specs: names, one source of truth with the input classes, our validator on every spec,
and the validator itself (it must reject what the APIs reject)."""

from __future__ import annotations

import copy
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.discovery import SnapshotSource
from generator.naming import TOOL_NAME_PATTERN, tool_names
from generator.pipeline import generate
from generator.targets import llm_tools_validate as check
from generator.targets.llm_tools import FORMATS
from generator_helpers import GENERATED, SNAPSHOT, snapshot_specs
from genvr.models import load_input_class
from genvr import tools as genvr_tools
from genvr.tools import MODEL_TOOLS, TOOL_NAMES

PACKAGE = GENERATED / "genvr"  # the specs are package data: `tools/...` paths below are relative to it
TOOLS = PACKAGE / "tools"
FREE_FORM = {"3dgen/hyper3d_rodin_v2", "3dgen/meshy3d_v6", "videogen/google_veo3_1", "videogen/sora2", "vidutils/sora2_watermark_remover"}


@cache
def load(rel: str) -> dict[str, Any]:
    path = PACKAGE / rel
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def bundles(fmt: str) -> dict[str, Any]:
    """Category folder → the tools of one request for that category (`genvr.tools.load`), typed loosely as
    the SDKs take them."""
    return {c: genvr_tools.load(fmt, category=c) for c in genvr_tools.MODEL_FILES}  # type: ignore[arg-type]


def tools_of(fmt: str) -> dict[str, dict[str, Any]]:
    """Tool name → tool document over every model of a format."""
    out = {}
    items = genvr_tools.load(fmt)  # type: ignore[arg-type]
    if fmt == "gemini":
        items = [d for group in items for d in group["functionDeclarations"]]
    for t in items:
        out[t.get("function", t)["name"]] = t
    return out


def schema_of(fmt: str, tool: dict[str, Any]) -> dict[str, Any]:
    body = tool.get("function", tool)
    for key in ("parameters", "input_schema", "inputSchema"):
        if key in body:
            schema: dict[str, Any] = body[key]
            return schema
    raise KeyError(tool)


# ---------------------------------------------------------------------------------------------------------------
# Names


def test_tool_names_follow_the_rule_and_every_provider_pattern() -> None:
    keys = list(snapshot_specs())
    names = tool_names(keys)
    assert names["imagegen/flux_dev"] == "genvr_imagegen__flux_dev"
    assert names["3dgen/trellis"] == "genvr_3dgen__trellis"  # `3dgen` alone would start with a digit
    assert len(set(names.values())) == len(keys) == 291
    for name in names.values():
        assert TOOL_NAME_PATTERN.match(name) and check.OPENAI_NAME.match(name) and check.GEMINI_NAME.match(name)
        assert check.MCP_NAME.match(name)
    shared = {k.split("/")[1] for k in keys if sum(x.split("/")[1] == k.split("/")[1] for x in keys) > 1}
    assert shared, "the snapshot has a subcategory in two categories; both must keep distinct names"
    assert TOOL_NAMES == {v: k for k, v in names.items()} and MODEL_TOOLS == names  # generated module agrees


def test_names_are_sanitised_shortened_and_collisions_resolved_by_the_naming_rule() -> None:
    names = tool_names(["a/b c", "a/b_c", "x" * 40 + "/" + "y" * 40, "cat/ünï"])
    assert names["a/b_c"] == "genvr_a__b_c"  # already spelt right: keeps the name
    assert names["a/b c"].startswith("genvr_a__b_c_") and len(names["a/b c"]) == len("genvr_a__b_c") + 7
    long = names["x" * 40 + "/" + "y" * 40]
    assert len(long) <= 64 and TOOL_NAME_PATTERN.match(long)
    assert TOOL_NAME_PATTERN.match(names["cat/ünï"])


@given(st.lists(st.from_regex(r"[a-z0-9]{1,12}/[a-z0-9_ .-]{1,30}", fullmatch=True), min_size=1, max_size=8, unique=True),
       st.from_regex(r"[a-z0-9]{1,12}/[a-z0-9_ .-]{1,30}", fullmatch=True))
def test_adding_a_model_renames_nothing_it_does_not_collide_with(keys: list[str], new: str) -> None:
    before = tool_names(keys)
    after = tool_names([*keys, new])
    alone = tool_names([new])[new]  # its name when nothing collides
    for key, name in before.items():
        if tool_names([key])[key] != alone:
            assert after[key] == name, (key, new)
        assert TOOL_NAME_PATTERN.match(after[key])
    assert len(set(after.values())) == len(after)


# ---------------------------------------------------------------------------------------------------------------
# One source of truth


def test_every_spec_has_exactly_the_inputs_of_the_input_class() -> None:
    """Per model and format: same input names (wire names) and the same required set as the pydantic class.
    The only inputs left out are those named like a routing field (the runtime refuses to send them)."""
    formats = {fmt: tools_of(fmt) for fmt in FORMATS}
    for name, key in TOOL_NAMES.items():
        cls = load_input_class(key)
        info = cls.genvr_model
        wires = {f.alias or n: f for n, f in cls.model_fields.items()}
        expected = set(wires) - set(info.routing_collisions)
        required = {w for w, f in wires.items() if f.is_required()}
        for fmt, tools in formats.items():
            if name not in tools:
                assert key in FREE_FORM and fmt in ("openai_chat_strict", "openai_responses_strict", "gemini"), (fmt, key)
                continue
            schema = schema_of(fmt, tools[name])
            assert set(schema["properties"]) == expected, (fmt, key)
            assert list(schema["properties"]) == [w for w in (p.wire_name for p in snapshot_specs()[key].params) if w in expected]
            if fmt.endswith("_strict"):
                assert schema["required"] == list(schema["properties"])
                for wire, prop in schema["properties"].items():
                    null_ok = "null" in (prop.get("type") or []) or {"type": "null"} in prop.get("anyOf", [])
                    assert null_ok == (wire not in required) or info.nullable and wire in info.nullable, (key, wire)
            else:
                assert set(schema.get("required", [])) == required, (fmt, key)
            if info.free_form:
                assert schema.get("additionalProperties") is True


def test_enum_values_match_the_class_literals() -> None:
    tools = tools_of("openai_chat")
    for name, key in TOOL_NAMES.items():
        class_schema = load_input_class(key).model_json_schema(by_alias=True)["properties"]
        for wire, prop in schema_of("openai_chat", tools[name])["properties"].items():
            branches = prop.get("anyOf", [prop])
            ours = [v for b in branches for v in b.get("enum", [])]
            theirs = [v for b in class_schema[wire].get("anyOf", [class_schema[wire]]) for v in b.get("enum", [b.get("const")] if "const" in b else [])]
            assert [v for v in ours if v is not None] == [v for v in theirs if v is not None], (key, wire)


# ---------------------------------------------------------------------------------------------------------------
# Our validator on every generated spec


PER_TOOL = {
    "openai_chat": lambda t: check.openai_chat_tool(t, strict=False),
    "openai_chat_strict": lambda t: check.openai_chat_tool(t, strict=True),
    "openai_responses": lambda t: check.openai_responses_tool(t, strict=False),
    "openai_responses_strict": lambda t: check.openai_responses_tool(t, strict=True),
    "anthropic": check.anthropic_tool,
    "mcp": check.mcp_tool,
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_generated_spec_passes_its_provider_validator(fmt: str) -> None:
    files = sorted(p.relative_to(PACKAGE).as_posix() for p in (TOOLS / fmt).rglob("*.json"))
    assert len(files) == 291  # one per model: nothing else (no bundle) holds a tool document
    for rel in files:
        doc = load(rel)
        left_out = "left_out" in doc
        assert list(doc) == ["$comment", *(["left_out"] if left_out else []), "tools"] and "DO NOT EDIT" in doc["$comment"]
        items = doc["tools"]
        assert len(items) == (0 if left_out else 1), rel
        if fmt == "gemini":
            assert all(list(group) == ["functionDeclarations"] and len(group["functionDeclarations"]) == 1 for group in items)
            problems = [p for group in items for d in group["functionDeclarations"] for p in check.gemini_declaration(d)]
        else:
            problems = [p for t in items for p in PER_TOOL[fmt](t)]
        assert problems == [], (rel, problems[:5])
    for category, items in bundles(fmt).items():  # each category fits one request
        problems = check.openai_bundle(items) if fmt.startswith("openai") else []
        assert problems == [], (category, problems[:5])


def test_left_out_models_are_exactly_the_free_form_ones_and_their_files_say_so() -> None:
    for fmt in FORMATS:
        missing = set(TOOL_NAMES) - set(tools_of(fmt))
        strictish = fmt in ("openai_chat_strict", "openai_responses_strict", "gemini")
        assert {TOOL_NAMES[n] for n in missing} == (FREE_FORM if strictish else set()), fmt
    sora = load("tools/gemini/videogen/sora2.json")
    assert "Left out" in sora["$comment"] and "videogen/sora2 (GenVR publishes no schema" in sora["$comment"]
    assert sora["tools"] == [] and sora["left_out"] == genvr_tools.left_out("gemini")["videogen/sora2"]


def test_tool_search_forms_hold_every_model_deferred() -> None:
    openai = genvr_tools.load_tool_search("openai_responses")
    assert openai[-1] == {"type": "tool_search"}
    functions = [f for ns in openai[:-1] for f in ns["tools"]]
    assert all(ns["type"] == "namespace" and check.OPENAI_NAME.match(ns["name"]) and len(ns["description"]) <= 1024 for ns in openai[:-1])
    assert sorted(f["name"] for f in functions) == sorted(TOOL_NAMES)
    for f in functions:
        assert f["defer_loading"] is True
        assert check.openai_responses_tool(f, strict=f["strict"]) == []
        assert f["strict"] is (TOOL_NAMES[f["name"]] not in FREE_FORM)
    anthropic = genvr_tools.load_tool_search("anthropic")
    assert anthropic[0] == {"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"}
    assert sorted(t["name"] for t in anthropic[1:]) == sorted(TOOL_NAMES)
    assert all(t["defer_loading"] is True and check.anthropic_tool(t) == [] for t in anthropic[1:])


def test_full_schemas_are_valid_json_schema_2020_12() -> None:
    from jsonschema import Draft202012Validator

    for fmt in ("openai_chat", "openai_chat_strict", "anthropic", "mcp"):
        for tool in tools_of(fmt).values():
            Draft202012Validator.check_schema(schema_of(fmt, tool))


def test_strict_descriptions_keep_what_the_keywords_lost() -> None:
    prop = schema_of("openai_chat_strict", tools_of("openai_chat_strict")["genvr_imagegen__flux_dev"])["properties"]
    assert "Default: 28." in prop["num_inference_steps"]["description"] and prop["num_inference_steps"]["type"] == ["integer", "null"]
    full = schema_of("openai_chat", tools_of("openai_chat")["genvr_imagegen__flux_dev"])["properties"]
    assert full["num_inference_steps"]["default"] == 28 and "default" not in prop["num_inference_steps"]
    files = [(w, p) for t in tools_of("openai_chat")["genvr_videogen__kling2_5_i2v"]["function"]["parameters"]["properties"].items() for w, p in [t] if p.get("format") == "uri"]
    assert files and all("URL" in p["description"] for _, p in files)


def test_a_changed_schema_rewrites_only_the_tool_files_of_that_model(tmp_path: Path) -> None:
    """No file holds every model's tools (issue 13): a category, the tool-search sets and the MCP list are
    assembled at load time, so one model's change rewrites its own file in each format and nothing else."""
    snap = tmp_path / "discovery"
    shutil.copytree(SNAPSHOT, snap)
    out = tmp_path / "generated"
    shutil.copytree(GENERATED, out)
    path = snap / "schemas" / "imagegen" / "flux_dev.json"
    doc = json.loads(path.read_text())
    doc["schema"]["properties"]["guidance"]["maximum"] = 12
    path.write_text(json.dumps(doc))
    written = [p for p in generate(SnapshotSource(snap), out, check=True, workers=1).written if "tool" in p]
    assert written == [f"genvr/tools/{fmt}/imagegen/flux_dev.json" for fmt in sorted(FORMATS)]


# ---------------------------------------------------------------------------------------------------------------
# The validator rejects what the APIs reject


def strict_tool(**overrides: Any) -> dict[str, Any]:
    tool = copy.deepcopy(tools_of("openai_chat_strict")["genvr_imagegen__flux_dev"])
    tool["function"].update(overrides)
    return tool


def problems_after(mutate: Any, fmt: str = "openai_chat_strict") -> list[str]:
    tool = copy.deepcopy(tools_of(fmt)["genvr_imagegen__flux_dev"])
    mutate(schema_of(fmt, tool))
    return {"openai_chat_strict": lambda t: check.openai_chat_tool(t, strict=True), "gemini": check.gemini_declaration,
            "anthropic": check.anthropic_tool, "openai_chat": lambda t: check.openai_chat_tool(t, strict=False)}[fmt](tool)


@pytest.mark.parametrize(
    ("fmt", "mutate", "expected"),
    [
        ("openai_chat_strict", lambda s: s["properties"]["prompt"].update(format="uri"), "format 'uri' is not supported"),
        ("openai_chat_strict", lambda s: s.pop("additionalProperties"), "additionalProperties: false"),
        ("openai_chat_strict", lambda s: s["required"].pop(), "every property in 'required'"),
        ("openai_chat_strict", lambda s: s["properties"]["prompt"].update(default="x"), "['default'] not accepted"),
        ("openai_chat_strict", lambda s: s["properties"]["prompt"].update(maxLength=5), "['maxLength'] not accepted"),
        ("openai_chat_strict", lambda s: s["properties"]["prompt"].update(enum=[str(i) for i in range(1001)]), "enum_values 10"),
        ("openai_chat", lambda s: s["properties"]["prompt"].update({"x-order": 0}), "['x-order'] not accepted"),
        ("openai_chat", lambda s: s["properties"]["prompt"].update(type="file"), "unknown type 'file'"),
        ("openai_chat", lambda s: s["properties"]["aspect_ratio"].update(enum=[1, 2]), "do not match type"),
        ("anthropic", lambda s: s["properties"]["prompt"].update(fileType="image"), "['fileType'] not accepted"),
        ("anthropic", lambda s: s.update(required=["nope"]), "required must list existing properties"),
        ("gemini", lambda s: s.update(additionalProperties=False), "['additionalProperties'] not accepted"),
        ("gemini", lambda s: s["properties"]["prompt"].update(type=["STRING", "NULL"]), "type must be one of"),
        ("gemini", lambda s: s["properties"]["num_inference_steps"].update(enum=[1, 2]), "enums must be lists of strings"),
        ("gemini", lambda s: s["properties"].update({"bad-name": {"type": "STRING"}}), "parameter name 'bad-name'"),
    ],
)
def test_validator_rejects(fmt: str, mutate: Any, expected: str) -> None:
    problems = problems_after(mutate, fmt)
    assert any(expected in p for p in problems), problems


def test_validator_rejects_bad_names_descriptions_and_bundles() -> None:
    assert any("name must match" in p for p in check.openai_chat_tool(strict_tool(name="x" * 65), strict=True))
    assert any("name must match" in p for p in check.openai_chat_tool(strict_tool(name="a.b"), strict=True))
    assert any("at most 1024" in p for p in check.openai_chat_tool(strict_tool(description="d" * 1025), strict=True))
    assert any("'strict' must be True" in p for p in check.openai_chat_tool(strict_tool(strict=False), strict=True))
    decl = copy.deepcopy(tools_of("gemini")["genvr_3dgen__trellis"])
    assert check.gemini_declaration(decl) == []
    decl["name"] = "3dgen__trellis"
    assert any("name must match" in p for p in check.gemini_declaration(decl))
    tool = strict_tool()
    assert any("at most 128" in p for p in check.openai_bundle([tool] * 129))
    assert any("duplicate" in p for p in check.openai_bundle([tool, tool]))
    root_any = strict_tool(parameters={"anyOf": [{"type": "object"}]})
    assert any("root anyOf" in p for p in check.openai_chat_tool(root_any, strict=True))


def test_hostile_schema_text_stays_json_data_and_tools_stay_valid() -> None:
    from generator.pipeline import build_specs
    from generator.targets import llm_tools
    from generator.targets.python_package import plan
    from generator_helpers import StaticSource
    from test_hostile_schemas import PAYLOADS, hostile_schema

    texts = [t for t in PAYLOADS if t != "\ud800"]
    models = [{"category": "3dgen", "subcategory": f"h_{i}", "name": t, "description": t} for i, t in enumerate(texts)]
    specs = build_specs(StaticSource(models=models, schemas={f"3dgen/h_{i}": hostile_schema(t) for i, t in enumerate(texts)}).load())
    files = llm_tools.render(plan(specs.models))
    docs = {rel: json.loads(text) for rel, text in files.items() if rel.endswith(".json")}
    chat = [t for rel, doc in docs.items() if rel.startswith("genvr/tools/openai_chat/gen3d/") for t in doc["tools"]]
    assert len(chat) == len(texts) and all(check.openai_chat_tool(t, strict=False) == [] for t in chat)
    assert {t["function"]["name"] for t in chat} == {f"genvr_3dgen__h_{i}" for i in range(len(texts))}
    for i, text in enumerate(texts):  # the hostile property name survives as a key, its text as values
        props = next(t for t in chat if t["function"]["name"] == f"genvr_3dgen__h_{i}")["function"]["parameters"]["properties"]
        assert text in props and props[text]["enum"] == [text, "safe"]
    gemini = [doc for rel, doc in docs.items() if rel.startswith("genvr/tools/gemini/gen3d/")]
    assert any("Left out" in doc["$comment"] and doc["left_out"] for doc in gemini)  # Gemini refuses such parameter names
