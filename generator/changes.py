"""What a refresh changed, each change classified for CI.

A change is *breaking* when some input that the old schema accepted is refused by the new one (the generated
class, the method or GenVR would reject a call that used to work): a model or input removed, a new required
input, an input that became required, an enum value removed, a range or length tightened, a type narrowed,
`null` no longer accepted. Everything else is *additive*: a model or optional input added, an enum widened, a
range loosened, a new default or description. `make regenerate` prints the breaking changes first, prepends the
report to `discovery/CHANGELOG.md` and exits with `EXIT_BREAKING` when there is one (generation still runs).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .normalize import ModelSpec, Param, SchemaError

EXIT_BREAKING = 4  # `make regenerate` exit code: generated, but something breaking changed (0: nothing did)

# Param fields judged below; a difference in any other field is reported, conservatively, as breaking.
_VALUE_FIELDS = frozenset(
    {
        "types", "nullable", "enum", "minimum", "maximum", "exclusive_minimum", "exclusive_maximum",
        "min_length", "max_length", "min_items", "max_items", "items", "required",
    }
)  # fmt: skip
_NOTED_FIELDS = {  # never change which inputs are valid
    "description": "description changed",
    "title": "title changed",
    "has_default": "default changed",
    "default": "default changed",
    "send_always": "now sent with its default when unset",
    "order": "position changed",
    "hidden": "advanced flag changed",
    "presets": "prompt presets changed",
    "step": "step changed",
    "is_file": "file kind changed",
    "file_type": "file kind changed",
}
_IGNORED_FIELDS = frozenset({"wire_name"})


@dataclass(frozen=True)
class Change:
    model: str
    input: str | None  # wire name; None for a change of the whole model
    breaking: bool
    what: str

    def line(self) -> str:
        return f"{_where(self)}: {self.what}"


def _where(change: Change) -> str:
    return change.model if change.input is None else f"{change.model}.{change.input}"


@dataclass(frozen=True)
class ChangeReport:
    models_before: int
    models_after: int
    changes: tuple[Change, ...]
    named: int = 0  # models given names for the first time (discovery/names.json)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def additive(self) -> list[Change]:
        return [c for c in self.changes if not c.breaking]

    def text(self) -> str:
        """BREAKING first, then additive; sorted, no timestamps (it goes into a committed changelog)."""
        lines = [f"models: {self.models_before} → {self.models_after}"]
        for title, group in (("BREAKING", self.breaking), ("additive", self.additive)):
            if group:
                lines.append(f"{title} ({len(group)}):")
                lines += [f"  {c.line()}" for c in group]
        if not self.changes:
            lines.append("no change")
        return "\n".join(lines)

    def markdown(self) -> str:
        """One changelog entry."""
        lines = [
            f"## Models {self.models_before} → {self.models_after}: "
            f"{len(self.breaking)} breaking, {len(self.additive)} additive change(s)",
        ]
        for title, group in (("BREAKING", self.breaking), ("Additive", self.additive)):
            if group:
                lines += ["", f"{title}:", ""] + [f"- `{_where(c)}`: {c.what}" for c in group]
        return "\n".join(lines)


def compare(old: Iterable[ModelSpec], new: Iterable[ModelSpec], untranslatable: Iterable[SchemaError] = ()) -> ChangeReport:
    """`untranslatable`: the new schemas generation will refuse (their models are not in `new`)."""
    before = {m.key: m for m in old}
    after = {m.key: m for m in new}
    refused = {e.model: str(e) for e in untranslatable}
    changes = [
        Change(k, None, True, f"schema cannot be translated any more: {refused[k]}" if k in refused else "model removed")
        for k in before.keys() - after.keys()
    ]
    changes += [Change(k, None, False, "model added") for k in after.keys() - before.keys()]
    for key in before.keys() & after.keys():
        changes += _model_changes(before[key], after[key])
    ordered = sorted(changes, key=lambda c: (not c.breaking, c.model, c.input or "", c.what))
    return ChangeReport(len(before), len(after), tuple(ordered))


def _model_changes(old: ModelSpec, new: ModelSpec) -> list[Change]:
    key = old.key
    if old.free_form != new.free_form:
        # Free-form models accept anything: gaining a schema can refuse calls that worked, losing one cannot.
        return [Change(key, None, True, "now has a schema (inputs checked)")] if old.free_form else [
            Change(key, None, False, "no schema any more (inputs unchecked)")
        ]
    a = {p.wire_name: p for p in old.params}
    b = {p.wire_name: p for p in new.params}
    out = [Change(key, n, True, "input removed") for n in a.keys() - b.keys()]
    for n in b.keys() - a.keys():
        out.append(Change(key, n, True, "new required input") if b[n].required else Change(key, n, False, "new optional input"))
    for n in a.keys() & b.keys():
        out += [Change(key, n, breaking, what) for breaking, what in param_changes(a[n], b[n])]
    return out


def param_changes(old: Param, new: Param) -> list[tuple[bool, str]]:
    """(breaking, description) for every difference between two versions of one input."""
    out: list[tuple[bool, str]] = []
    if old.required != new.required:
        out.append((True, "became required") if new.required else (False, "no longer required"))
    if old.python_name != new.python_name:
        out.append((True, f"Python name {old.python_name} → {new.python_name}"))
    out += _value_changes(old, new)
    noted: list[str] = []
    for f in dataclasses.fields(Param):
        name = f.name
        if name in _VALUE_FIELDS or name in _IGNORED_FIELDS or name == "python_name":
            continue
        if _differs(getattr(old, name), getattr(new, name)):
            if name in _NOTED_FIELDS:
                noted.append(_NOTED_FIELDS[name])
            else:
                out.append((True, f"{name} changed (not judged; assumed breaking)"))
    if old.items is not None and new.items is not None:
        for f in dataclasses.fields(old.items):
            if f.name not in ("type", "is_file", "file_type") and _differs(getattr(old.items, f.name), getattr(new.items, f.name)):
                out.append((True, f"items.{f.name} changed (not judged; assumed breaking)"))
            elif f.name in ("is_file", "file_type") and _differs(getattr(old.items, f.name), getattr(new.items, f.name)):
                noted.append("file kind changed")
    out += [(False, what) for what in sorted(set(noted))]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Which values an input accepts


def _value_changes(old: Param, new: Param) -> list[tuple[bool, str]]:
    """Each changed constraint, breaking when it refuses a value the old input accepted."""
    out: list[tuple[bool, str]] = []
    if old.nullable != new.nullable:
        out.append((True, "no longer accepts null") if old.nullable else (False, "now accepts null"))
    facts: dict[str, str] = {}  # constraint → what changed
    if old.types != new.types:
        facts["type"] = f"type {'/'.join(old.types)} → {'/'.join(new.types)}"
    if _differs(old.enum, new.enum):
        facts["enum"] = _enum_text(old.enum, new.enum)
    for label, a, b in _bounds(old, new):
        facts[label] = f"{label} {_show(a)} → {_show(b)}"
    if not facts:
        return out

    finite = _finite_values(old)
    if finite is not None:
        # Exact: every value the old input accepted, checked against the new one.
        lost = [v for v in finite if _admits(old, v) and not _admits(new, v)]
        if lost:
            refused = ", ".join(_show(v) for v in lost)
            return [*out, (True, "; ".join(facts.values()) + f" (refuses {refused})")]
        return out + [(False, text) for text in facts.values()]
    breaking: set[str] = set()
    lost_types = [t for t in old.types if not _covers(new.types, t)]
    if lost_types:
        breaking.add("type")
    if new.enum is not None:  # old had none: every other value is refused now
        breaking.add("enum")
    kept = set(old.types) - set(lost_types)
    if kept & {"integer", "number"}:
        integral = "number" not in kept  # only integers were accepted: compare the integer bounds
        if _tighter_low(old, new, integral):
            breaking.add("minimum")
        if _tighter_high(old, new, integral):
            breaking.add("maximum")
    if "string" in kept:
        breaking |= {k for k, a, b in (("minLength", old.min_length, new.min_length),
                                       ("maxLength", old.max_length, new.max_length)) if _tighter(a, b, low=k.startswith("min"))}
    if "array" in kept:
        breaking |= {k for k, a, b in (("minItems", old.min_items, new.min_items),
                                       ("maxItems", old.max_items, new.max_items)) if _tighter(a, b, low=k.startswith("min"))}
        if old.items is not None and new.items is not None and not _covers((new.items.type,), old.items.type):
            breaking.add("items")
    return out + [(label in breaking, text) for label, text in facts.items()]


def _finite_values(p: Param) -> tuple[Any, ...] | None:
    """Every non-null value `p` can accept when that set is finite (an enum, or a plain boolean)."""
    if p.enum is not None:
        return p.enum
    if p.types == ("boolean",):
        return (False, True)
    return None


def _admits(p: Param, value: Any) -> bool:
    """JSON Schema semantics: 2.0 is an integer, `true` is not a number."""
    if value is None:
        return p.nullable
    if not any(_is_type(value, t) for t in p.types):
        return False
    if p.enum is not None and not any(_same(value, v) for v in p.enum):
        return False
    if _is_number(value) and set(p.types) & {"integer", "number"}:
        if p.minimum is not None and (value < p.minimum or (p.exclusive_minimum and value == p.minimum)):
            return False
        if p.maximum is not None and (value > p.maximum or (p.exclusive_maximum and value == p.maximum)):
            return False
    if isinstance(value, str):
        if (p.min_length is not None and len(value) < p.min_length) or (p.max_length is not None and len(value) > p.max_length):
            return False
    return True


def _is_type(value: Any, t: str) -> bool:
    if t == "any":
        return True
    if t == "integer":
        return _is_number(value) and float(value).is_integer()
    if t == "number":
        return _is_number(value)
    kinds = {"string": str, "boolean": bool, "array": list, "object": dict}
    return t in kinds and isinstance(value, kinds[t])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _covers(types: tuple[str, ...], t: str) -> bool:
    return "any" in types or t in types or (t == "integer" and "number" in types)


def _effective_low(p: Param, integral: bool) -> tuple[float, bool] | None:
    """(bound, exclusive); for integer-only inputs the smallest accepted integer, inclusive."""
    if p.minimum is None:
        return None
    if integral:
        low = math.floor(p.minimum) + 1 if p.exclusive_minimum or not float(p.minimum).is_integer() else p.minimum
        return float(low), False
    return float(p.minimum), p.exclusive_minimum


def _effective_high(p: Param, integral: bool) -> tuple[float, bool] | None:
    if p.maximum is None:
        return None
    if integral:
        high = math.ceil(p.maximum) - 1 if p.exclusive_maximum or not float(p.maximum).is_integer() else p.maximum
        return float(high), False
    return float(p.maximum), p.exclusive_maximum


def _tighter_low(old: Param, new: Param, integral: bool) -> bool:
    a, b = _effective_low(old, integral), _effective_low(new, integral)
    if b is None:
        return False
    return a is None or b[0] > a[0] or (b[0] == a[0] and b[1] and not a[1])


def _tighter_high(old: Param, new: Param, integral: bool) -> bool:
    a, b = _effective_high(old, integral), _effective_high(new, integral)
    if b is None:
        return False
    return a is None or b[0] < a[0] or (b[0] == a[0] and b[1] and not a[1])


def _tighter(old: int | None, new: int | None, *, low: bool) -> bool:
    if new is None:
        return False
    return old is None or (new > old if low else new < old)


def _bounds(old: Param, new: Param) -> list[tuple[str, Any, Any]]:
    pairs = [
        ("minimum", _bound(old.minimum, old.exclusive_minimum), _bound(new.minimum, new.exclusive_minimum)),
        ("maximum", _bound(old.maximum, old.exclusive_maximum), _bound(new.maximum, new.exclusive_maximum)),
        ("minLength", old.min_length, new.min_length),
        ("maxLength", old.max_length, new.max_length),
        ("minItems", old.min_items, new.min_items),
        ("maxItems", old.max_items, new.max_items),
        ("items", old.items.type if old.items else None, new.items.type if new.items else None),
    ]
    return [(label, a, b) for label, a, b in pairs if _differs(a, b)]


def _bound(value: float | None, exclusive: bool) -> Any:
    return f"{_show(value)} (exclusive)" if value is not None and exclusive else value


def _enum_text(old: tuple[Any, ...] | None, new: tuple[Any, ...] | None) -> str:
    if old is None:
        return "enum added"
    if new is None:
        return "enum removed"
    removed = [v for v in old if not any(_same(v, w) for w in new)]
    added = [v for v in new if not any(_same(v, w) for w in old)]
    parts = [f"-{_show(v)}" for v in removed] + [f"+{_show(v)}" for v in added]
    return "enum " + (" ".join(parts) if parts else "reordered")


def _show(value: Any) -> str:
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)


def _differs(a: Any, b: Any) -> bool:
    """Strict: 1 and 1.0, or 1 and True, are different facts."""
    return type(a) is not type(b) or a != b or repr(a) != repr(b)
