"""Target: per-model reference pages (Markdown in generated/docs/) and a static HTML catalogue (`make docs`).

Both come from the same per-model context (inputs table, presets, output kind, example calls in Python, CLI and
JSONL, the ComfyUI node) through the Jinja templates in templates/docs/.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from ..normalize import Param
from ..render import pyrepr, render
from ..targets import comfyui_pack
from ..targets.python_package import PlannedCategory, PlannedModel, annotation

DOCS = "docs"


def example_value(p: Param) -> Any:
    """A value a reader can start from: the default, else the first choice, the lowest bound, a sample URL..."""
    if p.has_default and p.default is not None:
        return p.default
    if p.enum:
        return p.enum[0]
    if p.main_type == "array":
        item = "https://example.com/input.png" if p.items and p.items.is_file else "text"
        return [item] * max(p.min_items or 1, 1)
    if p.is_file:
        return "https://example.com/input.png"
    if p.main_type in ("integer", "number"):
        low = p.minimum if p.minimum is not None else 1
        return int(low) if p.main_type == "integer" else float(low)
    if p.main_type == "boolean":
        return True
    return "a lighthouse at dawn" if "prompt" in p.python_name else "text"


def _range(p: Param) -> str:
    parts = []
    if p.minimum is not None:
        parts.append(f"{'>' if p.exclusive_minimum else '≥'} {p.minimum}")
    if p.maximum is not None:
        parts.append(f"{'<' if p.exclusive_maximum else '≤'} {p.maximum}")
    if p.max_length is not None:
        parts.append(f"≤ {p.max_length} chars")
    if p.min_items is not None or p.max_items is not None:
        parts.append(f"{p.min_items or 0}–{p.max_items if p.max_items is not None else '∞'} items")
    return ", ".join(parts)


def model_context(m: PlannedModel, node: comfyui_pack.PlannedNode) -> dict[str, Any]:
    spec = m.spec
    required = [p for p in spec.params if p.required]
    example = {p.python_name: example_value(p) for p in required}
    if not example and spec.params:  # nothing required: show the first input anyway
        first = spec.params[0]
        example = {first.python_name: example_value(first)}
    if spec.free_form:
        example = {"prompt": "a lighthouse at dawn"}
    python_args = ", ".join(f"{k}={pyrepr(v)}" for k, v in example.items())
    cli_args = " ".join(
        shlex.quote(f"{k}={','.join(map(str, v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v}")
        for k, v in example.items()
    )
    return {
        "key": spec.key,
        "name": spec.display_name,
        "description": " ".join((spec.description or "").split()),
        "category": spec.category,
        "category_attr": m.category_attr,
        "attr": m.attr,
        "class_name": m.class_name,
        "module": m.module,
        "output": node.output_kind,
        "free_form": spec.free_form,
        "inputs": [
            {
                "name": p.python_name,
                "wire_name": p.wire_name,
                "type": "choice" if p.enum else annotation(p, for_method=False),
                "required": p.required,
                "default": json.dumps(p.default, ensure_ascii=False) if p.has_default else "",
                "choices": ", ".join(json.dumps(v, ensure_ascii=False) for v in p.enum) if p.enum else "",
                "range": _range(p),
                "file": (p.file_type or "file") if p.is_file else "",
                "advanced": p.hidden,
                "description": " ".join((p.description or p.title or "").split()),
                "presets": list(p.presets or ()),
            }
            for p in spec.params
        ],
        "python": f"from genvr import Client\n\nresult = Client().{m.category_attr}.{m.attr}({python_args})\nprint(result.output)",
        "cli": f"genvr run {spec.key} {cli_args}".rstrip(),
        "jsonl": json.dumps({"custom_id": "job-1", "model": spec.key, "input": example}, ensure_ascii=False),
        "node_id": node.node_id,
        "node_name": node.display_name,
    }


Planned = list[tuple[PlannedCategory, list[comfyui_pack.PlannedNode]]]


def contexts(categories: list[PlannedCategory], planned: Planned | None = None) -> list[tuple[PlannedCategory, list[dict[str, Any]]]]:
    """`planned`: the nodes as `comfyui_pack.plan_nodes(categories, {})` plans them, when the caller has them."""
    planned = planned if planned is not None else comfyui_pack.plan_nodes(categories, {})
    return [(category, [model_context(m, node) for m, node in zip(category.models, nodes)]) for category, nodes in planned]


def render_indexes(categories: list[PlannedCategory], planned: Planned | None = None) -> dict[str, str]:
    """generated/docs/: an index, and an index per category (the model pages: `model_files`)."""
    by_category = contexts(categories, planned)
    files = {f"{DOCS}/README.md": render("docs/index.md.jinja", categories=by_category)}
    for category, models in by_category:
        files[f"{DOCS}/{category.attr}/README.md"] = render("docs/category.md.jinja", category=category, models=models)
    return files


def model_files(m: PlannedModel, node: comfyui_pack.PlannedNode) -> dict[str, str]:
    """A model's reference page: it depends on this model (and its node) alone."""
    return {f"{DOCS}/{m.category_attr}/{m.attr}.md": render("docs/model.md.jinja", m=model_context(m, node))}


def render_html(categories: list[PlannedCategory]) -> dict[str, str]:
    """The static catalogue: index.html (every model, a search box filtering as you type) and a page per model."""
    by_category = contexts(categories)
    files = {"index.html": render("docs/index.html.jinja", categories=by_category)}
    for category, models in by_category:
        for model in models:
            files[f"{category.attr}/{model['attr']}.html"] = render("docs/model.html.jinja", m=model)
    return files


def write_html(categories: list[PlannedCategory], out: Path) -> int:
    files = render_html(categories)
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return len(files)
