"""A randomized oracle for the generator's caches: a seeded random walk over small discovery snapshots.

Each step changes the snapshot a little (models added, removed, renamed; inputs added, removed, renamed to
awkward wire names, retyped, reordered, re-described, re-bounded; schemas made unrecognisable and back; an
earlier state restored, so old cache entries are hit again) and then checks the one invariant that matters:
a cached `generate` into the previous output folder writes exactly what `generate(use_cache=False)` writes into
an empty one, and reports as written/removed exactly the files that differ from the previous tree.

Small by default (2 walks of 3 steps); `GENVR_EVOLVE_SEEDS=30 GENVR_EVOLVE_STEPS=15` explores more, and
`GENVR_EVOLVE_FIRST_SEED=100` other walks. A failure names its seed, its step, every change made so far and the
environment that reruns that walk alone.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.discovery import SnapshotSource
from generator.normalize import SchemaError, extract_schema
from generator.pipeline import GenerationError, generate
from generator_helpers import SNAPSHOT
from test_generation_cache_adversarial import private_cache, small_snapshot, tree

FIRST_SEED = int(os.environ.get("GENVR_EVOLVE_FIRST_SEED", "0"))
SEEDS = int(os.environ.get("GENVR_EVOLVE_SEEDS", "2"))
STEPS = int(os.environ.get("GENVR_EVOLVE_STEPS", "3"))

__all__ = ["private_cache"]  # the fixture, used by name below

# Wire names that are hard on the naming and on DCG: dots, keywords, builtins, names that normalise alike.
AWKWARD_NAMES = ("a.b", "class", "from", "import", "None", "self", "model_config", "json", "2nd", "x-y", "x_y", "X Y", "über", "")
TEXTS = ("Changed", "", "  ", 'with "quotes" and \\ backslash', "three '''\"\"\" quotes", "line one\nline two", "café ☕ 🍊", "{{ braces }} %s", "# not a comment")


def full_models() -> list[dict[str, Any]]:
    document = json.loads((SNAPSHOT / "models.json").read_text(encoding="utf-8-sig"))
    return [e for e in document["data"] if (SNAPSHOT / "schemas" / e["category"] / f"{e['subcategory']}.json").is_file()]


def key_of(entry: dict[str, Any]) -> str:
    return f"{entry['category']}/{entry['subcategory']}"


class Snap:
    """The snapshot folder being evolved; every change goes straight to its files."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.folder, self.rng = folder, rng

    # -- files ---------------------------------------------------------------------------------------------
    def models_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.folder / "models.json").read_text(encoding="utf-8"))
        return doc

    def save_models(self, doc: dict[str, Any]) -> None:
        doc["count"] = len(doc["data"])
        (self.folder / "models.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    def keys(self) -> list[str]:
        return [key_of(e) for e in self.models_doc()["data"]]

    def schema_file(self, key: str) -> Path:
        return self.folder / "schemas" / f"{key}.json"

    def raw(self, key: str) -> Any:
        path = self.schema_file(key)
        return json.loads(path.read_text(encoding="utf-8-sig")) if path.is_file() else None

    def save_raw(self, key: str, doc: Any) -> None:
        path = self.schema_file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")

    def state(self) -> dict[str, bytes]:
        return tree(self.folder)

    def restore(self, state: dict[str, bytes]) -> None:
        shutil.rmtree(self.folder)
        for rel, data in state.items():
            (self.folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / rel).write_bytes(data)

    # -- schemas -------------------------------------------------------------------------------------------
    def recognised(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """(key, raw document, the schema object inside it) of every model whose schema is readable."""
        out = []
        for key in self.keys():
            raw = self.raw(key)
            try:
                _, schema = extract_schema(raw, key)
            except SchemaError:
                continue
            if isinstance(schema.get("properties"), dict):
                out.append((key, raw, schema))
        return out

    def pick_input(self, want: Callable[[dict[str, Any]], bool] = lambda p: True) -> tuple[str, Any, dict[str, Any], str] | None:
        choices = [(k, raw, s, name) for k, raw, s in self.recognised() for name, p in s["properties"].items() if isinstance(p, dict) and want(p)]
        return self.rng.choice(choices) if choices else None


# ---------------------------------------------------------------------------------------------------------------
# Mutations: each changes the snapshot and says what it did, or returns None when it does not apply.


def add_model(s: Snap) -> str | None:
    present = set(s.keys())
    candidates = [e for e in full_models() if key_of(e) not in present]
    entry = s.rng.choice(candidates)
    doc = s.models_doc()
    doc["data"].insert(s.rng.randrange(len(doc["data"]) + 1), entry)
    s.save_models(doc)
    s.schema_file(key_of(entry)).parent.mkdir(parents=True, exist_ok=True)  # its category may have been emptied
    shutil.copy(SNAPSHOT / "schemas" / f"{key_of(entry)}.json", s.schema_file(key_of(entry)))
    return f"add {key_of(entry)}"


def remove_model(s: Snap) -> str | None:
    doc = s.models_doc()
    if len(doc["data"]) <= 2:
        return None
    entry = doc["data"].pop(s.rng.randrange(len(doc["data"])))
    s.save_models(doc)
    if key_of(entry) not in {key_of(e) for e in doc["data"]}:
        s.schema_file(key_of(entry)).unlink(missing_ok=True)
    return f"remove {key_of(entry)}"


def model_text(s: Snap) -> str | None:
    doc = s.models_doc()
    entry = s.rng.choice(doc["data"])
    field = s.rng.choice(("description", "name"))
    entry[field] = s.rng.choice(TEXTS) + s.rng.choice(("", " v2", f" {s.rng.randrange(100)}"))
    s.save_models(doc)
    return f"{key_of(entry)} {field} = {entry[field]!r}"


def same_class_elsewhere(s: Snap) -> str | None:
    """The same subcategory in another category: the same class name (and method name) in two categories."""
    doc = s.models_doc()
    entry = s.rng.choice(doc["data"])
    categories = sorted({e["category"] for e in full_models()} - {entry["category"]})
    clone = {**entry, "category": s.rng.choice(categories)}
    if key_of(clone) in s.keys():
        return None
    raw = s.raw(key_of(entry))
    doc["data"].append(clone)
    s.save_models(doc)
    if raw is not None:
        s.save_raw(key_of(clone), raw)
    return f"clone {key_of(entry)} as {key_of(clone)}"


def break_schema(s: Snap) -> str | None:
    choices = s.recognised()
    if not choices:
        return None
    key, raw, _ = s.rng.choice(choices)
    s.save_raw(key, {"unrecognisable": raw})
    return f"break {key}"


def mend_schema(s: Snap) -> str | None:
    broken = [k for k in s.keys() if isinstance(s.raw(k), dict) and set(s.raw(k)) == {"unrecognisable"}]
    if not broken:
        return None
    key = s.rng.choice(broken)
    s.save_raw(key, s.raw(key)["unrecognisable"])
    return f"mend {key}"


def drop_schema_file(s: Snap) -> str | None:
    """No schema published: a free-form model."""
    key = s.rng.choice(s.keys())
    if not s.schema_file(key).is_file():
        return None
    s.schema_file(key).unlink()
    return f"drop schema of {key}"


def edit_side_file(kind: str) -> Callable[[Snap], str | None]:
    """The name registry and the widget-order file beside the snapshot: names and widget positions change."""

    def mutate(s: Snap) -> str | None:
        name = "names.json" if kind in ("forget names", "share class") else "comfyui-widget-order.json"
        path = s.folder / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        keys = [k for k in s.keys() if k in doc["models"]]
        if not keys:
            return None
        key = s.rng.choice(keys)
        if kind == "share class":  # a recorded class name another category already uses
            others = [k for k in keys if k.partition("/")[0] != key.partition("/")[0]]
            if not others:
                return None
            other = s.rng.choice(others)
            doc["models"][key]["class"] = doc["models"][other]["class"]
            what = f"{key} records the class name of {other}: {doc['models'][other]['class']}"
        elif kind == "forget names" or kind == "forget widgets":
            del doc["models"][key]
            what = f"{name} forgets {key}"
        else:
            doc["models"][key]["optional"].reverse()
            what = f"{name}: {key}'s optional widgets reversed"
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
        return what

    return mutate


def edit_input(kind: str) -> Callable[[Snap], str | None]:
    def mutate(s: Snap) -> str | None:
        want: Callable[[dict[str, Any]], bool] = {
            "bounds": lambda p: p.get("type") in ("integer", "number"),
            "enum": lambda p: isinstance(p.get("enum"), list) and len(p["enum"]) > 1,
        }.get(kind, lambda p: True)
        picked = s.pick_input(want)
        if picked is None:
            return None
        key, raw, schema, name = picked
        props: dict[str, Any] = schema["properties"]
        prop = props[name]
        rng = s.rng
        if kind == "description":
            prop["description"] = rng.choice(TEXTS)
        elif kind == "title":
            prop["title"] = rng.choice(TEXTS)
        elif kind == "default":
            if isinstance(prop.get("enum"), list) and prop["enum"]:
                prop["default"] = rng.choice(prop["enum"])
            elif prop.get("type") == "integer":
                prop["default"] = int(prop.get("default") or 0) + rng.choice((-1, 1, 7))
            elif prop.get("type") == "number":
                prop["default"] = rng.choice((0.25, 1.5, -2.0, 100.0))
            elif prop.get("type") == "boolean":
                prop["default"] = not prop.get("default", False)
            elif "default" in prop and rng.random() < 0.5:
                del prop["default"]
            else:
                prop["default"] = rng.choice(("changed", "", "a.b"))
        elif kind == "bounds":
            bound = rng.choice(("minimum", "maximum"))
            current = prop.get(bound, 0)
            choice = rng.randrange(4)
            if choice == 0:
                prop.pop(bound, None)
            elif choice == 1:
                prop[bound] = current - 1 if bound == "minimum" else current + 1
            elif choice == 2:
                prop[bound] = rng.choice((0, 1, 2.5, 1000))
            else:
                prop["minimum"], prop["maximum"] = 5, 1  # no value fits: the model is refused
        elif kind == "enum":
            values = prop["enum"]
            choice = rng.randrange(3)
            if choice == 0:
                rng.shuffle(values)
            elif choice == 1:
                values.pop(rng.randrange(len(values)))
            else:
                values.insert(rng.randrange(len(values) + 1), 99 if prop.get("type") == "integer" else rng.choice(("extra", "Extra value", "a.b", "class")))
        elif kind == "order":
            other = rng.choice(list(props))
            a, b = prop.get("x-order"), props[other].get("x-order")
            for target, value in ((prop, b), (props[other], a)):
                if value is None:
                    target.pop("x-order", None)
                else:
                    target["x-order"] = value
            return f"{key}: swap x-order of {name!r} and {other!r}"
        elif kind == "required":
            required = schema.setdefault("required", [])
            if name in required:
                required.remove(name)
            else:
                required.append(name)
        elif kind == "hidden":
            if prop.get("display") == "hidden":
                del prop["display"]
            else:
                prop["display"] = "hidden"
        elif kind == "type":
            prop["type"] = rng.choice(("string", "integer", "number", "boolean"))
            for k in ("enum", "default", "minimum", "maximum"):
                prop.pop(k, None)
        elif kind == "remove":
            del props[name]
        elif kind == "rename":
            new = rename_target(rng, key, name, props)
            if new in props:
                return None
            schema["properties"] = {new if k == name else k: v for k, v in props.items()}
            if isinstance(schema.get("required"), list):
                schema["required"] = [new if r == name else r for r in schema["required"]]
            s.save_raw(key, raw)
            return f"{key}: rename {name!r} to {new!r}"
        elif kind == "add":
            new = rename_target(rng, key, name, props)
            if new in props:
                return None
            added: dict[str, Any] = rng.choice(
                (
                    {"type": "string", "description": "Added"},
                    {"type": "integer", "minimum": 1, "maximum": 8, "default": 2},
                    {"type": "string", "enum": ["b", "a"], "default": "a"},
                    {"type": "boolean"},
                    {"type": "string", "format": "uri"},
                )
            )
            items = list(props.items())
            items.insert(rng.randrange(len(items) + 1), (new, {**added, "x-order": rng.randrange(12)}))
            schema["properties"] = dict(items)
            s.save_raw(key, raw)
            return f"{key}: add {new!r} {added}"
        s.save_raw(key, raw)
        return f"{key}: {kind} of {name!r} -> {json.dumps(prop, ensure_ascii=False)[:160]}"

    return mutate


def rename_target(rng: random.Random, key: str, name: str, props: dict[str, Any]) -> str:
    """A new wire name: awkward, or one that normalises like another input's name, or `<Class>.<field>`."""
    others = [k for k in props if k != name] or [name]
    other = rng.choice(others)
    choice = rng.randrange(4)
    if choice == 0:
        return rng.choice(AWKWARD_NAMES)
    if choice == 1:
        return rng.choice((other.upper(), other.replace("_", "-"), f"{other}_", f"{other}.", f" {other}"))
    if choice == 2:
        subcategory = key.partition("/")[2]
        return f"{''.join(w.capitalize() for w in subcategory.split('_'))}Input.{other}"
    return f"{name}_{rng.randrange(1000)}"


MUTATIONS: list[tuple[int, Callable[[Snap], str | None]]] = [
    (3, add_model),
    (3, remove_model),
    (3, model_text),
    (2, same_class_elsewhere),
    (2, break_schema),
    (3, mend_schema),
    (1, drop_schema_file),
    *((3, edit_input(kind)) for kind in ("description", "default", "bounds", "enum", "order", "required", "hidden", "add", "remove", "rename")),
    *((1, edit_input(kind)) for kind in ("title", "type")),
    *((1, edit_side_file(kind)) for kind in ("forget names", "share class", "forget widgets", "reorder widgets")),
]


# ---------------------------------------------------------------------------------------------------------------


def expected_change(before: dict[str, bytes], after: dict[str, bytes]) -> tuple[list[str], list[str]]:
    written = sorted(p for p, data in after.items() if before.get(p) != data)
    return written, sorted(set(before) - set(after))


def check_step(snap: Path, out: Path, scratch: Path, workers: int) -> list[str]:
    """Generate incrementally into `out` and afresh into `scratch`; returns the refusals."""
    fresh = generate(SnapshotSource(snap), scratch, workers=1, use_cache=False, skip_invalid=True)
    expected = tree(scratch)
    shutil.rmtree(scratch)
    before = tree(out)
    if fresh.refused:  # strict: nothing written, every refused model named
        with pytest.raises(GenerationError) as caught:
            generate(SnapshotSource(snap), out, workers=workers)
        assert all(line in str(caught.value) for line in fresh.refused), (str(caught.value), fresh.refused)
        assert tree(out) == before
    result = generate(SnapshotSource(snap), out, workers=workers, skip_invalid=True)
    after = tree(out)
    assert sorted(after) == sorted(expected), ("file sets differ", sorted(set(after) ^ set(expected)))
    differing = [p for p in expected if after[p] != expected[p]]
    assert not differing, ("cached output differs from --no-cache", differing)
    assert result.refused == fresh.refused
    assert (result.written, result.removed) == expected_change(before, after)
    return fresh.refused


@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + SEEDS), ids=lambda s: f"seed{s}")
def test_cached_generation_follows_a_random_walk_of_snapshots(tmp_path: Path, private_cache: Path, seed: int) -> None:
    rng = random.Random(seed)
    start = tuple(key_of(e) for e in rng.sample(full_models(), rng.randint(6, 10)))
    snap = Snap(small_snapshot(tmp_path / "discovery", start), rng)
    out = tmp_path / "generated"
    history = [snap.state()]
    log: list[str] = [f"start {list(start)}"]
    weights, mutations = zip(*MUTATIONS)
    for step in range(STEPS + 1):  # step 0: the first generation
        try:
            for _ in range(rng.randint(1, 3) if step else 0):
                if len(history) > 1 and rng.random() < 0.12:
                    back = rng.randrange(len(history) - 1)
                    snap.restore(history[back])
                    log.append(f"step {step}: revert to the snapshot of step {back}")
                    continue
                done = None
                while done is None:  # some mutations do not apply to every snapshot (nothing to mend...)
                    done = rng.choices(mutations, weights)[0](snap)
                log.append(f"step {step}: {done}")
            refused_text = "\n".join(check_step(snap.folder, out, tmp_path / "fresh", workers=2 if rng.random() < 0.25 else 1))
            broken = {k for k in snap.keys() if isinstance(snap.raw(k), dict) and set(snap.raw(k)) == {"unrecognisable"}}
            assert all(f"{k}: unrecognised schema" in refused_text for k in broken), (broken, refused_text)
            if rng.random() < 0.2:  # the no-op replay of the same snapshot
                again = generate(SnapshotSource(snap.folder), out, workers=1, skip_invalid=True)
                assert (again.written, again.removed, "\n".join(again.refused)) == ([], [], refused_text)
        except Exception as exc:
            trail = "\n  ".join(log)
            rerun = f"GENVR_EVOLVE_FIRST_SEED={seed} GENVR_EVOLVE_SEEDS=1 GENVR_EVOLVE_STEPS={step}"
            raise AssertionError(f"seed {seed}, step {step} (rerun: {rerun}):\n  {trail}") from exc
        if step:
            history.append(snap.state())  # history[n]: the snapshot generated at step n
    print("\n  ".join(log))  # shown with -s: what the walk explored
