"""Regeneration is honest: generated/ is exactly what the snapshot and templates make, every time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cache
from generator.discovery import SnapshotSource
from generator.normalize import normalize_model
from generator.pipeline import Specs, generate, render_all
from generator_helpers import GENERATED, ROOT, SNAPSHOT


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_deleting_generated_and_running_the_generator_reproduces_it_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    # The CLI as `make generate` runs it, without the cache, in a fresh process.
    done = subprocess.run([sys.executable, "-m", "generator", "generate", "--no-cache", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert tree(out) == tree(GENERATED)


def test_generation_is_deterministic_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    first = generate(SnapshotSource(SNAPSHOT), out, workers=1, use_cache=False)
    assert len(first.written) == len(tree(out)) and not first.removed
    snapshot = tree(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.py")}
    second = generate(SnapshotSource(SNAPSHOT), out, workers=2, use_cache=True)
    assert second.clean and tree(out) == snapshot
    assert mtimes == {p: p.stat().st_mtime_ns for p in out.rglob("*.py")}  # untouched, not rewritten


def test_generated_files_carry_the_header_and_no_timestamps() -> None:
    # A date and time of day, or a "generated on/at" line: what code generators stamp into their output.
    stamp = re.compile(r"\b20\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d|generated (on|at) ", re.IGNORECASE)
    for rel, data in tree(GENERATED).items():
        text = data.decode("utf-8")
        assert "DO NOT EDIT" in text.splitlines()[0], rel
        assert not stamp.search(text), (rel, stamp.search(text))


def test_a_changed_schema_rewrites_only_its_files_and_a_removed_model_is_dropped(tmp_path: Path) -> None:
    snap = tmp_path / "discovery"
    shutil.copytree(SNAPSHOT, snap)
    out = tmp_path / "generated"
    shutil.copytree(GENERATED, out)
    path = snap / "schemas" / "imagegen" / "flux_dev.json"
    doc = json.loads(path.read_text())
    doc["schema"]["properties"]["guidance"]["maximum"] = 12
    path.write_text(json.dumps(doc))
    models = json.loads((snap / "models.json").read_text(encoding="utf-8-sig"))
    models["data"] = [m for m in models["data"] if m["subcategory"] != "trellis"]
    (snap / "models.json").write_text(json.dumps(models))

    check = generate(SnapshotSource(snap), out, check=True, workers=1)

    def python_package(paths: list[str]) -> list[str]:  # tool specs and the node pack have tests of their own
        return [p for p in paths if p.startswith("genvr/") and not p.startswith("genvr/tools/")] + [p for p in paths if p == "REPORT.md"]

    assert sorted(python_package(check.written)) == [
        "REPORT.md",
        "genvr/__init__.py",  # model count in the package docstring
        "genvr/_client.py",  # model count of gen3d
        "genvr/catalog.json",  # trellis leaves the model list
        "genvr/models/__init__.py",
        "genvr/models/gen3d/__init__.py",
        "genvr/models/imagegen/flux_dev.py",
        "genvr/output_kinds.py",  # trellis' entry goes
        "genvr/resources/__init__.py",
        "genvr/resources/gen3d/__init__.py",  # trellis' attribute goes
        "genvr/resources/imagegen/flux_dev.py",  # the docstring of flux_dev's method states the new maximum
    ]
    assert python_package(check.removed) == ["genvr/models/gen3d/trellis.py", "genvr/resources/gen3d/trellis.py"]
    docs = sorted(p for p in check.written + check.removed if p.startswith("docs/"))
    assert docs == ["docs/README.md", "docs/gen3d/README.md", "docs/gen3d/trellis.md", "docs/imagegen/flux_dev.md"]
    assert tree(out) == tree(GENERATED)  # --check touched nothing
    result = generate(SnapshotSource(snap), out, workers=1)
    assert result.written == check.written and result.removed == check.removed
    assert "le=12" in (out / "genvr/models/imagegen/flux_dev.py").read_text()


def test_check_mode_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    shutil.copytree(GENERATED, out)
    cmd = [sys.executable, "-m", "generator", "generate", "--check", "--out", str(out)]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    (out / "genvr" / "stray.py").write_text("x = 1\n")
    stale = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert stale.returncode == 1 and "genvr/stray.py" in stale.stderr


def test_the_cache_key_covers_input_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same inputs in another order (a refresh in the parameters dialect puts required inputs first) must
    # not be served the module cached for the first order.
    monkeypatch.setattr(cache, "CACHE_DIR", tmp_path / "cache")

    def module(order: dict[str, int]) -> str:
        schema = {"type": "object", "required": ["b"], "properties": {
            "a": {"type": "string", "x-order": order["a"]}, "b": {"type": "integer", "x-order": order["b"]}}}
        spec = normalize_model(category="imagegen", subcategory="m", display_name="M", description="", raw_schema=schema)
        fresh = render_all(Specs(models=[spec]), workers=1, use_cache=False)
        cached = render_all(Specs(models=[spec]), workers=1, use_cache=True)
        assert cached == fresh
        return cached["genvr/models/imagegen/m.py"]

    first, second = module({"a": 0, "b": 1}), module({"a": 1, "b": 0})
    assert first.index("a: ") < first.index("b: ") and second.index("b: ") < second.index("a: ")


def test_two_runs_into_one_folder_at_once_both_succeed_and_leave_it_whole(tmp_path: Path) -> None:
    # `make -j`, two terminals, an editor's task runner: two generate processes writing one generated/ at once.
    # Each took the other's half-written `.tmp` files for stale ones and removed them (FileNotFoundError).
    cmd = [sys.executable, "-m", "generator", "generate", "--out", str(tmp_path / "out")]
    for attempt in range(8):  # without the lock, the race was lost in one pair out of two to five
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        runs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outcomes = [(run.wait(), run.communicate()[1]) for run in runs]
        assert all(code == 0 for code, _ in outcomes), (attempt, [err[-600:] for _, err in outcomes])
        assert tree(tmp_path / "out") == tree(GENERATED), attempt
