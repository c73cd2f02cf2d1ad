"""Target: LLM tool specs (OpenAI, Anthropic, Gemini, MCP) from the same ModelSpecs as the input classes.

Layout under generated/genvr/ (package data, so the specs ship in the wheel and `genvr.tools.load` reads them
outside a checkout; every JSON file is `{"$comment": <do-not-edit notice>, "tools": [...]}`; the `tools` list is
what the provider's request takes, as-is; the notice sits on the first line like every header):

    tools/<format>/<category>/<model>.json   one model (`model_files`: depends on that model alone)
    tools/__init__.py                        `load(format, category)` and `load_tool_search(provider)`, which
                                             assemble the per-model files; tool name → model key (`index_files`)

Nothing holds every model's documents: a category, a format's whole list, the tool-search sets (a namespace per
category with the functions deferred; Anthropic's deferred tools with the BM25 tool) and the MCP server's list
are assembled from the per-model files when loaded, so a changed model rewrites its own files only.

<format>: openai_chat, openai_chat_strict, openai_responses, openai_responses_strict, anthropic, gemini, mcp.
A model a format cannot express (no published schema in a strict or Gemini schema) is left out of it: its file in
that format holds no tool, and its `left_out` (also in the notice) says why; `genvr.tools.left_out` lists them.
Shapes live in templates/tools/*.json.jinja; schemas in llm_tools_schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..render import HEADER, render as render_template
from ..targets import llm_tools_validate as check
from ..targets.llm_tools_schema import Dialect, Unsupported, clip, parameters, tool_description
from ..targets.python_package import PACKAGE, PlannedCategory, PlannedModel

TOOLS_DIR = f"{PACKAGE}/tools"
NOTICE = HEADER.removeprefix("# ").replace("DO NOT EDIT.", "DO NOT EDIT. Pass `tools` to the provider as-is.")


@dataclass(frozen=True)
class Tool:
    """What every format of one model is made from."""

    model: PlannedModel
    name: str
    description: str

    _params: dict[Dialect, str] = field(default_factory=dict, repr=False)  # JSON by dialect, made once

    @cached_property
    def _encoded(self) -> dict[str, str]:
        return {"name": _encode(self.name), "description": _encode(self.description), "title": _encode(self.model.spec.display_name)}

    def _parameters(self, dialect: Dialect) -> str:
        if dialect not in self._params:
            self._params[dialect] = _encode(parameters(self.model.spec, dialect))
        return self._params[dialect]

    def fields(self, dialect: Dialect, **extra: Any) -> dict[str, str]:
        """Template context: every value JSON-encoded, so schema text can only ever be a JSON string."""
        return {**self._encoded, "parameters": self._parameters(dialect), **{k: _encode(v) for k, v in extra.items()}}


@dataclass(frozen=True)
class Format:
    dialect: Dialect
    make: Callable[[Tool], dict[str, Any]]
    validate: Callable[[dict[str, Any]], list[str]]
    wrap: Callable[[list[Any]], list[Any]] = lambda tools: tools


def _from_template(template: str, **fields: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_template(f"tools/{template}.json.jinja", **fields))
    return doc


FORMATS: dict[str, Format] = {
    "openai_chat": Format(
        "full",
        lambda t: _from_template("openai_chat_tool", **t.fields("full", strict=False)),
        lambda d: check.openai_chat_tool(d, strict=False),
    ),
    "openai_chat_strict": Format(
        "strict",
        lambda t: _from_template("openai_chat_tool", **t.fields("strict", strict=True)),
        lambda d: check.openai_chat_tool(d, strict=True),
    ),
    "openai_responses": Format(
        "full",
        lambda t: _from_template("openai_responses_tool", **t.fields("full", strict=False), defer_loading=""),
        lambda d: check.openai_responses_tool(d, strict=False),
    ),
    "openai_responses_strict": Format(
        "strict",
        lambda t: _from_template("openai_responses_tool", **t.fields("strict", strict=True), defer_loading=""),
        lambda d: check.openai_responses_tool(d, strict=True),
    ),
    "anthropic": Format(
        "full",
        lambda t: _from_template("anthropic_tool", **t.fields("full"), defer_loading=""),
        check.anthropic_tool,
    ),
    "gemini": Format(
        "gemini",
        lambda t: _from_template("gemini_declaration", **t.fields("gemini")),
        check.gemini_declaration,
        lambda decls: [{"functionDeclarations": decls}] if decls else [],  # Gemini's `tools` holds declaration groups
    ),
    "mcp": Format("full", lambda t: _from_template("mcp_tool", **t.fields("full")), check.mcp_tool),
}


def model_files(m: PlannedModel) -> dict[str, str]:
    """The tool files of one model, one per format, by path relative to generated/: its tool document, or (for a
    format that cannot express it) no tool and `left_out` saying why. Depends on `m` alone (cached by its repr)."""
    tool = Tool(m, m.tool_name, tool_description(m.spec))
    files: dict[str, str] = {}
    for fmt, spec in FORMATS.items():
        doc, reason = _build(spec, tool)
        path = f"{TOOLS_DIR}/{fmt}/{m.category_attr}/{m.attr}.json"
        if doc is None:
            files[path] = _json_file([], f" Left out: this format cannot express {m.spec.key} ({reason}).", left_out=reason)
        else:
            files[path] = _json_file(spec.wrap([doc]))
    return files


def index_files(categories: list[PlannedCategory]) -> dict[str, str]:
    """The loader module: names, the model files of each category in order, the tool-search namespaces'
    descriptions; no tool document (those are the model files, assembled by `load` when asked)."""
    models = [m for c in categories for m in c.models]
    # `load` takes a category as GenVR names it or as its Python attribute (the folder name)
    category_names = {name: c.attr for c in categories for name in dict.fromkeys((c.raw, c.attr))}
    return {
        f"{TOOLS_DIR}/__init__.py": render_template(
            "tools/tools.py.jinja",
            names=sorted((m.tool_name, m.spec.key) for m in models),
            formats=tuple(FORMATS),
            categories=category_names,
            folders={c.attr: {m.attr: m.spec.key for m in c.models} for c in categories},
            namespaces={c.attr: _namespace_description(c) for c in categories},
        )
    }


def render(categories: list[PlannedCategory]) -> dict[str, str]:
    """Every tool file by path relative to generated/ (.py files are formatted by the pipeline)."""
    files = index_files(categories)
    for category in categories:
        for m in category.models:
            files.update(model_files(m))
    return files


def _namespace_description(category: PlannedCategory) -> str:
    """What tool search shows the model of a category's namespace (the functions inside load on demand)."""
    shown = ", ".join(m.spec.display_name for m in category.models)
    return clip(f"GenVR {category.raw} models ({len(category.models)}), each a paid generation job: {shown}")


def _build(fmt: Format, tool: Tool) -> tuple[dict[str, Any] | None, str]:
    """(tool document, "") or (None, why it is left out). A document our validator rejects is never written."""
    try:
        doc = fmt.make(tool)
    except Unsupported as exc:
        return None, str(exc)
    problems = fmt.validate(doc)
    return (None, "; ".join(problems)) if problems else (doc, "")


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_file(tools: list[Any], note: str = "", **extra: str) -> str:
    """`{"$comment", ..., "tools"}` with the notice on the first line, as every generated file has its header."""
    fields = "".join(f',\n  {_string(k)}: {_string(v)}' for k, v in extra.items())
    return '{"$comment": ' + _encode(NOTICE + note) + fields + ',\n  "tools": ' + _pretty(tools, "  ") + "\n}\n"


_compact = json.JSONEncoder(ensure_ascii=False).encode  # the C encoder (the indenting one is pure Python)
_string: Callable[[str], str] = json.encoder.encode_basestring


def _pretty(value: Any, pad: str) -> str:
    """JSON indented by 2, except that a list of scalars (an enum, a type list) stays on one line: readable,
    deterministic, and four times faster to make than `json.dumps(indent=2)`."""
    inner = pad + "  "
    if isinstance(value, dict) and value:
        return "{\n" + ",\n".join(f"{inner}{_string(k)}: {_pretty(v, inner)}" for k, v in value.items()) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + "\n" + pad + "]"
    return _string(value) if isinstance(value, str) else _compact(value)
