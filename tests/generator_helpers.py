"""Shared by the generator tests: load the committed snapshot, generate into a temporary folder, run code
against a generated package in a separate interpreter (the installed `genvr` would shadow it in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.discovery import Discovery, SnapshotSource
from generator.normalize import ModelSpec, Param
from generator.pipeline import Specs, build_specs

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "discovery"
GENERATED = ROOT / "generated"


@cache
def snapshot_specs() -> dict[str, ModelSpec]:
    specs = build_specs(SnapshotSource(SNAPSHOT).load())
    assert not specs.errors, specs.errors
    return {m.key: m for m in specs.models}


def raw_schema(key: str) -> dict[str, Any]:
    category, subcategory = key.split("/")
    return json.loads((SNAPSHOT / "schemas" / category / f"{subcategory}.json").read_text(encoding="utf-8"))


@dataclass
class StaticSource:
    """A discovery source made in the test: a model list and raw schema documents."""

    models: list[dict[str, str]]
    schemas: dict[str, Any]

    def load(self) -> Discovery:
        doc = {"success": True, "count": len(self.models), "data": self.models, "message": "ok"}
        return Discovery(models_document=doc, schemas={f"{m['category']}/{m['subcategory']}": self.schemas.get(f"{m['category']}/{m['subcategory']}") for m in self.models})


def run_python(code: str, package_root: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter that imports `genvr` from `package_root`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_root), str(ROOT / "runtime")]), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout, cwd=package_root)


__all__ = ["GENERATED", "ROOT", "SNAPSHOT", "Specs", "StaticSource", "example_value", "raw_schema", "required_example", "run_python", "snapshot_specs"]


def example_value(p: Param) -> Any:
    """A valid value for an input, from its spec (first enum value, lowest bound, a URL for files...)."""
    if p.enum:
        return p.enum[0]
    kind = p.main_type
    if kind == "array":
        item = "https://example.com/input.png" if p.items and p.items.is_file else "x"
        return [item] * max(p.min_items or 1, 1)
    if kind == "string":
        return "https://example.com/input.png" if p.is_file else "a red apple"
    if kind in ("integer", "number"):
        value = p.minimum if p.minimum is not None else (p.maximum if p.maximum is not None and p.maximum < 1 else 1)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    return "x"


def required_example(spec: ModelSpec) -> dict[str, Any]:
    """Python-name keyword arguments for every required input of a model."""
    return {p.python_name: example_value(p) for p in spec.params if p.required}


def snapshot_with(folder: Path, added: list[tuple[dict[str, Any], Any]], *, base: Path = SNAPSHOT) -> Path:
    """A copy of the committed snapshot (or `base`) in `folder` with `added` model entries and their raw schemas
    (None: no schema published). Entries go in as given, so hostile spellings reach the generator unchanged."""
    import shutil

    from generator.discovery import ModelEntry, schema_path

    shutil.copytree(base, folder)
    models_path = folder / "models.json"
    document = json.loads(models_path.read_text(encoding="utf-8-sig"))
    for entry, schema in added:
        document["data"].append(entry)
        if schema is not None:
            path = schema_path(folder, ModelEntry(entry["category"], entry["subcategory"], "", ""))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(schema if isinstance(schema, str) else json.dumps(schema), encoding="utf-8")
    models_path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder
