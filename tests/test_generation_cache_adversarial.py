"""The cache may never change what `generate` writes: whatever state the cache (damaged entries) and generated/
(files left by an interrupted run) are in, a cached run writes what `--no-cache` writes. Small snapshots (a few
models copied from the committed one) keep each generation cheap."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from generator import cache
from generator.discovery import SnapshotSource
from generator.pipeline import generate
from generator_helpers import SNAPSHOT

KEYS = ("imagegen/flux_dev", "videogen/framepack", "videogen/decart_lucy_14b")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def small_snapshot(folder: Path, keys: tuple[str, ...] = KEYS) -> Path:
    """A snapshot of `keys` only, with the committed name registry and widget order."""
    folder.mkdir(parents=True)
    document = json.loads((SNAPSHOT / "models.json").read_text(encoding="utf-8-sig"))
    document["data"] = [e for e in document["data"] if f"{e['category']}/{e['subcategory']}" in keys]
    assert len(document["data"]) == len(keys)
    (folder / "models.json").write_text(json.dumps(document), encoding="utf-8")
    for key in keys:
        (folder / "schemas" / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SNAPSHOT / "schemas" / f"{key}.json", folder / "schemas" / f"{key}.json")
    for name in ("names.json", "comfyui-widget-order.json"):
        shutil.copy(SNAPSHOT / name, folder / name)
    return folder


def edit_description(snap: Path, key: str, text: str) -> None:
    document = json.loads((snap / "models.json").read_text(encoding="utf-8"))
    for entry in document["data"]:
        if f"{entry['category']}/{entry['subcategory']}" == key:
            entry["description"] = text
    (snap / "models.json").write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setattr(cache, "CACHE_DIR", folder)
    return folder


def fresh(snap: Path, out: Path) -> dict[str, bytes]:
    generate(SnapshotSource(snap), out, workers=1, use_cache=False)
    return tree(out)


def test_damaged_cache_entries_are_made_again_not_served_nor_a_traceback(tmp_path: Path, private_cache: Path) -> None:
    snap = small_snapshot(tmp_path / "discovery")
    generate(SnapshotSource(snap), tmp_path / "first", workers=1)
    entries = [p for p in private_cache.rglob("*") if p.is_file() and "files" not in p.parts]
    assert any("blobs" in p.parts for p in entries) and any("blobs" not in p.parts for p in entries)
    for path in entries:  # every text the cache holds, cut short (a crash, a full disk)
        path.write_bytes(path.read_bytes()[:10])

    again = tmp_path / "again"
    generate(SnapshotSource(snap), again, workers=1)  # the recorded run
    assert tree(again) == fresh(snap, tmp_path / "fresh")

    for path in private_cache.rglob("*"):  # damaged again, and a changed model: the per-model entries are read
        if path.is_file() and "files" not in path.parts:
            path.write_bytes(path.read_bytes()[:10])
    edit_description(snap, "imagegen/flux_dev", "Described differently")
    changed = tmp_path / "changed"
    generate(SnapshotSource(snap), changed, workers=1)
    assert tree(changed) == fresh(snap, tmp_path / "fresh-changed")


def test_unreadable_manifests_are_ignored(tmp_path: Path, private_cache: Path) -> None:
    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    generate(SnapshotSource(snap), tmp_path / "first", workers=1)
    manifests = list((private_cache / "files").rglob("*.json"))
    assert manifests
    for i, path in enumerate(manifests):  # valid JSON, wrong shape
        path.write_text(json.dumps([{}, {"files": {"x": None}}, {"files": {"x": 1}}][i % 3]))
    out = tmp_path / "again"
    generate(SnapshotSource(snap), out, workers=1)
    assert tree(out) == fresh(snap, tmp_path / "fresh")


def test_files_left_by_an_interrupted_run_do_not_stop_the_next(tmp_path: Path, private_cache: Path) -> None:
    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    out = tmp_path / "generated"
    generate(SnapshotSource(snap), out, workers=1)
    # Interrupted while writing catalog.py: the new text is in catalog.py.tmp, the old one still in place.
    catalog = out / "genvr" / "catalog.py"
    catalog.with_name("catalog.py.tmp").write_bytes(catalog.read_bytes())
    catalog.write_text("# an older catalog\n")

    result = generate(SnapshotSource(snap), out, workers=1)

    assert result.written == ["genvr/catalog.py"] and result.removed == ["genvr/catalog.py.tmp"]
    assert tree(out) == fresh(snap, tmp_path / "fresh")


@pytest.mark.parametrize("where", ["snapshot in a __pycache__ folder", "category named __pycache__"])
def test_every_snapshot_file_counts_in_the_run_fingerprint(tmp_path: Path, private_cache: Path, where: str) -> None:
    if where.startswith("snapshot"):
        snap = small_snapshot(tmp_path / "__pycache__" / "discovery", KEYS[:1])
        key = KEYS[0]
    else:
        snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
        document = json.loads((snap / "models.json").read_text(encoding="utf-8"))
        document["data"].append({**document["data"][0], "category": "__pycache__", "subcategory": "flux_dev"})
        (snap / "models.json").write_text(json.dumps(document), encoding="utf-8")
        (snap / "schemas" / "__pycache__").mkdir()
        shutil.copy(snap / "schemas" / f"{KEYS[0]}.json", snap / "schemas" / "__pycache__" / "flux_dev.json")
        key = "__pycache__/flux_dev"
    out = tmp_path / "generated"
    generate(SnapshotSource(snap), out, workers=1)
    schema_file = snap / "schemas" / f"{key}.json"
    schema_file.write_text(schema_file.read_text(encoding="utf-8").replace('"Seed"', '"The seed"'), encoding="utf-8")
    if where.startswith("snapshot"):
        edit_description(snap, key, "Described differently")

    generate(SnapshotSource(snap), out, workers=1)

    assert tree(out) == fresh(snap, tmp_path / "fresh")


def test_batched_input_classes_of_two_models_sharing_a_class_name_keep_their_own_field_names() -> None:
    # Same subcategory in two categories: both classes are UpscaleInput (as TopazUpscaleInput in the snapshot),
    # and "scale-factor" is scale_factor in one, scale_factor_<hash> in the other (its scale_factor is taken).
    from generator.pipeline import build_specs
    from generator.targets import python_package
    from generator_helpers import StaticSource

    models = [{"category": c, "subcategory": "upscale", "name": "Upscale", "description": ""} for c in ("imgutils", "vidutils")]
    schemas = {
        "imgutils/upscale": {"type": "object", "properties": {"scale-factor": {"type": "number"}}},
        "vidutils/upscale": {"type": "object", "properties": {"scale_factor": {"type": "integer"}, "scale-factor": {"type": "number"}}},
    }
    planned = [m for c in python_package.plan(build_specs(StaticSource(models, schemas).load()).models, None) for m in c.models]
    assert len({m.class_name for m in planned}) == 1
    assert len({p.python_name for m in planned for p in m.spec.params if p.wire_name == "scale-factor"}) == 2

    assert python_package.input_modules(planned) == {m.path: python_package.input_class_code(m) for m in planned}


def test_a_wire_name_that_reads_as_class_dot_field_gets_its_own_python_name() -> None:
    # "DotsInput.c" is a legal input name; as an unscoped DCG alias key it also reads as "field c of DotsInput".
    from generator.pipeline import build_specs
    from generator.targets import python_package
    from generator_helpers import StaticSource

    models = [{"category": "imagegen", "subcategory": "dots", "name": "Dots", "description": ""}]
    properties = {"DotsInput.c": {"type": "string"}, "c": {"type": "integer"}, "a.b": {"type": "string"}}
    specs = build_specs(StaticSource(models, {"imagegen/dots": {"type": "object", "properties": properties}}).load())
    [model] = [m for c in python_package.plan(specs.models, None) for m in c.models]
    assert model.class_name == "DotsInput"

    [text] = python_package.input_modules([model]).values()

    for p in model.spec.params:
        assert f"\n    {p.python_name}: " in text, (p.wire_name, p.python_name)


def test_an_edit_to_the_formatting_step_reformats_every_file(tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An edit to generator/format.py (here: isort's settings) changes the code fingerprint, as the patched
    # `code` says; the formatted indexes must follow it like the per-model files do.
    import isort

    from generator import fingerprint, format

    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    generate(SnapshotSource(snap), tmp_path / "before", workers=1)
    edited = fingerprint.code() + "-format.py edited"
    monkeypatch.setattr(fingerprint, "code", lambda: edited)
    monkeypatch.setattr(format, "isort_config", lambda: isort.Config(profile="black", line_length=100, force_single_line=True))

    out = tmp_path / "after"
    generate(SnapshotSource(snap), out, workers=1)

    assert tree(out) != tree(tmp_path / "before")
    assert tree(out) == fresh(snap, tmp_path / "fresh")


@pytest.mark.parametrize("content", ['{"models": [1]', "[]", '{"models": {"imagegen/flux_dev": {"required": ["no_shape"]}}}'])
def test_a_broken_widget_order_file_is_named_in_a_short_error(tmp_path: Path, private_cache: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    from generator import cli

    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    (snap / "comfyui-widget-order.json").write_text(content, encoding="utf-8")

    code = cli.main(["generate", "--snapshot", str(snap), "--out", str(tmp_path / "generated"), "--workers", "1"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err.startswith(f"error: {snap / 'comfyui-widget-order.json'}: ") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "generated").exists()


def test_a_schema_file_that_is_not_utf8_is_named_in_a_short_error(tmp_path: Path, private_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from generator import cli

    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    schema_file = snap / "schemas" / f"{KEYS[0]}.json"
    schema_file.write_bytes(b'{"name": "\xff"}')

    code = cli.main(["generate", "--snapshot", str(snap), "--out", str(tmp_path / "generated"), "--workers", "1"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err.startswith(f"error: {schema_file}: ") and len(err.splitlines()) == 1, err


def test_batched_input_classes_keep_carriage_returns_as_one_call_per_model_does() -> None:
    # The batched run's modules are read back from files: exactly, newlines untranslated.
    from generator.pipeline import build_specs
    from generator.targets import python_package
    from generator_helpers import StaticSource

    # Carriage returns where the input class shows them: the name (the class docstring; the model's description
    # is not in it) and an input's description.
    text = "line one\r\nline two\rthree"
    models = [{"category": "imagegen", "subcategory": "crlf", "name": f"Crlf {text}", "description": ""}]
    schema = {"type": "object", "properties": {"p": {"type": "string", "description": text}}}
    specs = build_specs(StaticSource(models, {"imagegen/crlf": schema}).load())
    planned = [m for c in python_package.plan(specs.models, None) for m in c.models]

    assert python_package.input_modules(planned) == {m.path: python_package.input_class_code(m) for m in planned}


def test_a_recorded_run_whose_manifest_was_altered_is_not_served(tmp_path: Path, private_cache: Path) -> None:
    # Damage need not cut a file short: a manifest that still parses (two texts swapped, a path altered) must be
    # refused like a damaged entry, or the run restores wrong files.
    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    generate(SnapshotSource(snap), tmp_path / "first", workers=1)
    manifests = list((private_cache / "files").rglob("*.json"))
    assert manifests
    for path in manifests:
        record = json.loads(path.read_bytes().partition(b"\n")[2] or path.read_bytes())
        files = record["files"]
        first, second = sorted(files)[:2]
        files[first], files[second] = files[second], files[first]
        path.write_text(json.dumps(record, sort_keys=True))

    out = tmp_path / "again"
    generate(SnapshotSource(snap), out, workers=1)

    assert tree(out) == fresh(snap, tmp_path / "fresh")


@pytest.mark.parametrize("bad", ["../escaped.py", "/tmp/absolute.py", "genvr/../../escaped.py", "genvr\\..\\..\\escaped.py"])
def test_a_recorded_path_leading_out_of_generated_is_never_written(tmp_path: Path, private_cache: Path, bad: str) -> None:
    # The cache is written by this generator only, but a shared cache (restored in CI, say) is not a reason to write
    # outside generated/: a record naming such a path is refused (and its run made afresh), whatever its hash says.
    snap = small_snapshot(tmp_path / "discovery", KEYS[:1])
    generate(SnapshotSource(snap), tmp_path / "first", workers=1)
    for path in (private_cache / "files").rglob("*.json"):
        check, _, text = path.read_text().partition("\n")
        record = json.loads(text)
        record["files"][bad] = next(iter(record["files"].values()))
        text = json.dumps(record, sort_keys=True)
        path.write_text(f"{hashlib.sha256(text.encode()).hexdigest()}\n{text}")  # rehashed: well formed

    out = tmp_path / "deep" / "again"
    generate(SnapshotSource(snap), out, workers=1)

    assert tree(out) == fresh(snap, tmp_path / "fresh")
    assert not (tmp_path / "deep" / "escaped.py").exists() and not Path("/tmp/absolute.py").exists()
    assert not list(tmp_path.rglob("escaped.py"))


def test_the_cache_is_kept_to_its_budget_dropping_what_was_used_longest_ago(tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every change to the generator makes a new set of entries (~25 MB for 291 models): without a bound, a
    # contributor's cache grew by hundreds of MB a day. Entries a run uses are touched, so the oldest go first.
    snap = small_snapshot(tmp_path / "discovery", KEYS)
    stale = private_cache / "ab" / ("ab" + "0" * 62)
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x" * 400_000)
    os.utime(stale, (1_000_000_000, 1_000_000_000))  # used long ago
    generate(SnapshotSource(snap), tmp_path / "first", workers=1)
    used = sum(p.stat().st_size for p in private_cache.rglob("*") if p.is_file()) - stale.stat().st_size
    assert stale.exists()  # within the budget: nothing goes

    monkeypatch.setattr(cache, "BUDGET_BYTES", used + 100_000)
    monkeypatch.setattr(cache, "PRUNE_AFTER_MODELS", 0)  # this small run counts as one that filled the cache
    (snap / "models.json").write_text((snap / "models.json").read_text(encoding="utf-8").replace("Flux Dev", "Flux Dev 2"), encoding="utf-8")
    generate(SnapshotSource(snap), tmp_path / "second", workers=1)

    assert not stale.exists()
    assert sum(p.stat().st_size for p in private_cache.rglob("*") if p.is_file()) <= used + 100_000
    assert tree(tmp_path / "second") == fresh(snap, tmp_path / "fresh")
    generate(SnapshotSource(snap), tmp_path / "third", workers=1)  # from what the pruned cache kept
    assert tree(tmp_path / "third") == tree(tmp_path / "second")
