"""Names that survive regeneration: `discovery/names.json`, append-only.

Every category attribute and every model's method/module, class, LLM tool and ComfyUI node name, once assigned,
is recorded here and reused by every later generation (see `naming`). `make generate` only reads the file;
`make regenerate` records the models it has not seen yet and never rewrites an entry, so a model GenVR adds later
can never take or change an existing name. A model missing from the file (a snapshot edited by hand) gets its
names by the rule, against everything recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # naming imports the runtime (pydantic): the no-op run needs only RegistryError from here
    from .naming import Names

REGISTRY_FILE = Path(__file__).resolve().parents[1] / "discovery" / "names.json"
_ABOUT = (
    "Names of every GenVR category and model in the generated bindings, append-only: once a name is recorded it "
    "never changes, so code, tool calls and saved ComfyUI workflows keep working when GenVR adds models. Read by "
    "`make generate`; extended by `make regenerate`. Never edit or delete entries."
)


class RegistryError(ValueError):
    """The registry file cannot be read; the message names the file and the entry."""


def path_for(snapshot_dir: Path | None) -> Path:
    return snapshot_dir / REGISTRY_FILE.name if snapshot_dir is not None else REGISTRY_FILE


def load(path: Path = REGISTRY_FILE) -> Names:
    from .naming import ModelNames, Names

    if not path.is_file():
        return Names()
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        categories = {str(k): str(v) for k, v in raw["categories"].items()}
        models = {
            str(key): ModelNames(method=str(e["method"]), class_name=str(e["class"]), tool=str(e["tool"]), node=str(e["node"]))
            for key, e in raw["models"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistryError(f"{path}: unreadable name registry ({type(exc).__name__}: {exc})") from None
    return Names(categories=categories, models=models)


def dump(names: Names) -> str:
    models = {
        key: {"method": n.method, "class": n.class_name, "tool": n.tool, "node": n.node}
        for key, n in sorted(names.models.items())
    }
    document = {"about": _ABOUT, "categories": dict(sorted(names.categories.items())), "models": models}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def extend(recorded: Names, keys: list[str], category_reserved: frozenset[str]) -> Names:
    """`recorded` plus the names of every key it lacks; recorded entries untouched."""
    from .naming import Names, assign

    assigned = assign(keys, recorded, category_reserved=category_reserved)
    return Names(
        categories={**assigned.categories, **recorded.categories},
        models={**assigned.models, **recorded.models},
    )


def record(snapshot_dir: Path, keys: list[str], category_reserved: frozenset[str]) -> int:
    """Add the names of `keys` missing from the snapshot's registry; returns how many models were added."""
    path = path_for(snapshot_dir)
    old = load(path)
    new = extend(old, keys, category_reserved)
    text = dump(new)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return len(new.models) - len(old.models)
