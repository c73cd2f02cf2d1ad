"""Regeneration costs what changed (issue 13): a changed model rewrites its own files and small indexes and
equals a fresh generation; the no-op run imports nothing heavy; batched DCG makes the same modules.
Timings are in `make bench` (bench/bench_generate.py), never asserted here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from generator import cache, fingerprint
from generator.discovery import SnapshotSource
from generator.pipeline import generate
from generator.targets import python_package
from generator_helpers import GENERATED, ROOT, SNAPSHOT, snapshot_specs

HEAVY = ("black", "isort", "datamodel_code_generator", "jinja2", "pydantic", "httpx")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def with_description(snap: Path, key: str, text: str) -> None:
    models = json.loads((snap / "models.json").read_text(encoding="utf-8-sig"))
    for entry in models["data"]:
        if f"{entry['category']}/{entry['subcategory']}" == key:
            entry["description"] = text
    (snap / "models.json").write_text(json.dumps(models), encoding="utf-8")


def test_one_changed_model_rewrites_its_own_files_and_small_indexes_only(tmp_path: Path) -> None:
    snap, out = tmp_path / "discovery", tmp_path / "generated"
    shutil.copytree(SNAPSHOT, snap)
    shutil.copytree(GENERATED, out)
    with_description(snap, "imagegen/flux_dev", "Generate images with Flux Dev, now described differently")

    result = generate(SnapshotSource(snap), out, workers=1)

    formats = ["anthropic", "gemini", "mcp", "openai_chat", "openai_chat_strict", "openai_responses", "openai_responses_strict"]
    assert sorted(result.written) == sorted([
        "comfyui/genvr_nodes/nodes/imagegen/flux_dev.json",
        "docs/imagegen/flux_dev.md",
        "genvr/catalog.json",  # the one index that carries descriptions: data, one line per model
        "genvr/resources/imagegen/flux_dev.py",  # not its input class: that does not carry the description
        *(f"genvr/tools/{f}/imagegen/flux_dev.json" for f in formats),
    ])
    assert result.removed == []
    fresh = tmp_path / "fresh"
    generate(SnapshotSource(snap), fresh, workers=1, use_cache=False)
    assert tree(out) == tree(fresh)  # what the cache served is what a fresh run makes


def with_field_description(snap: Path, key: str, field: str, text: str) -> None:
    category, subcategory = key.split("/")
    path = snap / "schemas" / category / f"{subcategory}.json"
    schema = json.loads(path.read_text(encoding="utf-8-sig"))
    found = []

    def visit(node: object) -> None:  # the dialect nests inputs; change the one named `field` wherever it is
        if isinstance(node, dict):
            for name, value in node.items():
                if name == field and isinstance(value, dict) and "description" in value:
                    value["description"] = text
                    found.append(name)
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    assert found, f"{key} has no input {field}"
    path.write_text(json.dumps(schema), encoding="utf-8")


class StepCounter:
    """Counts the expensive steps a run takes: schemas normalized, DCG runs (and over which classes) and
    black/isort calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from generator import format as formatting
        from generator import normalize

        self.dcg: list[str] = []
        self.formatted: list[str] = []
        self.normalized: list[str] = []
        real_dcg, real_format, real_normalize = python_package.run_dcg, formatting.format_python, normalize.normalize_model

        def normalize_model(**kwargs: object) -> object:
            self.normalized.append(f"{kwargs['category']}/{kwargs['subcategory']}")
            return real_normalize(**kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(normalize, "normalize_model", normalize_model)
        self.texts_read: list[str] = []  # recorded texts of unchanged files read back from the cache
        real_read = cache.RecordedFiles.__getitem__

        def read(files: cache.RecordedFiles, path: str) -> str:
            if path not in files.texts:  # not made in this run: read from the cache
                self.texts_read.append(path)
            return real_read(files, path)

        monkeypatch.setattr(cache.RecordedFiles, "__getitem__", read)

        def dcg(*args: object, **kwargs: object) -> object:
            self.dcg.append(str(args[0]))
            return real_dcg(*args, **kwargs)

        def fmt(source: str, **kwargs: bool) -> str:
            self.formatted.append(source.split("\n", 3)[1] + " " + source.split("\n", 3)[2])
            return real_format(source, **kwargs)

        monkeypatch.setattr(python_package, "run_dcg", dcg)
        monkeypatch.setattr(formatting, "format_python", fmt)


def test_each_expensive_step_reruns_only_for_inputs_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model's description does not reach its input class: no DCG run, and black formats only the method
    module (its docstring has the description); a changed input reruns DCG for that one class."""
    snap, out = tmp_path / "discovery", tmp_path / "generated"
    shutil.copytree(SNAPSHOT, snap)
    shutil.copytree(GENERATED, out)
    generate(SnapshotSource(snap), out, workers=1)  # the cache holds every step of the committed state

    fresh_words = uuid.uuid4().hex  # texts no earlier run put in the shared cache
    with_description(snap, "imagegen/flux_dev", f"Generate images with Flux Dev, described anew {fresh_words}")
    steps = StepCounter(monkeypatch)
    generate(SnapshotSource(snap), out, workers=1)
    assert steps.normalized == ["imagegen/flux_dev"]  # the others' normalized specs come from the cache
    assert steps.texts_read == []  # files that did not change are compared by hash, never read back
    assert steps.dcg == []
    assert len(steps.formatted) == 1 and "imagegen/flux_dev" in steps.formatted[0], steps.formatted

    with_field_description(snap, "imagegen/flux_dev", "prompt", f"What to draw, in words {fresh_words}")
    steps = StepCounter(monkeypatch)
    result = generate(SnapshotSource(snap), out, workers=1)
    assert len(steps.dcg) == 1 and len(steps.formatted) == 2, (steps.dcg, steps.formatted)
    assert "genvr/models/imagegen/flux_dev.py" in result.written
    fresh = tmp_path / "fresh"
    generate(SnapshotSource(snap), fresh, workers=1, use_cache=False)
    assert tree(out) == tree(fresh)


def run_generate(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-X", "importtime", "-m", "generator", "generate", "--out", str(out), *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip().split(".")[0] for line in stderr.splitlines() if line.startswith("import time:")}


def test_the_no_op_run_restores_the_recorded_files_without_importing_the_heavy_tools(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    shutil.copytree(GENERATED, out)
    run_generate(out)  # records the run if no earlier run did
    (out / "genvr" / "catalog.json").unlink()
    (out / "REPORT.md").write_text("edited by hand\n")
    (out / "genvr" / "stray.py").write_text("x = 1\n")

    again = run_generate(out)

    assert again.returncode == 0, again.stderr[-2000:]
    assert "2 written, 1 removed" in again.stdout
    assert tree(out) == tree(GENERATED)
    assert not imported(again.stderr) & set(HEAVY), sorted(imported(again.stderr) & set(HEAVY))


def test_the_run_fingerprint_covers_templates_and_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(fingerprint.TEMPLATES_DIR, templates)
    snap = tmp_path / "discovery"
    shutil.copytree(SNAPSHOT, snap)
    monkeypatch.setattr(fingerprint, "TEMPLATES_DIR", templates)
    before = fingerprint.run(snap)
    assert fingerprint.run(snap) == before
    (templates / "python" / "method.py.jinja").write_text((templates / "python" / "method.py.jinja").read_text() + "\n")
    after_template = fingerprint.run(snap)
    with_description(snap, "imagegen/flux_dev", "other")
    assert len({before, after_template, fingerprint.run(snap)}) == 3


def test_datamodel_code_generator_batched_makes_the_modules_one_call_per_model_makes() -> None:
    planned = [m for c in python_package.plan(list(snapshot_specs().values())) for m in c.models]
    sample = planned[::7] + [m for m in planned if any(p.wire_name != p.python_name for p in m.spec.params)][:10]
    batched = python_package.input_modules(sample)
    assert batched == {m.path: python_package.input_class_code(m) for m in sample}


def test_method_modules_come_with_their_imports_in_isort_order() -> None:
    # The pipeline skips isort for them (generator/pipeline.py: _model_files); black alone must get them right.
    import isort

    from generator.format import isort_config

    planned = [m for c in python_package.plan(list(snapshot_specs().values())) for m in c.models]
    for m in planned:
        [(path, text)] = python_package.model_files(m).items()
        assert isort.code(text, config=isort_config()) == text, path


def test_method_modules_come_in_the_shape_black_gives_them() -> None:
    # Black then runs one pass instead of two on ~50k lines (bench_generate). A template change that breaks the
    # shape only costs speed, so this test is what keeps it measurable.
    from generator.format import format_python

    planned = [m for c in python_package.plan(list(snapshot_specs().values())) for m in c.models]
    for m in planned[::5]:
        [(path, text)] = python_package.model_files(m).items()
        assert format_python(text, sort_imports=False) == text, path


def test_a_cached_spec_is_the_spec_normalize_makes() -> None:
    # The spec cache stores JSON (a cache file never runs code); tuples come back as lists, so the decoder must
    # rebuild exactly what normalize made, for every real model (dataclass equality tells a list from a tuple).
    import dataclasses

    from generator.normalize import spec_from_data

    specs = list(snapshot_specs().values())
    assert len(specs) == 291
    for spec in specs:
        assert spec_from_data(json.loads(json.dumps(dataclasses.asdict(spec)))) == spec, spec.key
