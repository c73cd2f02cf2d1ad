"""What every layer of the runtime shares: the NOT_GIVEN marker, a model's routing facts, name suggestions.

Standard library only and cheap to import: the first call path (`Client()`, `client.imagegen.flux_dev`) loads
this module, while pydantic (`_inputs`) and httpx (`_http`) wait until an input is validated or a request sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, final

if TYPE_CHECKING:
    from genvr_runtime._inputs import GenVRInput

# Routing fields of GenVR's flat generate body; a model input of the same name cannot travel beside them.
ROUTING_FIELDS = frozenset({"uid", "category", "subcategory"})


@final
class NotGiven:
    """Marks a keyword argument the caller did not pass (distinct from an explicit None)."""

    _instance: ClassVar[NotGiven | None] = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime needs to route a generated input class."""

    category: str
    subcategory: str
    name: str
    # Inputs the schema requires that also have a default: sent even when the caller leaves them unset.
    send_always: tuple[str, ...] = ()
    # Inputs whose wire name is a routing field (`category` on some try-on models).
    routing_collisions: tuple[str, ...] = ()
    # Inputs that accept null; any other input left as None is simply not sent.
    nullable: tuple[str, ...] = ()
    # True when GenVR publishes no schema: inputs pass through unchecked.
    free_form: bool = False
    # Inputs that take a file (a URL or data: URI on the wire; a local file is uploaded), by wire name.
    file_inputs: tuple[str, ...] = ()
    # Inputs GenVR's UI hides or groups as advanced, by wire name.
    advanced: tuple[str, ...] = ()
    # Enums `Literal` cannot spell (floats: `[0.5, 1.5, 2]`), by wire name: every scalar of the value (each
    # item of an array) must be one of them. The class field is the plain type; this check narrows it.
    enum_checks: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.category}/{self.subcategory}"


def suggest(name: str, options: Iterable[str], n: int = 3) -> str:
    """"; did you mean a, b?" for the closest options, or ""."""
    import difflib  # only when a name is wrong

    close = difflib.get_close_matches(name, list(options), n=n, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def unknown_input_message(model: str, name: str, known: Iterable[str]) -> str:
    return f"{model} has no input {name!r}{suggest(name, known)}"


def unknown_model_message(key: str, keys: Iterable[str]) -> str:
    """Names the key and the closest known ones; a bare subcategory (`flux_dev`) finds its full key."""
    keys = list(keys)
    same_name = [k for k in keys if k.partition("/")[2] == key]
    hint = f"; did you mean {', '.join(same_name)}?" if same_name else suggest(key, keys)
    return f"unknown GenVR model {key!r}{hint} (`genvr models` lists them)"


def input_class(key: str) -> type[GenVRInput]:
    """The generated input class of a model key, looked up in the generated package (imported only now: the
    runtime stands on its own). Raises UnknownModelError with the closest keys."""
    from genvr.models import load_input_class  # type: ignore[import-not-found,unused-ignore]

    cls: type[GenVRInput] = load_input_class(key)
    return cls
