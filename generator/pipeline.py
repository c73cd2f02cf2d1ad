"""discovery → normalize → render → format → write: the generator's one pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import report
from generator.discovery import Discovery, DiscoverySource
from generator.normalize import ModelSpec, SchemaError, normalize_model
from generator.targets import python_package
from generator.write import WriteResult, format_files, sync_tree


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


def render_all(specs: Specs) -> dict[str, str]:
    """Every generated file, formatted, by path relative to generated/."""
    categories = python_package.plan(specs.models)
    files = python_package.render_package(categories)
    files["REPORT.md"] = report.generation_report(specs.models, specs.errors)
    return format_files(files)


def generate(source: DiscoverySource, out_dir: Path, *, check: bool = False, skip_invalid: bool = False) -> WriteResult:
    specs = build_specs(source.load())
    if specs.errors and not skip_invalid:
        lines = "\n  ".join(str(e) for e in specs.errors)
        raise GenerationError(
            f"{len(specs.errors)} schema(s) cannot be translated (rerun with --skip-invalid to leave them out):\n  {lines}"
        )
    return sync_tree(render_all(specs), out_dir, check=check)
