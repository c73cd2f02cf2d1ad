"""Target: LLM tool specs (OpenAI, Anthropic, Gemini, MCP) from the same ModelSpecs as the input classes.

Layout under generated/genvr/ (package data, so the specs ship in the wheel and `genvr.tools.load` reads them
outside a checkout; every JSON file is `{"$comment": <do-not-edit notice>, "tools": [...]}`; the `tools` list is
what the provider's request takes, as-is; the notice sits on the first line like every header):

    tools/<format>/<category>.json           one category: fits one request (≤ 128 tools)
    tools/<format>/<category>/<model>.json   one model
    tools/tool_search/openai_responses.json  all models: a namespace per category, functions deferred, + tool_search
    tools/tool_search/anthropic.json         all models deferred + the BM25 tool-search tool
    tools/__init__.py                        `load(format, category)`; tool name → model key (the dispatcher's map)
    mcp_tools.json                           every MCP tool (what the MCP server lists)

<format>: openai_chat, openai_chat_strict, openai_responses, openai_responses_strict, anthropic, gemini, mcp.
A model a format cannot express (no published schema in a strict or Gemini schema) is left out of it, and the
bundle's notice says which and why. Shapes live in templates/tools/*.json.jinja; schemas in llm_tools_schema.
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


def render(categories: list[PlannedCategory]) -> dict[str, str]:
    """Files by path relative to generated/ (.py files are formatted by the pipeline)."""
    models = [m for c in categories for m in c.models]
    names = {m.spec.key: m.tool_name for m in models}
    tools = {m.spec.key: Tool(m, names[m.spec.key], tool_description(m.spec)) for m in models}
    built = {fmt: {key: _build(spec, tool) for key, tool in tools.items()} for fmt, spec in FORMATS.items()}

    tools_dir = f"{PACKAGE}/tools"
    files: dict[str, str] = {}
    for fmt, spec in FORMATS.items():
        for category in categories:
            made, omitted = [], []
            for m in category.models:
                doc, reason = built[fmt][m.spec.key]
                if doc is None:
                    omitted.append(f"{m.spec.key} ({reason})")
                    continue
                made.append(doc)
                files[f"{tools_dir}/{fmt}/{category.attr}/{m.attr}.json"] = _json_file(spec.wrap([doc]))
            note = f" Left out (this format cannot express them): {'; '.join(omitted)}." if omitted else ""
            files[f"{tools_dir}/{fmt}/{category.attr}.json"] = _json_file(spec.wrap(made), note)

    files[f"{tools_dir}/tool_search/openai_responses.json"] = _json_file(_openai_tool_search(categories, tools, built))
    files[f"{tools_dir}/tool_search/anthropic.json"] = _json_file(_anthropic_tool_search(tools, built))
    files[f"{PACKAGE}/mcp_tools.json"] = _json_file([doc for doc, _ in built["mcp"].values() if doc is not None])
    # `load` takes a category as GenVR names it or as its Python attribute (the folder name)
    category_names = {name: c.attr for c in categories for name in dict.fromkeys((c.raw, c.attr))}
    files[f"{tools_dir}/__init__.py"] = render_template(
        "tools/tools.py.jinja", names=sorted((t.name, k) for k, t in tools.items()), formats=tuple(FORMATS), categories=category_names
    )
    return files


Built = dict[str, dict[str, tuple["Doc | None", str]]]


class Doc(dict[str, Any]):
    """A tool document that remembers its indented JSON text: it is written up to four times (its own file,
    its bundle, the tool-search and MCP sets), and the indenting encoder is pure Python, so encode once."""

    @cached_property
    def text(self) -> str:
        return _pretty(dict(self), "")


def _build(fmt: Format, tool: Tool) -> tuple[Doc | None, str]:
    """(tool document, "") or (None, why it is left out). A document our validator rejects is never written."""
    try:
        doc = Doc(fmt.make(tool))
    except Unsupported as exc:
        return None, str(exc)
    problems = fmt.validate(doc)
    return (None, "; ".join(problems)) if problems else (doc, "")


def _openai_tool_search(categories: list[PlannedCategory], tools: dict[str, Tool], built: Built) -> list[Any]:
    """Responses API tool search: a namespace per category (the model sees its name and description), the
    functions inside deferred; strict where the strict form exists (Responses prefers it), else non-strict."""
    out: list[Any] = []
    for category in categories:
        functions = []
        for m in category.models:
            strict = built["openai_responses_strict"][m.spec.key][0] is not None
            if not strict and built["openai_responses"][m.spec.key][0] is None:
                continue
            fields = tools[m.spec.key].fields("strict" if strict else "full", strict=strict)
            functions.append(_from_template("openai_responses_tool", **fields, defer_loading="1"))
        shown = ", ".join(m.spec.display_name for m in category.models)
        description = clip(f"GenVR {category.raw} models ({len(category.models)}), each a paid generation job: {shown}")
        out.append(_from_template("openai_namespace", name=_encode(f"genvr_{category.attr}"),
                                  description=_encode(description), tools=_encode(functions)))
    return [*out, {"type": "tool_search"}]


def _anthropic_tool_search(tools: dict[str, Tool], built: Built) -> list[Any]:
    deferred = [
        Doc(_from_template("anthropic_tool", **t.fields("full"), defer_loading="1"))
        for key, t in tools.items()
        if built["anthropic"][key][0] is not None
    ]
    return [{"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"}, *deferred]


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_file(tools: list[Any], note: str = "") -> str:
    """`{"$comment", "tools"}` with the notice on the first line, as every generated file has its header."""
    return '{"$comment": ' + _encode(NOTICE + note) + ',\n  "tools": ' + _pretty(tools, "  ") + "\n}\n"


_compact = json.JSONEncoder(ensure_ascii=False).encode  # the C encoder (the indenting one is pure Python)
_string: Callable[[str], str] = json.encoder.encode_basestring


def _pretty(value: Any, pad: str) -> str:
    """JSON indented by 2, except that a list of scalars (an enum, a type list) stays on one line: readable,
    deterministic, and four times faster to make than `json.dumps(indent=2)`."""
    if isinstance(value, Doc):
        return value.text.replace("\n", "\n" + pad)
    inner = pad + "  "
    if isinstance(value, dict) and value:
        return "{\n" + ",\n".join(f"{inner}{_string(k)}: {_pretty(v, inner)}" for k, v in value.items()) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + "\n" + pad + "]"
    return _string(value) if isinstance(value, str) else _compact(value)
