"""Our own check of each provider's accepted JSON Schema subset (research note B2–B7).

The SDK helpers (`openai.lib._pydantic.to_strict_json_schema`, anthropic's `transform_schema`) reshape a schema
but never reject what the API would reject (`format: uri` in strict mode, an extension key, a 65-character
name), so every spec the generator writes passes through these functions; each returns the list of problems,
every one naming the tool and the JSON path. Whitelists, not deny-lists: a keyword nobody listed is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ANTHROPIC_NAME = OPENAI_NAME
GEMINI_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")
GEMINI_PARAMETER_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
MCP_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

OPENAI_MAX_TOOLS = 128
DESCRIPTION_LIMIT = 1024

_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
# What the `full` dialect may use: standard JSON Schema only, no GenVR extension keys (x-order, fileType, step…).
FULL_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "anyOf", "description",
        "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
        "format", "minItems", "maxItems", "pattern", "title",
    }
)  # fmt: skip
# OpenAI Structured Outputs "Supported schemas" (no default, no minLength/maxLength, no oneOf/allOf/not/if).
STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "description", "title", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "pattern", "format", "minItems", "maxItems", "$ref", "$defs",
    }
)  # fmt: skip
STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
STRICT_LIMITS = {"properties": 5000, "depth": 10, "enum_values": 1000, "string_budget": 120_000}
# Gemini `Schema` (OpenAPI 3.0 subset); `additionalProperties`, `const`, `exclusive*`, `$schema` are refused.
GEMINI_KEYWORDS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "default", "enum", "items", "minItems", "maxItems",
        "properties", "required", "propertyOrdering", "minProperties", "maxProperties", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "example", "anyOf",
    }
)  # fmt: skip
GEMINI_TYPES = frozenset({"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"})
GEMINI_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}


# ---------------------------------------------------------------------------------------------------------------
# Tools, per provider


def openai_function(fn: Mapping[str, Any], *, strict: bool) -> list[str]:
    """`{name, description, parameters, strict}`: the Chat `function` object or a flat Responses tool."""
    where = str(fn.get("name"))
    problems = _name(fn.get("name"), OPENAI_NAME, where) + _description(fn.get("description"), where)
    if fn.get("strict") is not strict:
        problems.append(f"{where}: 'strict' must be {strict}")
    params = fn.get("parameters")
    if not isinstance(params, Mapping) or params.get("type") != "object" or "anyOf" in params:
        return problems + [f"{where}: parameters must be an object schema (root anyOf is refused)"]
    return problems + (_strict_schema(params, where) if strict else _full_schema(params, where))


def openai_chat_tool(tool: Mapping[str, Any], *, strict: bool) -> list[str]:
    if set(tool) != {"type", "function"} or tool.get("type") != "function":
        return [f"{tool.get('function', {}).get('name')}: a Chat tool is exactly {{type: function, function}}"]
    return openai_function(tool["function"], strict=strict)


def openai_responses_tool(tool: Mapping[str, Any], *, strict: bool) -> list[str]:
    allowed = {"type", "name", "description", "parameters", "strict", "defer_loading"}
    extra = sorted(set(tool) - allowed)
    problems = [f"{tool.get('name')}: unexpected keys {extra}"] if extra else []
    if tool.get("type") != "function":
        problems.append(f"{tool.get('name')}: type must be 'function'")
    return problems + openai_function(tool, strict=strict)


def openai_bundle(tools: list[Mapping[str, Any]]) -> list[str]:
    """A `tools` list sent in one request: at most 128 tools, names unique."""
    names = [t.get("function", t).get("name") for t in tools]
    problems = [f"{len(tools)} tools: OpenAI accepts at most {OPENAI_MAX_TOOLS} per request"] if len(tools) > OPENAI_MAX_TOOLS else []
    return problems + _duplicates(names)


def anthropic_tool(tool: Mapping[str, Any]) -> list[str]:
    where = str(tool.get("name"))
    allowed = {"name", "description", "input_schema", "defer_loading", "input_examples", "cache_control", "strict", "type"}
    problems = _name(tool.get("name"), ANTHROPIC_NAME, where) + _description(tool.get("description"), where)
    if set(tool) - allowed:
        problems.append(f"{where}: unexpected keys {sorted(set(tool) - allowed)}")
    schema = tool.get("input_schema")
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return problems + [f"{where}: input_schema must be an object schema"]
    return problems + _full_schema(schema, where)


def gemini_declaration(decl: Mapping[str, Any]) -> list[str]:
    where = str(decl.get("name"))
    problems = _name(decl.get("name"), GEMINI_NAME, where) + _description(decl.get("description"), where)
    if set(decl) - {"name", "description", "parameters"}:
        problems.append(f"{where}: unexpected keys {sorted(set(decl) - {'name', 'description', 'parameters'})}")
    params = decl.get("parameters")
    if params is None:
        return problems
    if not isinstance(params, Mapping) or params.get("type") != "OBJECT":
        return problems + [f"{where}: parameters must be a Schema of type OBJECT"]
    return problems + _gemini_schema(params, f"{where}:parameters")


def mcp_tool(tool: Mapping[str, Any]) -> list[str]:
    where = str(tool.get("name"))
    allowed = {"name", "title", "description", "inputSchema", "outputSchema", "annotations"}
    problems = _name(tool.get("name"), MCP_NAME, where)
    # Clients forward MCP tools to OpenAI/Anthropic, so the stricter name rule applies as well.
    problems += _name(tool.get("name"), OPENAI_NAME, where)
    if set(tool) - allowed:
        problems.append(f"{where}: unexpected keys {sorted(set(tool) - allowed)}")
    for key in ("inputSchema", "outputSchema"):
        schema = tool.get(key)
        if schema is None and key == "outputSchema":
            continue
        if not isinstance(schema, Mapping) or schema.get("type") != "object":
            problems.append(f"{where}: {key} must have an object root")
        else:
            problems += _full_schema(schema, f"{where}:{key}")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Schemas


def _full_schema(schema: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    for path, node in _walk(schema, where, problems):
        problems += _keywords(node, FULL_KEYWORDS, path)
        problems += _types_and_enum(node, path)
    return problems


def _strict_schema(schema: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    properties = enum_values = budget = 0
    for path, node in _walk(schema, where, problems):
        problems += _keywords(node, STRICT_KEYWORDS, path)
        problems += _types_and_enum(node, path)
        if path.count(".properties.") + 1 > STRICT_LIMITS["depth"]:
            problems.append(f"{path}: nested deeper than {STRICT_LIMITS['depth']} levels")
        if "format" in node and node["format"] not in STRICT_FORMATS:
            problems.append(f"{path}: format {node['format']!r} is not supported in strict mode")
        if _is_object(node):
            props = node.get("properties", {})
            properties += len(props)
            budget += sum(len(k) for k in props)
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: strict mode needs additionalProperties: false")
            if list(node.get("required", [])) != list(props):
                problems.append(f"{path}: strict mode needs every property in 'required', in order")
        if "enum" in node:
            values = node["enum"]
            enum_values += len(values)
            strings = [v for v in values if isinstance(v, str)]
            budget += sum(len(v) for v in strings)
            if len(values) > 250 and sum(len(v) for v in strings) > 15_000:
                problems.append(f"{path}: an enum of more than 250 values may total at most 15,000 characters")
    for label, value in (("properties", properties), ("enum_values", enum_values), ("string_budget", budget)):
        if value > STRICT_LIMITS[label]:
            problems.append(f"{where}: {label} {value} exceeds the strict-mode limit {STRICT_LIMITS[label]}")
    return problems


def _gemini_schema(schema: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    for path, node in _walk(schema, where, problems):
        problems += _keywords(node, GEMINI_KEYWORDS, path)
        t = node.get("type")
        if "anyOf" in node:
            if t is not None:
                problems.append(f"{path}: a Gemini anyOf schema carries no type of its own")
        elif not isinstance(t, str) or t not in GEMINI_TYPES:
            problems.append(f"{path}: type must be one of {sorted(GEMINI_TYPES)}, got {t!r}")
        if "format" in node and node["format"] not in GEMINI_FORMATS.get(str(t), set()):
            problems.append(f"{path}: format {node['format']!r} is not supported for {t}")
        if "enum" in node and (t != "STRING" or not isinstance(node["enum"], list) or not all(isinstance(v, str) for v in node["enum"])):
            problems.append(f"{path}: Gemini enums must be lists of strings on a STRING schema")
        props = node.get("properties", {})
        for name in props:
            if not GEMINI_PARAMETER_NAME.match(name):
                problems.append(f"{path}: parameter name {name!r} is not accepted by Gemini")
        if "propertyOrdering" in node and sorted(node["propertyOrdering"]) != sorted(props):
            problems.append(f"{path}: propertyOrdering must list exactly the properties")
    return problems


def _walk(schema: Mapping[str, Any], where: str, problems: list[str]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every subschema with its path; structural errors (properties not an object …) go to `problems`."""
    stack: list[tuple[str, Any]] = [(where, schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, Mapping):
            problems.append(f"{path}: a schema must be an object, got {type(node).__name__}")
            continue
        yield path, node
        props = node.get("properties", {})
        if not isinstance(props, Mapping):
            problems.append(f"{path}: properties must be an object")
            props = {}
        required = node.get("required", [])
        if not isinstance(required, list) or set(required) - set(props):
            problems.append(f"{path}: required must list existing properties, got {required!r}")
        stack.extend((f"{path}.properties.{k}", v) for k, v in reversed(list(props.items())))
        if "items" in node:
            stack.append((f"{path}.items", node["items"]))
        for i, branch in enumerate(node.get("anyOf", [])):
            stack.append((f"{path}.anyOf[{i}]", branch))


def _keywords(node: Mapping[str, Any], allowed: frozenset[str], path: str) -> list[str]:
    unknown = sorted(set(node) - allowed)
    return [f"{path}: keyword(s) {unknown} not accepted here"] if unknown else []


def _types_and_enum(node: Mapping[str, Any], path: str) -> list[str]:
    t = node.get("type")
    types = t if isinstance(t, list) else [t] if t is not None else []
    problems = [f"{path}: unknown type {x!r}" for x in types if not isinstance(x, str) or x not in _JSON_TYPES]
    if "enum" in node:
        values = node["enum"]
        if not isinstance(values, list) or not values:
            return problems + [f"{path}: enum must be a non-empty list"]
        kinds = {_json_kind(v) for v in values}
        if types and not kinds <= set(types) | ({"integer"} if "number" in types else set()):
            problems.append(f"{path}: enum values of kinds {sorted(kinds)} do not match type {t!r}")
    return problems


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _is_object(node: Mapping[str, Any]) -> bool:
    t = node.get("type")
    return t == "object" or (isinstance(t, list) and "object" in t)


def _name(name: Any, pattern: re.Pattern[str], where: str) -> list[str]:
    return [] if isinstance(name, str) and pattern.match(name) else [f"{where}: name must match {pattern.pattern}"]


def _description(text: Any, where: str) -> list[str]:
    if text is None:
        return []
    if not isinstance(text, str) or len(text) > DESCRIPTION_LIMIT:
        return [f"{where}: description must be a string of at most {DESCRIPTION_LIMIT} characters"]
    return []


def _duplicates(names: list[Any]) -> list[str]:
    dupes = sorted({str(n) for n in names if names.count(n) > 1})
    return [f"duplicate tool names {dupes}"] if dupes else []
