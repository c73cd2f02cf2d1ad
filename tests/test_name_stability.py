"""Names survive GenVR adding models: colliding, reserved, machinery-shadowing and unicode spellings are mapped
to importable, type-checked names, and nothing that already exists is renamed or rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.discovery import SnapshotSource
from generator.pipeline import build_specs, render_all
from generator.write import sync_tree
from generator_helpers import GENERATED, run_python, snapshot_with


def schema(*required: str, **props: dict[str, object]) -> dict[str, object]:
    properties: dict[str, object] = {"prompt": {"type": "string", "x-order": 0}}
    properties.update(props)
    return {"type": "object", "required": ["prompt", *required], "properties": properties}


def model(category: str, subcategory: str, name: str | None = None) -> dict[str, str]:
    return {"category": category, "subcategory": subcategory, "name": name or f"New {subcategory}"}


# Plausible and hostile newcomers, each colliding with something after sanitising.
ADDED = [
    (model("imagegen", "x1_1"), schema()),
    (model("imagegen", "x_1_1"), schema()),  # both want X11Input
    (model("imagegen", "minimax_image_o1"), schema()),  # the exact spelling of the existing minimax-image-o1
    (model("imagegen", "hunyuan23d"), schema()),
    (model("3dgen", "hunyuan23d"), schema()),  # Hunyuan23dInput beside the existing hunyuan2_3d
    (model("imagegen", "gen_v_r"), schema()),  # GenVRInput: the runtime's base class
    (model("imagegen", "model_info"), schema()),
    (model("imagegen", "importlib"), schema()),  # the module the lazy loader uses
    (model("importlib", "importlib"), schema()),
    (model("difflib", "load_input_class"), schema()),
    (model("imagegen", "shadowing_inputs"), schema(
        "pending_files",
        pending_files={"type": "string", "x-order": 1},
        model_fields={"type": "integer", "x-order": 2},
        from_call={"type": "boolean", "x-order": 3},
        genvr_model={"type": "string", "x-order": 4},
    )),
]

CHECK = r"""
import json, sys, warnings
warnings.simplefilter("error")  # a pydantic "shadows an attribute" warning fails the check
from genvr.models import MODELS, MODEL_KEYS, load_input_class
from genvr_runtime import GenVRInput
import genvr.models
from pathlib import Path
added = json.loads(Path("added.json").read_text())
for key in added + ["imagegen/flux_dev", "imagegen/minimax-image-o1", "3dgen/hunyuan2_3d"]:
    cls = load_input_class(key)
    assert cls is not GenVRInput and issubclass(cls, GenVRInput), key
    assert cls.genvr_model.key == key, (key, cls.genvr_model.key)
    module, name = MODELS[key]
    package = __import__(module.rsplit(".", 1)[0], fromlist=["x"])
    assert getattr(package, name) is cls, key  # the category's lazy attribute
assert "genvr_model" not in GenVRInput.__dict__  # nobody assigned onto the shared base
shadow = load_input_class("imagegen/shadowing_inputs")
names = {f.alias or n: n for n, f in shadow.model_fields.items()}
assert names["pending_files"] != "pending_files", names
made = shadow.model_validate({"prompt": "p", "pending_files": "x", "model_fields": 3, "from_call": True, "genvr_model": "g"})
assert made.to_api_params() == {"prompt": "p", "pending_files": "x", "model_fields": 3, "from_call": True, "genvr_model": "g"}
assert made.pending_files == {}, made.pending_files
try:
    shadow.model_validate({"prompt": "p"})
except Exception as exc:
    assert "pending_files" in str(exc)
else:
    raise AssertionError("required input pending_files not enforced")
print("ok")
"""


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """generated/ of the real snapshot plus ADDED."""
    root = tmp_path_factory.mktemp("grown")
    snap = snapshot_with(root / "discovery", ADDED)
    specs = build_specs(SnapshotSource(snap).load())
    out = root / "generated"
    sync_tree(render_all(specs, snapshot_dir=snap), out)
    (out / "added.json").write_text(json.dumps([f"{e['category']}/{e['subcategory']}" for e, _ in ADDED]))
    return out


def per_model_files(root: Path) -> dict[str, bytes]:
    """Files that belong to one model: its input module and its tool specs."""
    out = {}
    for path in sorted((root / "genvr" / "models").glob("*/*.py")) + sorted((root / "genvr" / "tools").glob("*/*/*.json")):
        if path.name != "__init__.py":
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def test_added_models_leave_every_existing_model_file_untouched(grown: Path) -> None:
    before = per_model_files(GENERATED)
    after = per_model_files(grown)
    changed = sorted(rel for rel, data in before.items() if after.get(rel) != data)
    assert not changed, changed[:10]


def test_added_models_keep_every_existing_name(grown: Path) -> None:
    dump = "import json; from genvr.models import MODELS; print(json.dumps(MODELS))"
    before = json.loads(run_python(dump, GENERATED).stdout)
    after = json.loads(run_python(dump, grown).stdout)
    assert {k: after.get(k) for k in before} == before


def test_colliding_reserved_and_shadowing_names_all_import(grown: Path) -> None:
    done = run_python(CHECK, grown)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_regenerate_records_new_names_and_never_rewrites_an_entry(tmp_path: Path) -> None:
    from generator import name_registry
    from generator.targets.python_package import CLIENT_ATTRIBUTES

    snap = tmp_path / "discovery"
    snap.mkdir()
    committed = name_registry.REGISTRY_FILE.read_text(encoding="utf-8")
    (snap / "names.json").write_text(committed, encoding="utf-8")
    keys = sorted(name_registry.load().models)
    added = ["imagegen/minimax_image_o1", "imagegen/x1_1", "imagegen/x_1_1", "new cat/ünï"]
    assert name_registry.record(snap, [*keys[5:], *added], CLIENT_ATTRIBUTES) == 4  # 5 models gone from GenVR: kept
    text = (snap / "names.json").read_text(encoding="utf-8")
    old, new = json.loads(committed), json.loads(text)
    assert {k: new["models"][k] for k in old["models"]} == old["models"] and len(new["models"]) == len(old["models"]) + 4
    assert {k: new["categories"][k] for k in old["categories"]} == old["categories"]
    recorded = name_registry.load(snap / "names.json")
    assert recorded.models["imagegen/minimax_image_o1"].method.startswith("minimax_image_o1_")  # newcomer suffixed
    assert recorded.categories["new cat"] == "new_cat" and recorded.models["new cat/ünï"].class_name == "UniInput"
    assert name_registry.record(snap, [*keys, *added], CLIENT_ATTRIBUTES) == 0
    assert (snap / "names.json").read_text(encoding="utf-8") == text
