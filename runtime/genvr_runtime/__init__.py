"""Hand-written runtime of the generated `genvr` package: inputs, the three-step flow, errors, files, batches.

Never generated; `generated/genvr` imports it.
"""

from genvr_runtime._batch.jsonl import LineError
from genvr_runtime._batch.progress import Counts
from genvr_runtime._batch.runner import BatchOptions, BatchReport
from genvr_runtime._client import AsyncBaseClient, AsyncJob, BaseClient, Job
from genvr_runtime._errors import (
    AmbiguousSubmissionError,
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    GenVRError,
    InputFileError,
    OutputError,
    PaymentRequiredError,
    RateLimitError,
    RoutingCollisionError,
    ServerError,
    TaskFailedError,
    UnknownInputError,
    UnknownModelError,
    UploadError,
    WaitCancelledError,
    WaitInterrupted,
    WaitTimeoutError,
)
from genvr_runtime._files import DownloadedFile, DownloadError, FileSource, data_uri
from genvr_runtime._http import RetryPolicy
from genvr_runtime._inputs import NOT_GIVEN, GenVRInput, ModelInfo, NotGiven
from genvr_runtime._namespace import ModelNamespace
from genvr_runtime._polling import BatchPollSchedule, SinglePollSchedule
from genvr_runtime._results import GenerationResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "AmbiguousSubmissionError",
    "AsyncBaseClient",
    "AsyncJob",
    "AuthenticationError",
    "BadRequestError",
    "BaseClient",
    "BatchOptions",
    "BatchPollSchedule",
    "BatchReport",
    "Counts",
    "DownloadError",
    "DownloadedFile",
    "FileSource",
    "GenVRError",
    "GenVRInput",
    "GenerationResult",
    "InputFileError",
    "Job",
    "LineError",
    "ModelInfo",
    "ModelNamespace",
    "NOT_GIVEN",
    "NotGiven",
    "OutputError",
    "PaymentRequiredError",
    "RateLimitError",
    "RetryPolicy",
    "RoutingCollisionError",
    "ServerError",
    "SinglePollSchedule",
    "TaskFailedError",
    "UnknownInputError",
    "UnknownModelError",
    "UploadError",
    "WaitCancelledError",
    "WaitInterrupted",
    "WaitTimeoutError",
    "data_uri",
]
