"""discovery → normalize → render → format → write: the generator's one pipeline.

Models are independent: a model that cannot be generated (an unusable list entry, a schema that cannot be
translated, a non-finite number, inputs no target can lay out) is refused on its own, named with its reason;
every other model is still generated (with `--skip-invalid`; without it nothing is written and every refusal is
listed).
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from . import name_registry, output_kinds, report
from .discovery import Discovery, DiscoverySource, SnapshotSource
from .normalize import ModelSpec, SchemaError, normalize_model
from .targets import comfyui_pack, comfyui_widgets, docs, llm_tools, python_package
from .write import WriteResult, format_cached, sync_tree


class GenerationError(RuntimeError):
    """Models that could not be generated; every one is listed."""


@dataclass
class Specs:
    models: list[ModelSpec] = field(default_factory=list)
    errors: list[SchemaError] = field(default_factory=list)
    refused_entries: list[str] = field(default_factory=list)  # model-list entries that name no usable model

    @property
    def refused(self) -> list[str]:
        """Every refused model with its reason, sorted."""
        return sorted([*self.refused_entries, *(str(e) for e in self.errors)])


@dataclass
class GenerateResult(WriteResult):
    refused: list[str] = field(default_factory=list)


def build_specs(discovery: Discovery) -> Specs:
    """Normalize every model; errors are collected so one run reports all of them."""
    specs = Specs(refused_entries=discovery.refused)
    for entry in discovery.models:
        raw = discovery.schemas.get(entry.key)
        try:
            _refuse_non_finite(entry.key, raw)
            spec = normalize_model(
                category=entry.category,
                subcategory=entry.subcategory,
                display_name=entry.name,
                description=entry.description,
                raw_schema=raw,
            )
            _check_targets(spec)
        except SchemaError as exc:
            specs.errors.append(exc)
            continue
        specs.models.append(spec)
    return specs


def _refuse_non_finite(key: str, doc: Any, path: str = "") -> None:
    """JSON has no infinities or NaN, but `1e400`, `NaN` and `Infinity` parse as such; no target can state them."""
    if isinstance(doc, float) and not math.isfinite(doc):
        field_name = path.split(".")[2] if path.startswith(".properties.") else None
        raise SchemaError(key, f"non-finite number {doc!r} at {path.lstrip('.') or 'the top level'}", field_name)
    if isinstance(doc, dict):
        for k, v in doc.items():
            _refuse_non_finite(key, v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _refuse_non_finite(key, v, f"{path}[{i}]")


def _check_targets(spec: ModelSpec) -> None:
    """Per-model target checks that would otherwise stop the whole run: raised here, they refuse one model."""
    try:
        comfyui_widgets.model_inputs(spec)
    except ValueError as exc:
        raise SchemaError(spec.key, f"ComfyUI node: {exc}") from None


def render_all(specs: Specs, *, workers: int = 2, use_cache: bool = True, snapshot_dir: Path | None = None) -> dict[str, str]:
    """Every generated file, formatted, by path relative to generated/."""
    categories = python_package.plan(specs.models, name_registry.load(name_registry.path_for(snapshot_dir)))
    others = python_package.render_package(categories)
    others.update(llm_tools.render(categories))
    others.update(comfyui_pack.render(categories, snapshot_dir))
    others.update(docs.render_markdown(categories))
    others[f"{python_package.PACKAGE}/output_kinds.py"] = output_kinds.render_module(specs.models)
    others["REPORT.md"] = report.generation_report(specs.models, specs.refused)
    models = [m for c in categories for m in c.models]
    # DCG and black are CPU-bound (and DCG holds a process-wide lock): spread them over processes.
    model_work = partial(python_package.input_module, use_cache=use_cache)
    format_work = partial(format_cached, use_cache=use_cache)
    python = sorted((path, text) for path, text in others.items() if path.endswith(".py"))
    files = {path: text for path, text in others.items() if not path.endswith(".py")}  # JSON, TOML...: as rendered
    if workers > 1 and len(models) > 20:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            formatted = pool.map(format_work, python)  # big resource files first in the queue
            files.update(pool.map(model_work, models, chunksize=8))
            files.update(formatted)
    else:
        files.update(map(model_work, models))
        files.update(map(format_work, python))
    return dict(sorted(files.items()))


def generate(
    source: DiscoverySource,
    out_dir: Path,
    *,
    check: bool = False,
    skip_invalid: bool = False,
    workers: int = 2,
    use_cache: bool = True,
) -> GenerateResult:
    """Render and write generated/; `refused` lists the models left out (only possible with skip_invalid)."""
    specs = build_specs(source.load())
    for warning in report.console_warnings(specs.models):
        print(f"warning: {warning}", file=sys.stderr)
    refused = specs.refused
    if refused and not skip_invalid:
        lines = "\n  ".join(refused)
        raise GenerationError(
            f"{len(refused)} model(s) cannot be generated (rerun with --skip-invalid to generate the others):\n  {lines}"
        )
    snapshot_dir = source.folder if isinstance(source, SnapshotSource) else None
    written = sync_tree(render_all(specs, workers=workers, use_cache=use_cache, snapshot_dir=snapshot_dir), out_dir, check=check)
    return GenerateResult(written=written.written, removed=written.removed, unchanged=written.unchanged, refused=refused)
