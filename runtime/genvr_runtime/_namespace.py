"""What the generated model methods share: a misspelt keyword argument names the closest real input ("did you
mean aspect_ratio?") instead of Python's bare "unexpected keyword argument".

Two shapes: `ModelNamespace`, a category class with one method per model, and `ModelMethod`, one class per
model whose `__call__` runs it (so a category can load one model's module at a time). Both are on the first
call path: wrapping costs one `functools.wraps` per method, and the method's signature is read only when a
call is refused.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from types import FunctionType
from typing import Any, Generic, TypeVar

from genvr_runtime._common import suggest
from genvr_runtime._errors import UnknownInputError

_UNEXPECTED = re.compile(r"got an unexpected keyword argument '([^']+)'")
_CALL_OPTIONS = ("wait", "wait_timeout", "on_update")

ClientT = TypeVar("ClientT")


def _suggesting(label: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, raising UnknownInputError (closest inputs named) when called with a keyword it does not take.
    `label`: how the user spells the call, e.g. "client.imagegen.flux_dev"."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except TypeError as exc:
            found = _UNEXPECTED.search(str(exc))
            # Only a refusal of the call itself (raised right here, not deeper inside the method).
            if found is None or exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
                raise
            import inspect  # only now: reading signatures up front would cost every model, every start

            known = [p for p in inspect.signature(method).parameters if p != "self"]
            name = found.group(1)
            inputs = [k for k in known if k not in _CALL_OPTIONS]
            raise UnknownInputError(f"{label}() has no input {name!r}{suggest(name, known)} "
                                    f"(inputs: {', '.join(inputs) or 'none'})", field=name) from None

    return call


class ModelNamespace:
    """Base of the generated namespace classes; wraps their public methods once, at class creation."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        label = getattr(cls, "_label", cls.__name__)  # e.g. "client.imagegen"
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and isinstance(value, FunctionType):
                setattr(cls, name, _suggesting(f"{label}.{name}", value))


class ModelMethod(Generic[ClientT]):
    """Base of a generated per-model method class: `client.imagegen.flux_dev(...)` calls its `__call__`.

    A subclass sets `_label` (e.g. "client.imagegen.flux_dev") and defines `__call__` (typed overloads, then the
    body, which validates the inputs and calls `self._client.run(...)` / `.submit(...)`). `ClientT` is the
    client class it runs on (`BaseClient` or `AsyncBaseClient`)."""

    _label: str

    def __init__(self, client: ClientT) -> None:
        self._client = client

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        call = vars(cls).get("__call__")
        if isinstance(call, FunctionType):
            setattr(cls, "__call__", _suggesting(getattr(cls, "_label", cls.__name__), call))

    def __repr__(self) -> str:
        return f"<model method {getattr(self, '_label', type(self).__name__)}>"
