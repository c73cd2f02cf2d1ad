"""The base of every generated input class, and how an input becomes a request body."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from genvr_runtime._common import NOT_GIVEN, ModelInfo, unknown_input_message
from genvr_runtime._errors import UnknownInputError
from genvr_runtime._files import FileSource, extract_files

_NO_VALUE = object()


def _scalars(value: Any) -> list[Any]:
    """The non-null leaves of a value (an array's items, nested arrays flattened)."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in _scalars(item)]
    return [] if value is None else [value]


def _one_of(value: Any, allowed: tuple[Any, ...]) -> bool:
    # Same value and same JSON kind: "5" is not 5, True is not 1; 2 and 2.0 are the same number.
    return any(value == a and isinstance(value, bool) == isinstance(a, bool) and isinstance(value, str) == isinstance(a, str) for a in allowed)


class GenVRInput(BaseModel):
    """Base class of generated inputs: strict about names, lenient about nothing else."""

    model_config = ConfigDict(
        extra="forbid",  # a misspelt input fails here, before any credit is spent
        validate_by_name=True,
        validate_by_alias=True,
        protected_namespaces=(),  # GenVR inputs named model_* (model_name, model_type, ...) are legitimate
    )

    genvr_model: ClassVar[ModelInfo]
    # Local files (Path/bytes) given for URL inputs, by placeholder; the client uploads them before sending.
    _pending_files: dict[str, FileSource] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_schema_rules(self) -> GenVRInput:
        """What the field types cannot say: float enums, and no null for a required untyped (`Any`) input."""
        info = getattr(type(self), "genvr_model", None)
        if not isinstance(info, ModelInfo):
            return self
        by_wire = {(f.alias or n): n for n, f in type(self).model_fields.items()}
        for wire, name in by_wire.items():
            if type(self).model_fields[name].is_required() and getattr(self, name) is None and wire not in info.nullable:
                raise ValueError(f"input '{wire}' is required and cannot be null")
        if info.enum_checks:
            values = self.model_dump(mode="json", by_alias=True)  # plain data (constrained items are RootModels)
            for wire, allowed in info.enum_checks:
                bad = next((v for v in _scalars(values.get(wire)) if not _one_of(v, allowed)), _NO_VALUE)
                if bad is not _NO_VALUE:
                    raise ValueError(f"input '{wire}' must be one of {', '.join(map(repr, allowed))}, got {bad!r}")
        return self

    @classmethod
    def input_names(cls) -> list[str]:
        """Every accepted input name: Python names, then wire names where they differ."""
        names = list(cls.model_fields)
        return names + [f.alias for f in cls.model_fields.values() if f.alias and f.alias not in names]

    @classmethod
    def check_names(cls, names: Iterable[str]) -> None:
        """Raise UnknownInputError (with the closest names) for a name this model does not take."""
        if cls.genvr_model.free_form:
            return
        known = cls.input_names()
        for name in names:
            if name not in known:
                raise UnknownInputError(unknown_input_message(cls.genvr_model.key, name, known), field=name, model=cls.genvr_model.key)

    @classmethod
    def from_call(cls, /, **params: Any) -> GenVRInput:
        """Validate keyword arguments of a generated method (or a dict of inputs); NOT_GIVEN ones stay unset
        (and are not sent). An unknown name raises UnknownInputError suggesting the closest input names.

        A `pathlib.Path` or `bytes` value for a file input is accepted: it is uploaded (or sent as a data: URI)
        when the input is submitted.
        """
        cls.check_names(params)
        given, files = extract_files({k: v for k, v in params.items() if v is not NOT_GIVEN})
        instance = cls.model_validate(given)
        instance._pending_files = files
        return instance

    @property
    def pending_files(self) -> dict[str, FileSource]:
        return self._pending_files

    def to_api_params(self) -> dict[str, Any]:
        """The model parameters of the generate body: what the caller set, plus required defaults."""
        info = type(self).genvr_model
        body = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if info.send_always:
            full = self.model_dump(mode="json", by_alias=True)
            for wire in info.send_always:
                body.setdefault(wire, full[wire])
        if self.model_extra:  # free-form models keep unknown inputs
            body.update(self.model_extra)
        return {k: v for k, v in body.items() if v is not None or k in info.nullable}
