"""Hand-written runtime of the generated `genvr` package: inputs, the three-step flow, errors, files, batches.

Never generated; `generated/genvr` imports it.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: importing typing costs more than the rest of this file (type checkers read the
# name itself). Keeping this module import-free keeps the `genvr` command's unguarded start-up short.
TYPE_CHECKING = False
if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time `__getattr__` below
    from typing import Any

    from genvr_runtime._batch.jsonl import (
        LineError as LineError,
    )
    from genvr_runtime._batch.progress import (
        Counts as Counts,
    )
    from genvr_runtime._batch.runner import (
        BatchOptions as BatchOptions,
        BatchReport as BatchReport,
    )
    from genvr_runtime._client import (
        AsyncBaseClient as AsyncBaseClient,
        AsyncJob as AsyncJob,
        BaseClient as BaseClient,
        Job as Job,
    )
    from genvr_runtime._errors import (
        AmbiguousSubmissionError as AmbiguousSubmissionError,
        APIConnectionError as APIConnectionError,
        APIError as APIError,
        AuthenticationError as AuthenticationError,
        BadRequestError as BadRequestError,
        GenVRError as GenVRError,
        InputFileError as InputFileError,
        OutputError as OutputError,
        PaymentRequiredError as PaymentRequiredError,
        RateLimitError as RateLimitError,
        RoutingCollisionError as RoutingCollisionError,
        ServerError as ServerError,
        TaskFailedError as TaskFailedError,
        UnknownInputError as UnknownInputError,
        UnknownModelError as UnknownModelError,
        UploadError as UploadError,
        WaitCancelledError as WaitCancelledError,
        WaitInterrupted as WaitInterrupted,
        WaitTimeoutError as WaitTimeoutError,
    )
    from genvr_runtime._files import (
        data_uri as data_uri,
        DownloadedFile as DownloadedFile,
        DownloadError as DownloadError,
        FileSource as FileSource,
    )
    from genvr_runtime._calls import (
        RetryPolicy as RetryPolicy,
    )
    from genvr_runtime._common import (
        ModelInfo as ModelInfo,
        NOT_GIVEN as NOT_GIVEN,
        NotGiven as NotGiven,
    )
    from genvr_runtime._inputs import (
        GenVRInput as GenVRInput,
    )
    from genvr_runtime._methods import (
        AsyncModelMethod as AsyncModelMethod,
        CategoryNamespace as CategoryNamespace,
        ModelMethod as ModelMethod,
    )
    from genvr_runtime._polling import (
        BatchPollSchedule as BatchPollSchedule,
        SinglePollSchedule as SinglePollSchedule,
    )
    from genvr_runtime._results import (
        GenerationResult as GenerationResult,
    )

# Name → module. Nothing is imported until a name is used: `import genvr_runtime` (and the `genvr` command's
# first line) stays cheap, and a Ctrl-C while Python starts the CLI finds our handler already there.
_EXPORTS: dict[str, str] = {
    "AmbiguousSubmissionError": "genvr_runtime._errors",
    "APIConnectionError": "genvr_runtime._errors",
    "APIError": "genvr_runtime._errors",
    "AsyncBaseClient": "genvr_runtime._client",
    "AsyncJob": "genvr_runtime._client",
    "AsyncModelMethod": "genvr_runtime._methods",
    "AuthenticationError": "genvr_runtime._errors",
    "BadRequestError": "genvr_runtime._errors",
    "BaseClient": "genvr_runtime._client",
    "BatchOptions": "genvr_runtime._batch.runner",
    "BatchPollSchedule": "genvr_runtime._polling",
    "BatchReport": "genvr_runtime._batch.runner",
    "CategoryNamespace": "genvr_runtime._methods",
    "Counts": "genvr_runtime._batch.progress",
    "data_uri": "genvr_runtime._files",
    "DownloadedFile": "genvr_runtime._files",
    "DownloadError": "genvr_runtime._files",
    "FileSource": "genvr_runtime._files",
    "GenerationResult": "genvr_runtime._results",
    "GenVRError": "genvr_runtime._errors",
    "GenVRInput": "genvr_runtime._inputs",
    "InputFileError": "genvr_runtime._errors",
    "Job": "genvr_runtime._client",
    "LineError": "genvr_runtime._batch.jsonl",
    "ModelInfo": "genvr_runtime._common",
    "ModelMethod": "genvr_runtime._methods",
    "NOT_GIVEN": "genvr_runtime._common",
    "NotGiven": "genvr_runtime._common",
    "OutputError": "genvr_runtime._errors",
    "PaymentRequiredError": "genvr_runtime._errors",
    "RateLimitError": "genvr_runtime._errors",
    "RetryPolicy": "genvr_runtime._calls",
    "RoutingCollisionError": "genvr_runtime._errors",
    "ServerError": "genvr_runtime._errors",
    "SinglePollSchedule": "genvr_runtime._polling",
    "TaskFailedError": "genvr_runtime._errors",
    "UnknownInputError": "genvr_runtime._errors",
    "UnknownModelError": "genvr_runtime._errors",
    "UploadError": "genvr_runtime._errors",
    "WaitCancelledError": "genvr_runtime._errors",
    "WaitInterrupted": "genvr_runtime._errors",
    "WaitTimeoutError": "genvr_runtime._errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    import importlib

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'genvr_runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value
