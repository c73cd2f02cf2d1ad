"""What the generated model methods share. `client.imagegen.flux_dev` is an instance of a generated subclass of
`ModelMethod` whose `__call__` overloads state that model's inputs; the one implementation is here.

Cheap on purpose: a category namespace imports a model's method module on first use, and the method imports the
model's input class (pydantic) only when it is called. Resolving `client.imagegen.flux_dev` loads one small module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import inspect
    from collections.abc import Callable

    from genvr_runtime._client import AsyncBaseClient, AsyncJob, BaseClient, Job
    from genvr_runtime._inputs import GenVRInput
    from genvr_runtime._results import GenerationResult

# The keyword arguments every model method takes besides the model's inputs.
CALL_OPTIONS = ("wait", "wait_timeout", "on_update")


class _Method:
    _model: ClassVar[str]  # "imagegen/flux_dev"
    _input: ClassVar[str]  # "genvr.models.imagegen.flux_dev:FluxDevInput"
    _label: ClassVar[str]  # "client.imagegen.flux_dev"

    def _input_class(self) -> type[GenVRInput]:
        module, _, name = self._input.partition(":")
        input_class: type[GenVRInput] = getattr(importlib.import_module(module), name)
        return input_class

    def _validated(self, params: dict[str, Any]) -> GenVRInput:
        """The model's input object; a misspelt keyword names the closest input (an UnknownInputError, a TypeError)."""
        from genvr_runtime._errors import UnknownInputError
        from genvr_runtime._common import suggest

        input_class = self._input_class()
        if not input_class.genvr_model.free_form:
            inputs = sorted(input_class.input_names())
            for given in params:
                if given not in inputs:
                    raise UnknownInputError(
                        f"{self._label}() has no input {given!r}{suggest(given, [*inputs, *CALL_OPTIONS])} "
                        f"(inputs: {', '.join(inputs) or 'none'})",
                        field=given,
                        model=self._model,
                    )
        return input_class.from_call(**params)

    @property
    def __signature__(self) -> inspect.Signature:
        """What `help()` and `inspect.signature` show: the overloads' keywords (required inputs first, the others
        default to NOT_GIVEN: not sent), then the call options. Built from the input class on demand."""
        import inspect

        from genvr_runtime._common import NOT_GIVEN

        input_class = self._input_class()
        keyword = inspect.Parameter.KEYWORD_ONLY
        fields = sorted(input_class.model_fields.items(), key=lambda item: not item[1].is_required())
        inputs = [
            inspect.Parameter(name, keyword, annotation=field.annotation,
                              default=inspect.Parameter.empty if field.is_required() else NOT_GIVEN)
            for name, field in fields
        ]
        if input_class.genvr_model.free_form:
            inputs = [inspect.Parameter("params", inspect.Parameter.VAR_KEYWORD, annotation=Any)]
        options = [
            inspect.Parameter("wait", keyword, annotation=bool, default=True),
            inspect.Parameter("wait_timeout", keyword, annotation=float | None, default=None),
            inspect.Parameter("on_update", keyword, annotation="Callable[[str], None] | None", default=None),
        ]
        if inputs and inputs[-1].kind is inspect.Parameter.VAR_KEYWORD:
            return inspect.Signature([*options, *inputs])
        return inspect.Signature([*inputs, *options])

    def __repr__(self) -> str:
        return f"<{self._label}: GenVR model {self._model}>"


class ModelMethod(_Method):
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def _call(
        self, params: dict[str, Any], wait: bool, wait_timeout: float | None, on_update: Callable[[str], None] | None
    ) -> GenerationResult | Job:
        inputs = self._validated(params)
        if not wait:
            return self._client.submit(inputs)
        return self._client.run(inputs, wait_timeout=wait_timeout, on_update=on_update)


class AsyncModelMethod(_Method):
    def __init__(self, client: AsyncBaseClient) -> None:
        self._client = client

    async def _call(
        self, params: dict[str, Any], wait: bool, wait_timeout: float | None, on_update: Callable[[str], None] | None
    ) -> GenerationResult | AsyncJob:
        inputs = self._validated(params)
        if not wait:
            return await self._client.submit(inputs)
        return await self._client.run(inputs, wait_timeout=wait_timeout, on_update=on_update)


class CategoryNamespace:
    """Base of `client.<category>`: one cached attribute per model; a misspelt model name names the closest."""

    _label: ClassVar[str]  # "client.imagegen"

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:  # only called for names the class does not have
        if name.startswith("_"):
            raise AttributeError(name)
        from genvr_runtime._common import suggest

        models = [n for n in dir(type(self)) if not n.startswith("_")]
        raise AttributeError(f"{self._label} has no model {name!r}{suggest(name, models)} (`genvr models` lists them)")
