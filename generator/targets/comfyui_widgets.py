"""ComfyUI inputs of one model, decided from its ModelSpec: what the node declares and how values go back.

Every schema input becomes one or two ComfyUI inputs (a `NodeInput`: name, section, type, options) plus one
`Field` record that the pack's runtime reads to turn widget values into the GenVR request. The rules, in short:

| schema | ComfyUI input | sent as |
|---|---|---|
| list enum | list-form combo (ComfyUI validates that form), default selected; optional without default gets a leading `(api default)` | the original value (numbers converted back) |
| integer / number | INT / FLOAT with the schema's min/max/step/default | the number |
| optional integer/number without default | STRING (empty = API default) | parsed number |
| seed | INT, -1 = random (not sent), `control_after_generate` | the number |
| boolean | BOOLEAN; optional without default: combo `(api default)`/`true`/`false` | bool |
| string | STRING (multiline for prompts); empty = not sent | str |
| file (`format: uri`) | an IMAGE/VIDEO/AUDIO socket plus a URL STRING | uploaded URL or the URL given |
| array of files | a socket taking a batch plus a multiline URL STRING | list of URLs |
| array of strings / other | multiline STRING (one item per line / JSON) | list / JSON value |
"""

from __future__ import annotations

import functools

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..normalize import ModelSpec, Param
from ..render import one_line

API_DEFAULT = "(api default)"  # combo entry meaning "do not send; GenVR's default applies"
CUSTOM_TEXT = "(custom text)"  # first entry of a preset combo: send the text box as typed
NULL_TOKEN = "(null)"  # combo entry / box text sending JSON null, for inputs the schema marks nullable
NULL_SEED = -2  # the same for seed widgets (INT): -1 stays "random, not sent"
INT_LIMIT = 2147483647  # JS-safe bound for INT widgets without a schema bound
FLOAT_LIMIT = 1e9
SOCKET_TYPES = {"image": "IMAGE", "video": "VIDEO", "audio": "AUDIO"}
SEED_NAMES = frozenset({"seed", "noise_seed"})
# Inputs whose text is long by nature: multiline boxes.
_PROMPT_WORDS = ("prompt", "text", "lyrics", "script", "caption", "input", "transcript")
# Names the pack itself uses (the hidden node id) or that GenVR routes by (they cannot be sent as inputs).
RESERVED_INPUTS = frozenset({"unique_id"})
ROUTING_FIELDS = frozenset({"uid", "category", "subcategory"})


@dataclass(frozen=True)
class NodeInput:
    """One ComfyUI input of a node."""

    name: str
    type: str | tuple[str, ...]  # a type name, or the options of a list-form combo
    options: dict[str, Any]
    required: bool  # "required" section (else "optional")
    signature: str  # what the widget slot looks like, for retired placeholders (see comfyui_order)

    def literal(self) -> tuple[Any, ...]:
        kind = list(self.type) if isinstance(self.type, tuple) else self.type
        return (kind, self.options) if self.options else (kind,)


@dataclass(frozen=True)
class FieldSpec:
    """Arguments of the pack's `Field(...)` record for one schema input."""

    wire: str
    kind: str
    opts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInputs:
    inputs: tuple[NodeInput, ...]
    fields: tuple[FieldSpec, ...]
    skipped: tuple[str, ...] = ()  # schema inputs the node cannot send (routing-name collisions)


@functools.lru_cache(maxsize=4096)  # asked for by the refusal check, the docs and the pack: made once per model
def model_inputs(spec: ModelSpec) -> ModelInputs:
    """The node's inputs in schema order (required section first, as ComfyUI lists them) and its fields."""
    if spec.free_form:
        text = NodeInput(
            "params_json",
            "STRING",
            {"multiline": True, "default": "{}", "tooltip": "GenVR publishes no schema for this model: a JSON object of inputs, sent unchecked."},
            True,
            "STRING",
        )
        return ModelInputs((text,), (FieldSpec("*", "json_object", {"input": "params_json"}),))
    taken = {p.wire_name for p in spec.params}
    inputs: list[NodeInput] = []
    fields: list[FieldSpec] = []
    skipped = []
    for p in spec.params:
        if p.wire_name in ROUTING_FIELDS:
            skipped.append(p.wire_name)
            continue
        node_inputs, fs = _with_null(p, *_param_inputs(p, taken))
        inputs.extend(node_inputs)
        fields.append(fs)
    names = [i.name for i in inputs]
    clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & RESERVED_INPUTS))
    if clash:
        raise ValueError(f"{spec.key}: ComfyUI input names collide: {clash}")
    ordered = [i for i in inputs if i.required] + [i for i in inputs if not i.required]
    return ModelInputs(tuple(ordered), tuple(fields), tuple(skipped))


# ---------------------------------------------------------------------------------------------------------------


def _param_inputs(p: Param, taken: set[str]) -> tuple[list[NodeInput], FieldSpec]:
    tooltip = _tooltip(p)
    base: dict[str, Any] = {}
    if p.hidden:
        base["advanced"] = True  # 2026 frontends fold these away; older ones ignore the key
    opts: dict[str, Any] = {}
    if p.required:
        opts["required"] = True
    if p.send_always:
        opts["default"] = p.default  # sent when the widget is left empty

    if p.is_file:
        tooltip = tooltip.replace(" Required.", "").replace("Required.", "")
        if p.required:
            tooltip = _join(tooltip, "Required: a connected file or a URL.")
        return _file_inputs(p, taken, tooltip, base, opts)

    t = p.main_type
    name = p.wire_name
    if p.enum is not None:
        values = [_combo_text(v) for v in p.enum]
        if len(set(values)) != len(values):
            raise ValueError(f"{name}: enum values collide as combo text: {values}")
        omit = not p.required and not p.has_default
        if omit:
            values.insert(0, API_DEFAULT)
        # The entry of the enum value equal to the default (an int default may select a float entry: 5 → "5.0").
        matches = [_combo_text(v) for v in p.enum if v == p.default and isinstance(v, bool) == isinstance(p.default, bool)]
        default = (matches[0] if matches else _combo_text(p.default)) if p.has_default else values[0]
        options = {"default": default, "tooltip": tooltip, **base}
        if not all(isinstance(v, str) for v in p.enum):
            opts["values"] = {_combo_text(v): v for v in p.enum}  # combo text → the number GenVR expects
        if omit:
            opts["omit"] = API_DEFAULT
        return [NodeInput(name, tuple(values), options, p.required, "COMBO")], FieldSpec(name, "choice", opts)

    if t == "integer" and (name in SEED_NAMES or name.endswith("_seed")):
        return _seed_input(p, tooltip, base, opts)

    if t in ("integer", "number") and len(p.types) == 1:
        if not p.has_default and not p.required:
            # No default to show and nothing to send by default: an empty text box means "API default".
            _bounds(p, opts)
            hint = "whole number" if t == "integer" else "number"
            options = {"default": "", "tooltip": _join(tooltip, f"A {hint}; empty = API default."), **base}
            return [NodeInput(name, "STRING", options, False, "STRING")], FieldSpec(name, "int_text" if t == "integer" else "float_text", opts)
        _bounds(p, opts)
        return _number_input(p, tooltip, base, opts)

    if t == "boolean":
        if p.has_default or p.required:
            options = {"default": bool(p.default) if p.has_default else False, "tooltip": tooltip, **base}
            return [NodeInput(name, "BOOLEAN", options, p.required, "BOOLEAN")], FieldSpec(name, "bool", opts)
        options = {"default": API_DEFAULT, "tooltip": tooltip, **base}
        return [NodeInput(name, (API_DEFAULT, "true", "false"), options, False, "COMBO")], FieldSpec(name, "tristate", {**opts, "omit": API_DEFAULT})

    if t == "array":
        options = {"multiline": True, "default": "\n".join(map(str, p.default)) if p.has_default and p.default is not None else "", "tooltip": _join(tooltip, "One item per line."), **base}
        _items(p, opts)
        return [NodeInput(name, "STRING", options, p.required, "STRING")], FieldSpec(name, "lines", opts)

    if t in ("object", "any"):
        options = {"multiline": True, "default": "", "tooltip": _join(tooltip, "A JSON value; empty = not sent."), **base}
        return [NodeInput(name, "STRING", options, p.required, "STRING")], FieldSpec(name, "json", opts)

    # Strings, and `["integer", "string"]` unions (sent as a number when the text is one).
    kind = "int_or_text" if set(p.types) >= {"integer", "string"} else "text"
    default = p.default if p.has_default and isinstance(p.default, str) else ("" if not p.has_default else str(p.default))
    options = {"multiline": _multiline(p, default), "default": default, "tooltip": tooltip, **base}
    if p.max_length is not None:
        opts["max_length"] = p.max_length
    inputs = [NodeInput(name, "STRING", options, p.required, "STRING")]
    preset_name = f"{name}_preset"
    if p.presets and preset_name not in taken and len({label for label, _ in p.presets}) == len(p.presets):
        # A combo of the schema's presets; choosing one sends its text instead of the box's.
        labels = tuple(label for label, _ in p.presets)
        hint = f"Sends the chosen preset's text instead of `{name}`; {CUSTOM_TEXT} sends the box."
        inputs.append(NodeInput(preset_name, (CUSTOM_TEXT, *labels), {"default": CUSTOM_TEXT, "tooltip": hint, **base}, False, "COMBO"))
        opts["preset_input"] = preset_name
        opts["presets"] = dict(p.presets)
    return inputs, FieldSpec(name, kind, opts)


def _with_null(p: Param, inputs: list[NodeInput], fs: FieldSpec) -> tuple[list[NodeInput], FieldSpec]:
    """A nullable input can send null (the schema's "switch it off"), apart from leaving it unset:
    combos get a `(null)` entry, text boxes take `(null)`, seed widgets -2. File inputs and number widgets
    with a default cannot spell null (documented in the README)."""
    if not p.nullable:
        return inputs, fs
    *others, last = inputs
    options = dict(last.options)
    if fs.kind in ("choice", "tristate") and isinstance(last.type, tuple):
        options["tooltip"] = _join(options.get("tooltip", ""), f"{NULL_TOKEN} = send null.")
        last = NodeInput(last.name, (*last.type, NULL_TOKEN), options, last.required, last.signature)
        token: Any = NULL_TOKEN
    elif fs.kind == "int" and fs.opts.get("omit") == -1:
        options["min"] = NULL_SEED
        options["tooltip"] = _join(options.get("tooltip", ""), f"{NULL_SEED} = send null.")
        last = NodeInput(last.name, last.type, options, last.required, last.signature)
        token = NULL_SEED
    elif fs.kind in ("text", "int_or_text", "int_text", "float_text", "lines", "json"):
        options["tooltip"] = _join(options.get("tooltip", ""), f"Type {NULL_TOKEN} to send null.")
        last = NodeInput(last.name, last.type, options, last.required, last.signature)
        token = NULL_TOKEN
    else:
        return inputs, fs
    return [*others, last], FieldSpec(fs.wire, fs.kind, {**fs.opts, "null": token})


def _seed_input(p: Param, tooltip: str, base: dict[str, Any], opts: dict[str, Any]) -> tuple[list[NodeInput], FieldSpec]:
    # -1 means "random": not sent, GenVR draws one. The control widget (randomize by default) makes a new
    # seed per queued run, which is what re-runs (and re-pays) a cached node on purpose.
    hi = p.maximum if p.maximum is not None else INT_LIMIT
    default = p.default if p.has_default and isinstance(p.default, int) else -1
    options = {
        "default": default,
        "min": -1,
        "max": int(hi),
        "step": 1,
        "control_after_generate": True,
        "tooltip": _join(tooltip, "-1 = random (not sent)."),
        **base,
    }
    _bounds(p, opts)
    opts["omit"] = -1
    return [NodeInput(p.wire_name, "INT", options, p.required, "INT+control")], FieldSpec(p.wire_name, "int", opts)


def _number_input(p: Param, tooltip: str, base: dict[str, Any], opts: dict[str, Any]) -> tuple[list[NodeInput], FieldSpec]:
    is_int = p.main_type == "integer"
    lo, hi = p.minimum, p.maximum
    tooltip = _join(tooltip, _range_note(p))
    if lo is None and _NON_NEGATIVE.search(p.wire_name):
        lo = min(0, p.default) if p.has_default and isinstance(p.default, (int, float)) else 0  # keeps a -1 sentinel
    if is_int:
        lo = INT_LIMIT * -1 if lo is None else math.ceil(lo) + (1 if p.exclusive_minimum and lo == math.ceil(lo) else 0)
        hi = INT_LIMIT if hi is None else math.floor(hi) - (1 if p.exclusive_maximum and hi == math.floor(hi) else 0)
        step = int(p.step) if p.step is not None and float(p.step).is_integer() else 1
        default = int(p.default) if p.has_default else max(lo, min(0, hi))
        if (default - lo) % step:  # the frontend snaps to min + k·step: 854 with step 16 became 864 on the first click
            step = math.gcd(step, default - lo)
        options = {"default": default, "min": int(lo), "max": int(hi), "step": step, "tooltip": tooltip, **base}
        return [NodeInput(p.wire_name, "INT", options, p.required, "INT")], FieldSpec(p.wire_name, "int", opts)
    flo = -FLOAT_LIMIT if lo is None else float(lo)
    fhi = FLOAT_LIMIT if hi is None else float(hi)
    fdefault = float(p.default) if p.has_default else max(flo, min(0.0, fhi))
    options = {"default": fdefault, "min": flo, "max": fhi, "step": _float_step(p, flo, fhi, fdefault), "round": False, "tooltip": tooltip, **base}
    return [NodeInput(p.wire_name, "FLOAT", options, p.required, "FLOAT")], FieldSpec(p.wire_name, "float", opts)


# Inputs that are counts, sizes, steps or durations by their name: never negative, though the schema publishes
# no minimum. Their maximum stays unpublished. Scales and strengths keep the schema's (absent) range: some
# models take negative ones.
_NON_NEGATIVE = re.compile(r"(^|_)(num|steps?|frames?|width|height|size|fps|samples|chunk|overlap|duration|length)(_|$)")


def _range_note(p: Param) -> str:
    """Tooltip words for what the schema does not bound (the widget's own limits are then only technical)."""
    if p.minimum is None and p.maximum is None:
        return "No range published by GenVR."
    if p.maximum is None:
        return "No maximum published by GenVR."
    if p.minimum is None:
        return "No minimum published by GenVR."
    return ""


def _float_step(p: Param, lo: float, hi: float, default: float) -> float:
    if p.step is not None:
        step = float(p.step)
    elif p.minimum is not None and p.maximum is not None and hi - lo <= 10:
        step = 0.01
    else:
        step = 0.1
    # The frontend shows as many decimals as the step has: never fewer than the default needs.
    decimals = max((_decimals(v) for v in (default, p.minimum, p.maximum) if v is not None), default=0)
    return min(step, 10.0**-decimals) if decimals else step


def _decimals(value: float) -> int:
    text = repr(float(value))
    return 0 if "e" in text or text.endswith(".0") else min(len(text.split(".")[1]), 6)


def _file_inputs(p: Param, taken: set[str], tooltip: str, base: dict[str, Any], opts: dict[str, Any]) -> tuple[list[NodeInput], FieldSpec]:
    many = p.main_type == "array"
    wire = p.wire_name
    media = p.file_type
    suffix = "_urls" if many else "_url"
    if wire.endswith(suffix) and wire[: -len(suffix)] and wire[: -len(suffix)] not in taken:
        socket, url = wire[: -len(suffix)], wire
    else:
        socket, url = wire, wire + suffix
        if url in taken:
            url = wire + "_link"
    opts["url_input"] = url
    if media is not None:
        opts["media"] = media
    if many:
        _items(p, opts)
    inputs: list[NodeInput] = []
    what = f"{media} file" if media else "file"
    if media in SOCKET_TYPES:
        opts["socket"] = socket
        batch = " (a batch: one file per item)" if many else ""
        inputs.append(
            NodeInput(socket, SOCKET_TYPES[media], {"tooltip": _join(tooltip, f"Uploaded to GenVR{batch}; or give `{url}` instead."), **base}, False, SOCKET_TYPES[media])
        )
    hint = f"Public URL(s) of the {what}, one per line." if many else f"Public URL of the {what} (or connect `{socket}`)." if media in SOCKET_TYPES else f"Public URL of the {what}."
    default = "\n".join(p.default) if many and p.has_default and isinstance(p.default, list) else (p.default if p.has_default and isinstance(p.default, str) else "")
    inputs.append(NodeInput(url, "STRING", {"multiline": many, "default": default, "tooltip": _join(tooltip, hint), **base}, False, "STRING"))
    return inputs, FieldSpec(wire, "files" if many else "file", opts)


def _bounds(p: Param, opts: dict[str, Any]) -> None:
    """Schema bounds, checked again at run time (seed and text widgets are wider than the schema)."""
    if p.minimum is not None:
        opts["minimum"] = p.minimum
        if p.exclusive_minimum:
            opts["exclusive_minimum"] = True
    if p.maximum is not None:
        opts["maximum"] = p.maximum
        if p.exclusive_maximum:
            opts["exclusive_maximum"] = True


def _items(p: Param, opts: dict[str, Any]) -> None:
    if p.min_items is not None:
        opts["min_items"] = p.min_items
    if p.max_items is not None:
        opts["max_items"] = p.max_items


def _combo_text(value: Any) -> str:
    """Combo entries are strings (stable through the JS frontend and workflow JSON); numbers map back."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def _multiline(p: Param, default: str) -> bool:
    name = p.wire_name.lower()
    return bool(p.presets) or "\n" in default or any(w in name for w in _PROMPT_WORDS) or (p.max_length or 0) >= 500


def _tooltip(p: Param) -> str:
    parts = [one_line(p.description or p.title or "", 400)]
    if p.presets:
        parts.append("Presets: " + "; ".join(label for label, _ in p.presets) + ".")
    if p.required:
        parts.append("Required.")
    if p.hidden:
        parts.append("Advanced.")
    return _join(*parts)


def _join(*parts: str) -> str:
    return " ".join(_sentence(x) for x in parts if x.strip())


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?…:)" else text + "."
