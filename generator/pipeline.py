"""discovery → normalize → render → format → write: the generator's one pipeline."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from generator import report
from generator.discovery import Discovery, DiscoverySource, SnapshotSource
from generator.normalize import ModelSpec, SchemaError, normalize_model
from generator.targets import comfyui_pack, llm_tools, python_package
from generator.write import WriteResult, format_cached, sync_tree


class GenerationError(RuntimeError):
    """Schemas that could not be translated; every one is listed."""


@dataclass
class Specs:
    models: list[ModelSpec] = field(default_factory=list)
    errors: list[SchemaError] = field(default_factory=list)


def build_specs(discovery: Discovery) -> Specs:
    """Normalize every model; errors are collected so one run reports all of them."""
    specs = Specs()
    for entry in discovery.models:
        try:
            specs.models.append(
                normalize_model(
                    category=entry.category,
                    subcategory=entry.subcategory,
                    display_name=entry.name,
                    description=entry.description,
                    raw_schema=discovery.schemas.get(entry.key),
                )
            )
        except SchemaError as exc:
            specs.errors.append(exc)
    return specs


def render_all(specs: Specs, *, workers: int = 2, use_cache: bool = True, snapshot_dir: Path | None = None) -> dict[str, str]:
    """Every generated file, formatted, by path relative to generated/."""
    categories = python_package.plan(specs.models)
    others = python_package.render_package(categories)
    others.update(llm_tools.render(categories))
    others.update(comfyui_pack.render(categories, snapshot_dir))
    others["REPORT.md"] = report.generation_report(specs.models, specs.errors)
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
) -> WriteResult:
    specs = build_specs(source.load())
    for warning in report.console_warnings(specs.models):
        print(f"warning: {warning}", file=sys.stderr)
    if specs.errors and not skip_invalid:
        lines = "\n  ".join(str(e) for e in specs.errors)
        raise GenerationError(
            f"{len(specs.errors)} schema(s) cannot be translated (rerun with --skip-invalid to leave them out):\n  {lines}"
        )
    snapshot_dir = source.folder if isinstance(source, SnapshotSource) else None
    return sync_tree(render_all(specs, workers=workers, use_cache=use_cache, snapshot_dir=snapshot_dir), out_dir, check=check)
