"""Widget positions that survive regeneration: `discovery/comfyui-widget-order.json`.

ComfyUI saves a node's widget values as a positional array, so an input may never move once a workflow has
used it. The order file records, per model, the inputs of each section (`required`, then `optional`, the
order ComfyUI lays widgets out in) with the shape of their slot. Rendering follows the file:

- inputs still in the schema keep their recorded section and position;
- inputs GenVR dropped stay as *retired* placeholders of the same slot shape (ignored, never sent);
- inputs the file does not know yet go last, in the optional section (a new required input is enforced at run
  time instead), so they never push an existing widget along.

Models missing from the file get their schema order. `make generate` only reads the file (deterministic,
offline); `make regenerate` calls `record`, which appends new models and inputs and never rewrites a
recorded entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..name_registry import RegistryError
from ..normalize import ModelSpec
from ..targets.comfyui_widgets import INT_LIMIT, NodeInput, model_inputs

ORDER_FILE = Path(__file__).resolve().parents[2] / "discovery" / "comfyui-widget-order.json"
SECTIONS = ("required", "optional")
Recorded = dict[str, list[tuple[str, str]]]  # section -> [(input name, slot signature)]
_RETIRED = "Retired: GenVR no longer takes this input; ignored (kept so saved workflows keep their values in place)."
_ABOUT = (
    "Widget order of every GenVR ComfyUI node, append-only: ComfyUI saves widget values by position. "
    "Read by `make generate`; extended by `make regenerate`. "
    "Never reorder or delete entries. Entry: 'input name:slot shape'."
)


def load(path: Path = ORDER_FILE) -> dict[str, Recorded]:
    if not path.is_file():
        return {}
    out: dict[str, Recorded] = {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        for key, sections in raw.get("models", {}).items():
            out[key] = {s: [_split(e) for e in sections.get(s, [])] for s in SECTIONS}
    except (ValueError, TypeError, AttributeError) as exc:  # a hand edit gone wrong: name the file, no traceback
        raise RegistryError(f"{path}: unreadable widget order ({type(exc).__name__}: {exc})") from None
    return out


def dump(order: dict[str, Recorded]) -> str:
    models = {key: {s: [f"{n}:{sig}" for n, sig in order[key][s]] for s in SECTIONS} for key in sorted(order)}
    return json.dumps({"about": _ABOUT, "models": models}, indent=1, ensure_ascii=False) + "\n"


def apply(inputs: tuple[NodeInput, ...], recorded: Recorded | None) -> tuple[NodeInput, ...]:
    """The node's inputs in their stable order (see the module docstring)."""
    if recorded is None:
        return inputs
    by_name = {i.name: i for i in inputs}
    placed: dict[str, list[NodeInput]] = {s: [] for s in SECTIONS}
    for section in SECTIONS:
        for name, signature in recorded[section]:
            current = by_name.pop(name, None)
            if current is None:
                placed[section].append(retired(name, signature, section == "required"))
            else:
                placed[section].append(_in_section(current, section == "required"))
    new = [_in_section(i, False) for i in inputs if i.name in by_name]
    return (*placed["required"], *placed["optional"], *new)


def extend(order: dict[str, Recorded], current: dict[str, tuple[NodeInput, ...]]) -> dict[str, Recorded]:
    """A copy of `order` with every model and input of `current` recorded; existing entries untouched."""
    out = {key: {s: list(v) for s, v in rec.items()} for key, rec in order.items()}
    for key, inputs in current.items():
        laid_out = apply(inputs, out.get(key))
        rec = out.setdefault(key, {s: [] for s in SECTIONS})
        known = {n for s in SECTIONS for n, _ in rec[s]}
        for i in laid_out:
            if i.name not in known:
                rec["required" if i.required else "optional"].append((i.name, i.signature))
    return out


def retired(name: str, signature: str, required: bool) -> NodeInput:
    """A placeholder with the slot shape of an input GenVR dropped."""
    if signature in ("IMAGE", "VIDEO", "AUDIO"):
        return NodeInput(name, signature, {"tooltip": _RETIRED}, False, signature)
    if signature in ("INT", "INT+control"):
        options: dict[str, Any] = {"default": 0, "min": -INT_LIMIT, "max": INT_LIMIT, "tooltip": _RETIRED}
        if signature == "INT+control":
            options["control_after_generate"] = True
        return NodeInput(name, "INT", options, required, signature)
    if signature == "FLOAT":
        return NodeInput(name, "FLOAT", {"default": 0.0, "min": -1e9, "max": 1e9, "round": False, "tooltip": _RETIRED}, required, signature)
    if signature == "BOOLEAN":
        return NodeInput(name, "BOOLEAN", {"default": False, "tooltip": _RETIRED}, required, signature)
    return NodeInput(name, "STRING", {"default": "", "tooltip": _RETIRED}, required, signature)


def _in_section(i: NodeInput, required: bool) -> NodeInput:
    if i.required == required:
        return i
    return NodeInput(i.name, i.type, i.options, required, i.signature)


def _split(entry: str) -> tuple[str, str]:
    name, sep, signature = entry.rpartition(":")
    if not sep or not name:
        raise ValueError(f"comfyui widget order: bad entry {entry!r} (expected 'name:shape')")
    return name, signature


def record(path: Path, specs: list[ModelSpec]) -> int:
    """Record every model and input of `specs` in the order file at `path` (append-only); inputs added."""
    current = {spec.key: model_inputs(spec).inputs for spec in specs}
    old = load(path)
    new = extend(old, current)
    text = dump(new)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return sum(len(new[k][s]) for k in new for s in SECTIONS) - sum(len(old[k][s]) for k in old for s in SECTIONS)
