"""One bad model never stops the others: each is refused by name with its reason (console and REPORT.md), the
rest is generated, and the exit code says "generated with refusals"; names that can be mapped are mapped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import cli
from generator_helpers import run_python, snapshot_with

GOOD = {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}}


def small_snapshot(folder: Path, added: list[tuple[dict[str, str], object]]) -> Path:
    base = folder.parent / f"{folder.name}-base"
    (base / "schemas").mkdir(parents=True)
    (base / "models.json").write_text(json.dumps({"success": True, "data": []}))
    return snapshot_with(folder, [({"category": "imagegen", "subcategory": "good", "name": "Good"}, GOOD), *added], base=base)


def run(snapshot: Path, out: Path, *extra: str) -> int:
    return cli.main(["generate", "--snapshot", str(snapshot), "--out", str(out), "--workers", "1", *extra])


def entry(subcategory: str, category: str = "imagegen") -> dict[str, str]:
    return {"category": category, "subcategory": subcategory, "name": subcategory}


def test_a_comfyui_node_id_collision_is_resolved_like_the_python_and_tool_names(tmp_path: Path) -> None:
    snap = small_snapshot(tmp_path / "discovery", [(entry("flux_dev"), GOOD), (entry("flux-dev"), GOOD)])
    out = tmp_path / "generated"
    assert run(snap, out) == 0
    nodes = {tuple(n["model"]): n["node_id"] for n in comfyui_nodes(out)}
    assert nodes[("imagegen", "flux_dev")] == "GenVR_imagegen__flux_dev"  # the exact spelling keeps the plain id
    assert nodes[("imagegen", "flux-dev")].startswith("GenVR_imagegen__flux_dev_")


def comfyui_nodes(out: Path) -> list[dict[str, object]]:
    """The node documents of the generated pack, in the order its index lists them."""
    folder = out / "comfyui" / "genvr_nodes" / "nodes"
    return [json.loads((folder / rel).read_text()) for rel in json.loads((folder / "index.json").read_text())["nodes"]]


NON_FINITE = {
    "huge_maximum": '{"type": "object", "properties": {"n": {"type": "number", "maximum": 1e400}}}',
    "nan_default": '{"type": "object", "properties": {"n": {"type": "number", "default": NaN}}}',
    "infinite_enum": '{"type": "object", "properties": {"n": {"type": "number", "enum": [1, Infinity]}}}',
    "deep_infinity": '{"type": "object", "properties": {"n": {"type": "string", "extra": {"x": [-Infinity]}}}}',
}


def test_non_finite_numbers_refuse_only_their_model_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = small_snapshot(tmp_path / "discovery", [(entry(k), v) for k, v in NON_FINITE.items()])
    out = tmp_path / "generated"
    assert run(snap, out) == 2  # strict by default: nothing written, every refusal listed
    err = capsys.readouterr().err
    assert all(f"imagegen/{k}" in err for k in NON_FINITE) and "Traceback" not in err
    assert not out.exists()

    assert run(snap, out, "--skip-invalid") == cli.EXIT_REFUSALS
    err = capsys.readouterr().err
    for key in NON_FINITE:
        assert f"imagegen/{key}" in err and "non-finite" in err
    report = (out / "REPORT.md").read_text()
    assert all(f"imagegen/{k}" in report for k in NON_FINITE)
    assert (out / "genvr" / "models" / "imagegen" / "good.py").is_file()
    assert not (out / "genvr" / "models" / "imagegen" / "nan_default.py").exists()


def test_hostile_entries_are_mapped_or_refused_one_by_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapped = ["it's \"quoted\"", "café_crème", "模型", "ü", "a b"]
    refused = {"../evil": "imagegen/../evil", "a\\b": "a\\\\b", "tab\there": "tab\\there"}
    added: list[tuple[dict[str, str], object]] = [(entry(s), GOOD) for s in mapped]
    added += [(entry(s), None) for s in refused]
    added.append(({"category": "imagegen", "subcategory": 7}, None))  # type: ignore[dict-item]
    snap = small_snapshot(tmp_path / "discovery", added)
    out = tmp_path / "generated"
    assert run(snap, out, "--skip-invalid") == cli.EXIT_REFUSALS
    err = capsys.readouterr().err
    for shown in [*refused.values(), "data[9]"]:
        assert shown in err, (shown, err)
    assert not any(s in err for s in mapped if s != "ü")
    report = (out / "REPORT.md").read_text()
    assert "## Refused" in report and "evil" in report
    code = "import json; from genvr.models import MODEL_KEYS, load_input_class\n" \
           "print(json.dumps(sorted(k for k in MODEL_KEYS if load_input_class(k).genvr_model.key == k)))"
    done = run_python(code, out)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == sorted(["imagegen/good", *(f"imagegen/{s}" for s in mapped)])


def test_two_models_of_one_category_with_the_same_display_name_both_become_nodes(tmp_path: Path) -> None:
    same = [({"category": "imagegen", "subcategory": s, "name": "Good"}, GOOD) for s in ("good_v2", "good-v3")]
    snap = small_snapshot(tmp_path / "discovery", same)
    out = tmp_path / "generated"
    assert run(snap, out) == 0
    names = [n["display_name"] for n in comfyui_nodes(out)]
    assert len(names) == 3 and set(names) == {"GenVR: Good (Image Generation) [imagegen/good]", "GenVR: Good (Image Generation) [imagegen/good-v3]", "GenVR: Good (Image Generation) [imagegen/good_v2]"}


@pytest.mark.parametrize("listed", ["no model", "only refused models"])
def test_a_snapshot_with_no_model_to_generate_is_a_short_error_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], listed: str) -> None:
    snap = tmp_path / "discovery"
    (snap / "schemas").mkdir(parents=True)
    data = [] if listed == "no model" else [{**entry("nan"), "description": ""}]
    (snap / "models.json").write_text(json.dumps({"success": True, "data": data}))
    if data:
        (snap / "schemas" / "imagegen").mkdir()
        (snap / "schemas" / "imagegen" / "nan.json").write_text('{"type": "object", "properties": {"x": {"type": "number", "default": NaN}}}')
    out = tmp_path / "generated"

    assert run(snap, out, "--skip-invalid") == cli.EXIT_ERROR  # an empty package would replace every binding

    err = capsys.readouterr().err
    assert "Traceback" not in err and "no model to generate" in err and str(snap) in err, err
    assert not out.exists()
