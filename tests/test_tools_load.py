"""`genvr.tools.load`: the LLM tool specs ship inside the `genvr` package (issue 11, item 5); the fresh-venv
quickstart test (tests/test_quickstart.py) calls it from an installed wheel, outside the checkout."""

from __future__ import annotations

import pytest

from genvr import tools
from genvr.catalog import CATALOG
from genvr_runtime.tools.mcp_server import load_tools


def names(specs: list[dict[str, object]]) -> list[str]:
    return [str(t.get("function", t)["name"]) for t in specs]  # type: ignore[index]


def test_one_category_is_that_categorys_tools() -> None:
    imagegen = {name for name, key in tools.TOOL_NAMES.items() if key.startswith("imagegen/")}
    loaded = tools.load("openai_chat_strict", category="imagegen")
    assert loaded and set(names(loaded)) <= imagegen
    assert all(t["type"] == "function" and t["function"]["strict"] is True for t in loaded)
    # the non-strict form expresses every model
    assert set(names(tools.load("openai_chat", category="imagegen"))) == imagegen


def test_without_category_every_model_and_the_mcp_servers_list() -> None:
    assert sorted(names(tools.load("anthropic"))) == sorted(tools.TOOL_NAMES) and len(tools.TOOL_NAMES) == len(CATALOG)
    # the MCP server lists the same tools, in the same order
    assert names(load_tools()) == names(tools.load("mcp")) == [t["name"] for t in tools.load("anthropic")]


def test_category_by_genvr_name_or_python_name() -> None:
    assert tools.load("openai_responses", category="3dgen") == tools.load("openai_responses", category="gen3d")
    assert {key.split("/")[0] for key in (tools.TOOL_NAMES[n] for n in names(tools.load("mcp", category="3dgen")))} == {"3dgen"}


def test_gemini_is_one_declaration_group() -> None:
    loaded = tools.load("gemini")
    assert len(loaded) == 1 and list(loaded[0]) == ["functionDeclarations"]
    per_category = [d for c in ("imagegen", "videogen") for d in tools.load("gemini", category=c)[0]["functionDeclarations"]]
    assert len(loaded[0]["functionDeclarations"]) > len(per_category) > 0


def test_unknown_format_or_category_names_it_and_the_valid_ones() -> None:
    with pytest.raises(ValueError) as bad_format:
        tools.load("openai_strict")  # type: ignore[arg-type]
    assert str(bad_format.value) == f"unknown tool format 'openai_strict'; valid formats: {', '.join(tools.FORMATS)}"
    assert "openai_chat_strict" in str(bad_format.value)
    with pytest.raises(ValueError) as bad_category:
        tools.load("mcp", category="images")  # type: ignore[arg-type]
    assert str(bad_category.value).startswith("unknown category 'images'; valid categories: ")
    assert "imagegen" in str(bad_category.value) and "3dgen" in str(bad_category.value)
