"""What the generated category namespaces (`client.imagegen`, ...) share: a misspelt keyword argument names the
closest real input ("did you mean aspect_ratio?") instead of Python's bare "unexpected keyword argument"."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from genvr_runtime._errors import UnknownInputError
from genvr_runtime._inputs import suggest

_UNEXPECTED = re.compile(r"got an unexpected keyword argument '([^']+)'")
_CALL_OPTIONS = ("wait", "wait_timeout", "on_update")


def _suggesting(namespace: str, method: Callable[..., Any]) -> Callable[..., Any]:
    known = [p for p in inspect.signature(method).parameters if p != "self"]

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except TypeError as exc:
            found = _UNEXPECTED.search(str(exc))
            # Only a refusal of the call itself (raised right here, not deeper inside the method).
            if found is None or exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
                raise
            name = found.group(1)
            inputs = [k for k in known if k not in _CALL_OPTIONS]
            raise UnknownInputError(f"{namespace}.{method.__name__}() has no input {name!r}{suggest(name, known)} "
                                    f"(inputs: {', '.join(inputs) or 'none'})", field=name) from None

    return call


class ModelNamespace:
    """Base of the generated namespace classes; wraps their public methods once, at class creation."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        label = getattr(cls, "_label", cls.__name__)  # e.g. "client.imagegen"
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(value):
                setattr(cls, name, _suggesting(label, value))
