"""The LLM tool target split for cost proportional to change (issue 13): a model's tool files depend on it alone,
the index holds no tool document, and what used to be aggregate files (a bundle per format and category, the two
tool-search sets, the MCP server's list) is assembled at load time, equal to what those files held."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

import pytest

from generator.targets import llm_tools
from generator.targets.llm_tools import FORMATS, Tool, _build, _from_template, _namespace_description
from generator.targets.llm_tools_schema import tool_description
from generator.targets.python_package import PlannedCategory, PlannedModel, plan
from generator_helpers import snapshot_specs
from genvr import tools
from genvr_runtime.tools.mcp_server import load_tools

FLUX = "imagegen/flux_dev"
FREE_FORM = {"3dgen/hyper3d_rodin_v2", "3dgen/meshy3d_v6", "videogen/google_veo3_1", "videogen/sora2", "vidutils/sora2_watermark_remover"}


@cache
def categories(description: str | None = None) -> list[PlannedCategory]:
    """The snapshot's plan; with `description`, flux_dev's description replaced by it."""
    specs = list(snapshot_specs().values())
    if description is not None:
        specs = [dataclasses.replace(s, description=description) if s.key == FLUX else s for s in specs]
    return plan(specs)


def model(cats: list[PlannedCategory], key: str) -> PlannedModel:
    return next(m for c in cats for m in c.models if m.spec.key == key)


def test_a_changed_description_changes_that_models_files_and_not_the_index() -> None:
    before, after = categories(), categories("Draws whatever the prompt says, now with a new description.")
    old, new = llm_tools.model_files(model(before, FLUX)), llm_tools.model_files(model(after, FLUX))
    assert sorted(old) == sorted(new) == sorted(f"genvr/tools/{fmt}/imagegen/flux_dev.json" for fmt in FORMATS)
    assert all(old[path] != new[path] and "now with a new description" in new[path] for path in old)
    assert llm_tools.index_files(before) == llm_tools.index_files(after)
    # the index is small: names and namespace descriptions, no tool document (a schema would bring "properties")
    index = "".join(llm_tools.index_files(before).values())
    assert '"properties"' not in index and "Draws whatever" not in index and len(index) < 60_000
    # and render() is both together, for callers that want everything
    assert llm_tools.render(before) == {**llm_tools.index_files(before),
                                        **{p: t for c in before for m in c.models for p, t in llm_tools.model_files(m).items()}}


@cache
def old_aggregates() -> dict[str, list[Any]]:
    """What the aggregate files held, made the way the target made them before the split (from the same
    templates, for the committed snapshot): `<format>/<category>`, `<format>` (all), `tool_search/<provider>`."""
    cats = categories()
    built = {fmt: {m.spec.key: _build(spec, Tool(m, m.tool_name, tool_description(m.spec))) for c in cats for m in c.models}
             for fmt, spec in FORMATS.items()}  # fmt: skip
    out: dict[str, list[Any]] = {}
    for fmt, spec in FORMATS.items():
        for c in cats:
            out[f"{fmt}/{c.attr}"] = spec.wrap([d for m in c.models if (d := built[fmt][m.spec.key][0]) is not None])
        out[fmt] = spec.wrap([d for c in cats for m in c.models if (d := built[fmt][m.spec.key][0]) is not None])
    namespaces = []
    for c in cats:
        functions = []
        for m in c.models:
            strict = built["openai_responses_strict"][m.spec.key][0] is not None
            if strict or built["openai_responses"][m.spec.key][0] is not None:
                fields = Tool(m, m.tool_name, tool_description(m.spec)).fields("strict" if strict else "full", strict=strict)
                functions.append(_from_template("openai_responses_tool", **fields, defer_loading="1"))
        namespaces.append(_from_template("openai_namespace", name=json.dumps(f"genvr_{c.attr}"),
                                         description=json.dumps(_namespace_description(c)), tools=json.dumps(functions)))  # fmt: skip
    out["tool_search/openai_responses"] = [*namespaces, {"type": "tool_search"}]
    deferred = [_from_template("anthropic_tool", **Tool(m, m.tool_name, tool_description(m.spec)).fields("full"), defer_loading="1")
                for c in cats for m in c.models if built["anthropic"][m.spec.key][0] is not None]  # fmt: skip
    out["tool_search/anthropic"] = [{"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"}, *deferred]
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_load_assembles_what_the_bundles_held(fmt: str) -> None:
    expected = old_aggregates()
    for category in dict.fromkeys(tools.CATEGORIES.values()):
        assert tools.load(fmt, category=category) == expected[f"{fmt}/{category}"], (fmt, category)  # type: ignore[arg-type]
    assert tools.load(fmt) == expected[fmt]  # type: ignore[arg-type]


def test_load_tool_search_builds_what_the_tool_search_files_held() -> None:
    expected = old_aggregates()
    for provider in ("openai_responses", "anthropic"):
        loaded = tools.load_tool_search(provider)
        assert json.dumps(loaded) == json.dumps(expected[f"tool_search/{provider}"]), provider  # key order too
    with pytest.raises(ValueError, match="unknown tool-search provider 'gemini'; valid providers: openai_responses, anthropic"):
        tools.load_tool_search("gemini")  # type: ignore[arg-type]


def test_the_mcp_server_lists_every_mcp_tool_in_order() -> None:
    assert load_tools() == old_aggregates()["mcp"] == tools.load("mcp")


def test_left_out_models_and_why_are_listed_per_format() -> None:
    for fmt in FORMATS:
        strictish = fmt in ("openai_chat_strict", "openai_responses_strict", "gemini")
        missing = tools.left_out(fmt)  # type: ignore[arg-type]
        assert set(missing) == (FREE_FORM if strictish else set()), fmt
        assert all(reason == "GenVR publishes no schema for it (free-form inputs)" for reason in missing.values())
    assert tools.left_out("gemini", category="videogen") == {k: v for k, v in tools.left_out("gemini").items() if k.startswith("videogen/")}
