"""Every identifier the generator emits is made here: stable, valid and collision-free.

The rule (README "Names"):

1. A name is a function of its own raw name: `minimax-image-o1` → `minimax_image_o1` (method and module),
   `MinimaxImageO1Input` (class), `genvr_imagegen__minimax-image-o1` (LLM tool), `GenVR_imagegen__minimax_image_o1`
   (ComfyUI node). Reserved words and names the generated code or the runtime already use are mapped too
   (a trailing `_` for identifiers: `class` → `class_`, `importlib` → `importlib_`).
2. Names once assigned are recorded in `discovery/names.json` (append-only, written by `make regenerate`) and
   always reused, so a model added later never renames an existing one, whatever it collides with.
3. A model whose wanted name is already taken (recorded, reserved, or given to another new model first: exact
   spellings first, then by raw name) gets that name plus a suffix derived from its own raw name (a hash),
   so the outcome never depends on a counter or on the order GenVR lists models in.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

import genvr_runtime
from genvr_runtime import GenVRInput

# Spellings preferred over the generic rule. `3dgen` starts with a digit, which no identifier may.
CATEGORY_ALIASES = {"3dgen": "gen3d"}

# Names a pydantic input class cannot use for a field: BaseModel's and the runtime base class's attributes
# (`pending_files`, `to_api_params`, the `genvr_model` class variable ...) and the builtin types the generated
# annotations use (a field named `str` would shadow `str` in the class body).
_MODEL_ATTRIBUTES = (
    frozenset(n for cls in (BaseModel, GenVRInput) for n in dir(cls) if not n.startswith("_"))
    | frozenset(GenVRInput.__annotations__)
    | frozenset({"str", "int", "float", "bool", "list", "dict", "bytes"})
)
# Names a generated method parameter cannot use.
_METHOD_RESERVED = frozenset({"self", "cls"})
# Globals of the generated package modules: a subpackage or module of the same name would replace them once
# imported (an import binds the submodule on its parent), breaking the lazy loaders.
#   genvr/models/__init__.py (categories are its subpackages)
PACKAGE_GLOBALS = frozenset({"annotations", "difflib", "importlib", "TYPE_CHECKING", "MODELS", "MODEL_KEYS", "load_input_class", "GenVRInput"})
#   genvr/models/<category>/__init__.py (models are its modules)
CATEGORY_GLOBALS = frozenset({"annotations", "importlib", "TYPE_CHECKING", "Any"})
# Class names taken by what a generated model module imports, and by everything the runtime exports (a class
# called `GenVRInput` would be assigned the base class's model info).
_CLASS_RESERVED = frozenset(genvr_runtime.__all__) | frozenset(
    {"Annotated", "Any", "ConfigDict", "Field", "Literal", "BaseModel", "RootModel", "GenVRInput", "ModelInfo"}
) | frozenset(dir(builtins))


def _ascii_words(raw: str) -> str:
    """Fold to ASCII, split camelCase, and keep [a-z0-9] runs joined by `_`."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _short_hash(raw: str, length: int = 6) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _identifier(raw: str, *, prefix: str, reserved: Iterable[str] = ()) -> str:
    name = _ascii_words(raw)
    if not name:
        name = f"{prefix}_{_short_hash(raw)}"
    elif name[0].isdigit():
        name = f"{prefix}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved:
        name += "_"
    return name


def _underscore(name: str, suffix: str) -> str:
    return f"{name}_{suffix}"


def _assign(
    raws: Iterable[str],
    make: Callable[[str], str],
    *,
    recorded: Mapping[str, str] | None = None,
    taken: Iterable[str] = (),
    join: Callable[[str, str], str] = _underscore,
    spelled: Callable[[str], str] = lambda raw: raw,
) -> dict[str, str]:
    """Names for `raws` by the module's rule: recorded names are kept; a new raw name gets the name it wants, or,
    when that is taken, the name joined with a hash of the raw name (longer hashes if even that is taken)."""
    recorded = recorded or {}
    wanted_all = sorted(set(raws))
    out = {raw: recorded[raw] for raw in wanted_all if raw in recorded}
    used = set(recorded.values()) | set(taken)
    fresh = [raw for raw in wanted_all if raw not in out]
    for raw in sorted(fresh, key=lambda r: (make(r) != spelled(r), r)):  # names spelt exactly as wanted first
        wanted = make(raw)
        name = wanted
        for length in range(6, 65, 2):
            if name not in used:
                break
            name = join(wanted, _short_hash(raw, length))
        else:  # pragma: no cover - needs a sha256 prefix collision at every length
            raise ValueError(f"no free name for {raw!r}")
        used.add(name)
        out[raw] = name
    return out


# ---------------------------------------------------------------------------------------------------------------
# The single name rules (each a function of one raw name)


def category_identifier(raw: str, reserved: Iterable[str] = ()) -> str:
    """`client.<category>`, the package under genvr.models and the module under genvr.resources."""
    return CATEGORY_ALIASES.get(raw) or _identifier(raw, prefix="category", reserved=frozenset(reserved) | PACKAGE_GLOBALS)


def model_identifier(raw: str) -> str:
    """`client.<category>.<model>` method and module name."""
    return _identifier(raw, prefix="model", reserved=_METHOD_RESERVED | CATEGORY_GLOBALS)


def class_name(model_identifier: str) -> str:
    """`flux_dev` → `FluxDevInput`."""
    return "".join(part[:1].upper() + part[1:] for part in model_identifier.split("_") if part) + "Input"


def _class_suffix(name: str, suffix: str) -> str:
    return f"{name}{suffix}"  # no `_`: datamodel-code-generator would drop it from the class it writes


# Tool names must satisfy every provider at once: OpenAI and Anthropic `^[a-zA-Z0-9_-]{1,64}$`, Gemini (a letter
# or `_` first, ≤ 64), MCP `^[A-Za-z0-9._-]{1,128}$`. The `genvr_` prefix gives the letter `3dgen` lacks.
TOOL_NAME_MAX = 64
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")


def _tool_spelling(key: str) -> str:
    category, _, subcategory = key.partition("/")
    return f"genvr_{category}__{subcategory}"


def tool_identifier(key: str) -> str:
    """`imagegen/flux_dev` → `genvr_imagegen__flux_dev`: characters outside `[a-zA-Z0-9_-]` become `_`; a name
    over 64 characters is cut and suffixed with a hash of the key."""
    raw = _tool_spelling(key)
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", raw)
    if len(name) > TOOL_NAME_MAX - 7:  # room for a collision suffix
        name = f"{name[: TOOL_NAME_MAX - 14]}_{_short_hash(raw)}"
    return name


def _tool_suffix(name: str, suffix: str) -> str:
    return f"{name[: TOOL_NAME_MAX - len(suffix) - 1]}_{suffix}"


def _node_spelling(key: str) -> str:
    category, _, subcategory = key.partition("/")
    return f"GenVR_{category}__{subcategory}"


def node_identifier(key: str) -> str:
    """ComfyUI node id (= its class name): `GenVR_<category>__<subcategory>`, other characters `_`."""
    category, _, subcategory = key.partition("/")
    return "GenVR_" + re.sub(r"[^A-Za-z0-9_]", "_", category) + "__" + re.sub(r"[^A-Za-z0-9_]", "_", subcategory)


def field_names(wire_names: Iterable[str]) -> dict[str, str]:
    """Python attribute / keyword-argument names for a model's inputs (the wire name stays the alias)."""
    reserved = _MODEL_ATTRIBUTES | _METHOD_RESERVED
    return _assign(wire_names, lambda raw: _identifier(raw, prefix="field", reserved=reserved))


def resource_class_name(category_attribute: str) -> str:
    """`imagegen` → `ImagegenResource`."""
    return "".join(p[:1].upper() + p[1:] for p in category_attribute.split("_") if p) + "Resource"


# ---------------------------------------------------------------------------------------------------------------
# Whole-snapshot assignment


@dataclass(frozen=True)
class ModelNames:
    """Every name of one model."""

    method: str  # method and module name
    class_name: str
    tool: str
    node: str


@dataclass(frozen=True)
class Names:
    """Names by raw category and by model key; also the content of the registry (`discovery/names.json`)."""

    categories: dict[str, str] = field(default_factory=dict)
    models: dict[str, ModelNames] = field(default_factory=dict)


def assign(keys: Iterable[str], recorded: Names | None = None, *, category_reserved: Iterable[str] = ()) -> Names:
    """Names for every model key (`category/subcategory`): recorded ones as recorded, new ones by the rule.

    Recorded models absent from `keys` keep their names reserved, so a name is never handed to another model.
    """
    recorded = recorded or Names()
    keys = sorted(set(keys))
    split = {key: key.partition("/")[::2] for key in keys}
    reserved = frozenset(category_reserved)
    categories = _assign(
        {c for c, _ in split.values()}, lambda raw: category_identifier(raw, reserved), recorded=recorded.categories, taken=reserved
    )
    rec = recorded.models
    methods: dict[str, str] = {}
    classes: dict[str, str] = {}
    for category in sorted(categories):
        members = [k for k in keys if split[k][0] == category]
        prior = {k: v for k, v in rec.items() if k.partition("/")[0] == category}
        methods.update(
            _assign(
                members,
                lambda k: model_identifier(split[k][1]),
                recorded={k: v.method for k, v in prior.items()},
                spelled=lambda k: split[k][1],
            )
        )
        classes.update(
            _assign(
                members,
                lambda k: class_name(methods[k]),
                recorded={k: v.class_name for k, v in prior.items()},
                taken=_CLASS_RESERVED,
                join=_class_suffix,
            )
        )
    tools = _assign(keys, tool_identifier, recorded={k: v.tool for k, v in rec.items()}, join=_tool_suffix, spelled=_tool_spelling)
    nodes = _assign(keys, node_identifier, recorded={k: v.node for k, v in rec.items()}, spelled=_node_spelling)
    return Names(
        categories={c: categories[c] for c in sorted({c for c, _ in split.values()})},
        models={k: ModelNames(methods[k], classes[k], tools[k], nodes[k]) for k in keys},
    )


# Single-kind helpers (no registry): the same rule applied to one list of raw names.


def category_attributes(categories: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    blocked = frozenset(reserved)
    return _assign(categories, lambda raw: category_identifier(raw, blocked), taken=blocked)


def model_attributes(subcategories: Iterable[str]) -> dict[str, str]:
    return _assign(subcategories, model_identifier)


def class_names(identifiers: Iterable[str]) -> dict[str, str]:
    return _assign(identifiers, class_name, taken=_CLASS_RESERVED, join=_class_suffix)


def tool_names(model_keys: Iterable[str], recorded: Mapping[str, str] | None = None) -> dict[str, str]:
    """LLM tool names by model key (the category is part of the name: one subcategory exists in two categories)."""
    return _assign(model_keys, tool_identifier, recorded=recorded, join=_tool_suffix, spelled=_tool_spelling)
