"""`make regenerate` against a GenVR that answers in the documented `parameters` dialect: what the snapshot
keeps (generator/merge.py), what it takes, and the breaking-change report (generator/changes.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from generator import cli
from generator.changes import EXIT_BREAKING, Change, ChangeReport
from generator.discovery import Discovery, SnapshotSource
from generator.merge import merge_discovery, merge_property
from generator.refresh import CARRIED_OVER, CHANGELOG, prepend_changelog
from generator_helpers import GENERATED, SNAPSHOT
from simulator.dialect import schema_body
from simulator.pytest_plugin import SimulatorFactory


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def schema_of(folder: Path, key: str) -> dict[str, Any]:
    category, subcategory = key.split("/")
    doc: dict[str, dict[str, Any]] = json.loads((folder / "schemas" / category / f"{subcategory}.json").read_text(encoding="utf-8"))
    return doc["schema"]


def regenerate(url: str, snapshot: Path, out: Path) -> int:
    return cli.main(["regenerate", "--base-url", url, "--snapshot", str(snapshot), "--out", str(out)])


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    snapshot, out = tmp_path / "discovery", tmp_path / "generated"
    shutil.copytree(SNAPSHOT, snapshot)
    shutil.copytree(GENERATED, out)
    return snapshot, out


def test_refresh_in_the_parameters_dialect_over_the_snapshot_changes_nothing(
    genvr_simulator_factory: SimulatorFactory, copies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot, out = copies
    server = genvr_simulator_factory(dialect="parameters")
    before = tree(snapshot)

    assert regenerate(server.base_url, snapshot, out) == 0

    printed = capsys.readouterr().out
    assert "models: 291 → 291\nno change" in printed
    assert "generated/: 0 written, 0 removed" in printed
    after = tree(snapshot)
    assert after.pop(CARRIED_OVER) and after == before  # every schema file and models.json byte for byte
    assert tree(out) == tree(GENERATED)
    # What the parameters form could not say is recorded as carried over.
    carried = json.loads((snapshot / CARRIED_OVER).read_text(encoding="utf-8"))["models"]
    assert "nullable" in carried["imagegen/qwen_image"]["seed"]
    assert {"enum", "enum_control", "x-order"} <= set(carried["videogen_templates/hug"]["prompt"])
    assert "display" in carried["imagegen/flux_dev"]["speed_mode"]
    assert "required: template" in carried["videogen_templates/hug"]["*"]  # not an input, still listed
    assert not (snapshot / CHANGELOG).exists()  # nothing changed, nothing logged


def test_real_live_changes_are_taken_reported_and_breaking_ones_set_the_exit_code(
    genvr_simulator_factory: SimulatorFactory, copies: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snapshot, out = copies
    live = tmp_path / "live"  # what GenVR serves now
    shutil.copytree(SNAPSHOT, live)
    path = live / "schemas" / "imagegen" / "flux_dev.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    props = doc["schema"]["properties"]
    props["aspect_ratio"]["enum"].append("7:3")  # enum widened
    props["output_quality"]["maximum"] = 90  # range tightened
    props["lora_scale"] = {"type": "number", "minimum": 0, "maximum": 2, "description": "LoRA strength"}  # new
    del props["image_size"]  # input removed
    path.write_text(json.dumps(doc), encoding="utf-8")
    server = genvr_simulator_factory(dialect="parameters", discovery_dir=live)

    assert regenerate(server.base_url, snapshot, out) == EXIT_BREAKING

    printed = capsys.readouterr().out
    assert printed.index("BREAKING (2):") < printed.index("additive (") < printed.index("generated/:")
    assert "  imagegen/flux_dev.image_size: input removed\n" in printed
    assert "  imagegen/flux_dev.output_quality: maximum 100 → 90\n" in printed
    assert "  imagegen/flux_dev.aspect_ratio: enum +'7:3'\n" in printed
    assert "  imagegen/flux_dev.lora_scale: new optional input\n" in printed
    merged = schema_of(snapshot, "imagegen/flux_dev")["properties"]
    assert merged["aspect_ratio"]["enum"][-1] == "7:3" and merged["aspect_ratio"]["x-order"] == 5
    assert merged["output_quality"]["maximum"] == 90 and "image_size" not in merged
    assert merged["lora_scale"] == {"type": "number", "minimum": 0, "maximum": 2, "description": "LoRA strength", "x-order": 9}
    assert merged["speed_mode"]["display"] == "hidden"  # carried over, not contradicted
    assert schema_of(snapshot, "imagegen/qwen_image")["properties"]["seed"]["nullable"] is True
    assert "le=90" in (out / "genvr/models/imagegen/flux_dev.py").read_text(encoding="utf-8")
    log = (snapshot / CHANGELOG).read_text(encoding="utf-8")
    assert "## Models 291 → 291: 2 breaking, 2 additive change(s)\n\nBREAKING:\n\n- `imagegen/flux_dev.image_size`: input removed" in log


def test_only_display_facts_survive_a_type_change() -> None:
    old = {"type": "integer", "title": "Seed", "x-order": 3, "nullable": True, "minimum": 0, "description": "Seed"}
    merged, kept = merge_property(old, {"name": "seed", "type": "string", "description": "Seed"})
    assert merged == {"type": "string", "title": "Seed", "x-order": 3, "description": "Seed"}
    assert kept == ["title", "x-order"]


def test_live_facts_win_and_absent_stated_facts_are_gone() -> None:
    old = {"type": "number", "title": "G", "x-order": 1, "enum": {"a": "long a"}, "enum_control": ["a"],
           "minimum": 0, "maximum": 10, "default": 2}
    # `min`/`max` spelling, an integer `enum` on a number input, no maximum any more.
    merged, kept = merge_property(old, {"name": "g", "type": "enum", "allowedValues": [1, 2], "min": 0, "default": 2})
    assert merged == {"type": "number", "title": "G", "x-order": 1, "enum": [1, 2], "enum_control": ["a"],
                      "minimum": 0, "default": 2}
    assert kept == ["enum_control", "title", "x-order"]
    # A live answer without `type` states none: the snapshot's stays.
    assert merge_property({"type": "integer", "x-order": 0}, {"name": "n"}) == ({"type": "integer", "x-order": 0}, ["type", "x-order"])


def test_changelog_entries_go_newest_first_under_one_heading(tmp_path: Path) -> None:
    path = tmp_path / CHANGELOG
    first = ChangeReport(1, 2, (Change("imagegen/a", None, False, "model added"),))
    second = ChangeReport(2, 1, (Change("imagegen/a", None, True, "model removed"),))
    prepend_changelog(path, first)
    prepend_changelog(path, second)
    text = path.read_text(encoding="utf-8")
    assert text.count("# Discovery changes") == 1
    assert text.index("## Models 2 → 1: 1 breaking") < text.index("## Models 1 → 2: 0 breaking")
    assert "- `imagegen/a`: model removed" in text and "- `imagegen/a`: model added" in text


def test_a_fact_the_live_answer_does_give_is_taken_even_beyond_the_parameters_form() -> None:
    old = {"type": "integer", "x-order": 3, "nullable": True}
    assert merge_property(old, {"name": "seed", "type": "integer", "nullable": False, "x-order": 7}) == (
        {"type": "integer", "x-order": 7, "nullable": False}, [])


def _live_parameters(keys: list[str], drop: dict[str, set[str]]) -> tuple[Discovery, Discovery]:
    """(snapshot, live answer in the parameters dialect) for `keys`; `drop`: "model.input" or "*" → keys left out."""
    old = SnapshotSource(SNAPSHOT).load()
    old.schemas = {k: old.schemas[k] for k in keys}
    live = Discovery(models_document=old.models_document)
    for key in keys:
        category, subcategory = key.split("/")
        doc: Any = old.schemas[key]
        body = schema_body(category, subcategory, doc["schema"], "parameters")
        for group in body["data"]["parameters"].values():
            for param in group:
                for k in drop.get("*", set()) | drop.get(f"{key}.{param['name']}", set()):
                    param.pop(k, None)
        live.schemas[key] = body
    return old, live


def test_keys_the_live_form_never_uses_are_kept_and_keys_it_uses_are_taken_even_when_absent() -> None:
    keys = ["imgutils/flux_kontext_max", "imagegen/flux_dev"]
    # A live form without `format`/`fileType` anywhere: the snapshot's file facts stay.
    old, live = _live_parameters(keys, {"*": {"format", "fileType"}})
    merged, carried = merge_discovery(old, live)
    assert merged.schemas == old.schemas
    assert {"fileType", "format", "nullable"} <= set(carried["imgutils/flux_kontext_max"]["input_image"])
    # A live form that uses `maximum`, but not for this input any more: the bound is gone.
    old, live = _live_parameters(keys, {"imagegen/flux_dev.output_quality": {"maximum"}})
    merged, _ = merge_discovery(old, live)
    flux: Any = merged.schemas["imagegen/flux_dev"]
    assert "maximum" not in flux["schema"]["properties"]["output_quality"]
    assert merged.schemas["imgutils/flux_kontext_max"] == old.schemas["imgutils/flux_kontext_max"]


def test_a_live_listing_with_no_model_leaves_the_snapshot_and_generated_untouched(
    genvr_simulator_factory: SimulatorFactory, copies: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An outage or a broken deploy that lists nothing must not empty discovery/ (then every binding would go).
    snapshot, out = copies
    live = tmp_path / "live"
    shutil.copytree(SNAPSHOT, live)
    models = json.loads((live / "models.json").read_text(encoding="utf-8-sig"))
    models["data"] = []
    (live / "models.json").write_text(json.dumps(models), encoding="utf-8")
    server = genvr_simulator_factory(dialect="parameters", discovery_dir=live)
    before_snapshot, before_out = tree(snapshot), tree(out)

    assert regenerate(server.base_url, snapshot, out) == 2

    err = capsys.readouterr().err
    assert "lists no model" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert tree(snapshot) == before_snapshot and tree(out) == before_out
