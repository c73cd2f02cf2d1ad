"""Every identifier the generator emits is made here: stable, valid and collision-free.

Stability rule: a name depends only on the raw name it comes from, except when two raw names sanitise to the
same identifier. Then the raw name that already *is* that identifier keeps it, and every other one gets a
short suffix derived from its own raw name (not from a counter), so adding a model never renames another
unless it collides with it.
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata
from collections.abc import Callable, Iterable

from pydantic import BaseModel

# Spellings preferred over the generic rule. `3dgen` starts with a digit, which no identifier may.
CATEGORY_ALIASES = {"3dgen": "gen3d"}

# Names a pydantic input class cannot use for a field: BaseModel's own attributes and our base class's.
_MODEL_ATTRIBUTES = frozenset(n for n in dir(BaseModel) if not n.startswith("_")) | {
    "genvr_model",
    "to_api_params",
    "from_call",
}
# Names a generated method parameter cannot use.
_METHOD_RESERVED = frozenset({"self", "cls"})


def _ascii_words(raw: str) -> str:
    """Fold to ASCII, split camelCase, and keep [a-z0-9] runs joined by `_`."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _short_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def _identifier(raw: str, *, prefix: str, reserved: Iterable[str] = ()) -> str:
    name = _ascii_words(raw)
    if not name:
        name = f"{prefix}_{_short_hash(raw)}"
    elif name[0].isdigit():
        name = f"{prefix}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved:
        name += "_"
    return name


def _unique(raws: Iterable[str], make: Callable[[str], str]) -> dict[str, str]:
    """Map raw names to identifiers; on a clash the exact spelling wins and the others get a hash suffix."""
    ordered = sorted(set(raws))
    wanted = {raw: make(raw) for raw in ordered}
    by_name: dict[str, list[str]] = {}
    for raw, name in wanted.items():
        by_name.setdefault(name, []).append(raw)
    out: dict[str, str] = {}
    for name, group in by_name.items():
        for raw in group:
            keep = len(group) == 1 or raw == name
            out[raw] = name if keep else f"{name}_{_short_hash(raw)}"
    if len(set(out.values())) != len(out):  # a suffixed name met a real one: vanishingly rare, be loud
        raise ValueError(f"identifier collision among {ordered}")
    return out


def category_attributes(categories: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """`client.<category>` attribute names (also the package names under genvr.models)."""
    blocked = frozenset(reserved)
    return _unique(
        categories,
        lambda raw: CATEGORY_ALIASES.get(raw) or _identifier(raw, prefix="category", reserved=blocked),
    )


def model_attributes(subcategories: Iterable[str]) -> dict[str, str]:
    """`client.<category>.<model>` method names (also the module names) within one category."""
    return _unique(subcategories, lambda raw: _identifier(raw, prefix="model", reserved=_METHOD_RESERVED))


def class_names(identifiers: Iterable[str]) -> dict[str, str]:
    """Input class names from model identifiers: `flux_dev` → `FluxDevInput`."""

    def pascal(ident: str) -> str:
        name = "".join(part[:1].upper() + part[1:] for part in ident.split("_") if part)
        return f"{name}Input"

    return _unique(identifiers, pascal)


def field_names(wire_names: Iterable[str]) -> dict[str, str]:
    """Python attribute / keyword-argument names for a model's inputs (the wire name stays the alias)."""
    reserved = _MODEL_ATTRIBUTES | _METHOD_RESERVED
    return _unique(wire_names, lambda raw: _identifier(raw, prefix="field", reserved=reserved))


def resource_class_name(category_attribute: str) -> str:
    """`imagegen` → `ImagegenResource`."""
    return "".join(p[:1].upper() + p[1:] for p in category_attribute.split("_") if p) + "Resource"


# Tool names must satisfy every provider at once: OpenAI and Anthropic `^[a-zA-Z0-9_-]{1,64}$`, Gemini (a letter
# or `_` first, ≤ 64), MCP `^[A-Za-z0-9._-]{1,128}$`. The `genvr_` prefix gives the letter `3dgen` lacks.
TOOL_NAME_MAX = 64
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")


def tool_names(model_keys: Iterable[str]) -> dict[str, str]:
    """LLM tool names by model key: `imagegen/flux_dev` → `genvr_imagegen__flux_dev`.

    The category is part of the name because the same subcategory exists in two categories. A name depends
    only on its own key (characters outside `[a-zA-Z0-9_-]` become `_`; a name over 64 characters is cut and
    suffixed with a hash of the key); two keys that still meet are told apart by `_unique`'s rule.
    """

    def spelled(key: str) -> str:
        category, _, subcategory = key.partition("/")
        return f"genvr_{category}__{subcategory}"

    def make(raw: str) -> str:
        name = re.sub(r"[^a-zA-Z0-9_-]", "_", raw)
        if len(name) > TOOL_NAME_MAX - 7:  # room for `_unique`'s `_<hash6>` suffix
            name = f"{name[: TOOL_NAME_MAX - 14]}_{_short_hash(raw)}"
        return name

    keys = sorted(set(model_keys))
    by_spelling = _unique((spelled(k) for k in keys), make)
    return {key: by_spelling[spelled(key)] for key in keys}
