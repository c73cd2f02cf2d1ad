"""Property: GenVR adding models never changes a name of an existing one.

Random newcomers with hostile spellings (colliding after sanitising with existing models, Python keywords,
runtime and machinery names, stdlib module names, unicode) are added to the real snapshot. Checked at the naming
layer for many examples (fast), and end to end for a few: every existing model's class, module, method, tool
name, node id and per-model file is unchanged, and everything imports (and passes mypy --strict).

Example counts scale with GENVR_FUZZ_EXAMPLES (`make fuzz`); the normal suite runs a bounded number.
"""

from __future__ import annotations

import json
import keyword
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import genvr_runtime
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import name_registry, naming
from generator.discovery import SnapshotSource, parse_model_list
from generator.pipeline import build_specs, render_all
from generator.targets.python_package import CLIENT_ATTRIBUTES
from generator.write import sync_tree
from generator_helpers import GENERATED, ROOT, SNAPSHOT, run_python, snapshot_with

FUZZ = int(os.environ.get("GENVR_FUZZ_EXAMPLES", "0"))
NAMING_EXAMPLES = FUZZ or 150
END_TO_END_EXAMPLES = max(1, FUZZ // 2000) if FUZZ else 1
MYPY_EXAMPLES = 1  # mypy --strict on the grown package: the slowest check, run for the first example(s)

REGISTRY = name_registry.load()
ENTRIES = parse_model_list(json.loads((SNAPSHOT / "models.json").read_text(encoding="utf-8-sig")))[0]
EXISTING = sorted(e.key for e in ENTRIES)
CATEGORIES = sorted({e.category for e in ENTRIES})
SUBCATEGORIES = sorted({e.subcategory for e in ENTRIES})
# "names changed on addition", summed over every example of every test in this module (reported, must stay 0).
TALLY = {"examples": 0, "models added": 0, "names changed on addition": 0, "full generations": 0}

ACCENTS = str.maketrans("aeiouc", "áéíöûç")
MACHINERY = sorted(
    naming.PACKAGE_GLOBALS | naming.CATEGORY_GLOBALS | set(genvr_runtime.__all__) | CLIENT_ATTRIBUTES
    | {"gen_v_r", "genvr_input", "model_info", "pending_files", "self", "cls", "__init__", "_client", "nodes", "tools"}
)


def _mutations(name: str) -> st.SearchStrategy[str]:
    """Spellings that sanitise to (nearly) the same identifier as `name`."""
    return st.sampled_from([
        name.replace("_", "-"), name.replace("_", ""), name.replace("-", "_"), name.upper(), name.title().replace("_", ""),
        "_".join(name), f"{name}_", f" {name}", name.translate(ACCENTS), name.replace("_", " "), name.replace("_", "."),
        f"{name}'", f'{name}"', name.replace("_", "__"), f"{name}_input",
    ])


def _usable(text: str) -> bool:
    """What discovery accepts as a name (the rest is refused per model, tested in test_generation_refusals)."""
    entries, refused = parse_model_list({"data": [{"category": "c", "subcategory": text}]})
    return bool(entries)


hostile_names = st.one_of(
    st.sampled_from(SUBCATEGORIES).flatmap(_mutations),
    st.sampled_from(sorted(set(keyword.kwlist) | set(keyword.softkwlist))),
    st.sampled_from(MACHINERY),
    st.sampled_from(sorted(sys.stdlib_module_names)),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=12),
).filter(_usable)
hostile_categories = st.one_of(
    st.sampled_from(CATEGORIES),  # most newcomers join an existing category
    st.sampled_from(CATEGORIES).flatmap(_mutations),
    st.sampled_from(["gen3d", "3d-gen", "3D_Gen", "importlib", "difflib", "load_input_class", "models", "run", "submit"]),
    hostile_names,
).filter(_usable)
additions = st.lists(st.tuples(hostile_categories, hostile_names), min_size=1, max_size=8).map(
    lambda pairs: sorted({f"{c}/{s}" for c, s in pairs} - set(EXISTING))
)


def check_names(names: naming.Names) -> None:
    """Every name valid for its use and unique where it must be."""
    for raw, attr in names.categories.items():
        assert attr.isascii() and attr.isidentifier() and not keyword.iskeyword(attr) and not attr.startswith("_"), raw
        assert attr not in naming.PACKAGE_GLOBALS and attr not in CLIENT_ATTRIBUTES, raw
    assert len(set(names.categories.values())) == len(names.categories)
    for category in names.categories:
        members = [n for k, n in names.models.items() if k.partition("/")[0] == category]
        for n in members:
            assert n.method.isascii() and n.method.isidentifier() and not keyword.iskeyword(n.method), n
            assert not n.method.startswith("_") and n.method not in naming.CATEGORY_GLOBALS | {"self", "cls"}, n
            assert n.class_name.isascii() and n.class_name.isidentifier() and "_" not in n.class_name, n
            assert n.class_name not in genvr_runtime.__all__, n
        assert len({n.method for n in members}) == len({n.class_name for n in members}) == len(members), category
    tools = [n.tool for n in names.models.values()]
    nodes = [n.node for n in names.models.values()]
    assert all(naming.TOOL_NAME_PATTERN.match(t) for t in tools) and len(set(tools)) == len(tools)
    assert all(n.isascii() and n.isidentifier() and n.startswith("GenVR_") for n in nodes) and len(set(nodes)) == len(nodes)


def changed_names(names: naming.Names) -> list[str]:
    out = [f"{k}: {REGISTRY.models[k]} → {names.models[k]}" for k in EXISTING if names.models[k] != REGISTRY.models[k]]
    out += [f"category {c}" for c in CATEGORIES if names.categories[c] != REGISTRY.categories[c]]
    return out


@pytest.fixture(scope="module", autouse=True)
def report_tally() -> Iterator[None]:
    yield
    print(f"\nname stability: {TALLY}")
    assert TALLY["names changed on addition"] == 0


def test_the_registry_records_every_model_of_the_snapshot_as_the_rule_names_it() -> None:
    assert sorted(REGISTRY.models) == EXISTING and sorted(REGISTRY.categories) == CATEGORIES
    assert naming.assign(EXISTING, category_reserved=CLIENT_ATTRIBUTES) == REGISTRY  # nothing hand-edited
    check_names(REGISTRY)


@pytest.mark.fuzz
@settings(max_examples=NAMING_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(additions)
def test_adding_hostile_models_changes_no_existing_name(added: list[str]) -> None:
    names = naming.assign([*EXISTING, *added], REGISTRY, category_reserved=CLIENT_ATTRIBUTES)
    changed = changed_names(names)
    TALLY["examples"] += 1
    TALLY["models added"] += len(added)
    TALLY["names changed on addition"] += len(changed)
    assert not changed
    check_names(names)
    # Recording the newcomers (what `make regenerate` does) keeps every entry and names them as generated.
    extended = name_registry.extend(REGISTRY, [*EXISTING, *added], CLIENT_ATTRIBUTES)
    assert {k: extended.models[k] for k in REGISTRY.models} == REGISTRY.models
    assert naming.assign([*EXISTING, *added], extended, category_reserved=CLIENT_ATTRIBUTES) == names


# ---------------------------------------------------------------------------------------------------------------
# End to end: a few full generations


def per_model_files(root: Path) -> dict[str, bytes]:
    files = sorted((root / "genvr" / "models").glob("*/*.py")) + sorted((root / "genvr" / "tools").glob("*/*/*.json"))
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.name != "__init__.py"}


def node_ids(root: Path) -> dict[str, str]:
    """ComfyUI node id by model key, read from the pack's node files."""
    out = {}
    for path in (root / "comfyui" / "genvr_nodes" / "nodes").glob("*/*.json"):
        node = json.loads(path.read_text(encoding="utf-8"))
        out["/".join(node["model"])] = node["node_id"]
    return out


NAMES_DUMP = "import json; from genvr.models import MODELS; from genvr.tools import MODEL_TOOLS; print(json.dumps([MODELS, MODEL_TOOLS]))"
IMPORT_ALL = r"""
import json, warnings
from pathlib import Path
warnings.simplefilter("error")
from genvr import Client
from genvr.models import MODELS, load_input_class
from genvr_runtime import GenVRInput
client = Client(api_key="k", uid="u")
for key in json.loads(Path("check.json").read_text()):
    cls = load_input_class(key)
    assert cls is not GenVRInput and cls.genvr_model.key == key, key
    module, name = MODELS[key]
    category_module, attr = module.rsplit(".", 1)
    assert getattr(__import__(category_module, fromlist=["_"]), name) is cls, key
    assert callable(getattr(getattr(client, category_module.rsplit(".", 1)[1]), attr)), key
print("ok")
"""
_COMMITTED: dict[str, object] = {}


def committed() -> dict[str, object]:
    if not _COMMITTED:
        _COMMITTED["files"] = per_model_files(GENERATED)
        _COMMITTED["names"] = json.loads(run_python(NAMES_DUMP, GENERATED).stdout)
        _COMMITTED["nodes"] = node_ids(GENERATED)
    return _COMMITTED


PROMPT_SCHEMA = {"type": "object", "required": ["prompt"], "properties": {
    "prompt": {"type": "string", "x-order": 0},
    "pending_files": {"type": "string", "x-order": 1},
    "model_dump": {"type": "integer", "enum": [1, 2], "x-order": 2},
    "class": {"type": "boolean", "x-order": 3},
}}


@pytest.mark.fuzz
@settings(max_examples=END_TO_END_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(additions.filter(bool))
def test_adding_hostile_models_rewrites_no_existing_model_and_everything_imports(tmp_path_factory: pytest.TempPathFactory, added: list[str]) -> None:
    root = tmp_path_factory.mktemp("added")
    entries = []
    for key in added:
        category, _, subcategory = key.partition("/")
        entries.append(({"category": category, "subcategory": subcategory, "name": f"{subcategory} (new)"}, PROMPT_SCHEMA))
    snap = snapshot_with(root / "discovery", entries)
    specs = build_specs(SnapshotSource(snap).load())
    assert not specs.refused, specs.refused
    out = root / "generated"
    sync_tree(render_all(specs, snapshot_dir=snap), out)

    before = committed()
    after_files = per_model_files(out)
    rewritten = sorted(rel for rel, data in before["files"].items() if after_files.get(rel) != data)  # type: ignore[union-attr]
    models, tools = json.loads(run_python(NAMES_DUMP, out).stdout)
    old_models, old_tools = before["names"]  # type: ignore[misc]
    nodes = node_ids(out)
    changed = [k for k in EXISTING if models[k] != old_models[k] or tools[k] != old_tools[k] or nodes[k] != before["nodes"][k]]  # type: ignore[index]
    TALLY["examples"] += 1
    TALLY["full generations"] += 1
    TALLY["models added"] += len(added)
    TALLY["names changed on addition"] += len(changed) + len(rewritten)
    assert not rewritten and not changed, (rewritten[:5], changed[:5])
    assert set(added) <= set(models) and set(added) <= set(nodes) and set(added) <= set(tools)

    (out / "check.json").write_text(json.dumps([*added, "imagegen/flux_dev", "3dgen/trellis", "imagegen/minimax-image-o1"]))
    done = run_python(IMPORT_ALL, out)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]

    if TALLY["full generations"] <= MYPY_EXAMPLES:
        touched = {models[k][0].rsplit(".", 1)[0] for k in added}
        paths = [out / (m.replace(".", "/") + ".py") for k in added for m in [models[k][0]]]
        paths += [out / (c.replace(".", "/")) / "__init__.py" for c in touched]
        paths += [out / "genvr" / "resources" / c.rsplit(".", 1)[1] / "__init__.py" for c in touched]
        paths += [out / (models[k][0].replace(".models.", ".resources.").replace(".", "/") + ".py") for k in added]
        paths += [out / "genvr" / "models" / "__init__.py", out / "genvr" / "_client.py"]
        env = {**os.environ, "MYPYPATH": f"{out}{os.pathsep}{ROOT / 'runtime'}"}
        typed = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", *map(str, paths)],
            cwd=out, env=env, capture_output=True, text=True, timeout=900,
        )
        assert typed.returncode == 0, typed.stdout[-3000:]
