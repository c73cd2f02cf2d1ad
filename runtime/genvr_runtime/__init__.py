"""Hand-written runtime of the generated `genvr` package: inputs, the three-step flow, errors.

Never generated; `generated/genvr` imports it.
"""

from genvr_runtime._client import AsyncBaseClient, AsyncJob, BaseClient, Job
from genvr_runtime._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    GenVRError,
    RateLimitError,
    RoutingCollisionError,
    ServerError,
    TaskFailedError,
    WaitTimeoutError,
)
from genvr_runtime._inputs import NOT_GIVEN, GenVRInput, ModelInfo, NotGiven
from genvr_runtime._results import GenerationResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncBaseClient",
    "AsyncJob",
    "AuthenticationError",
    "BadRequestError",
    "BaseClient",
    "GenVRError",
    "GenVRInput",
    "GenerationResult",
    "Job",
    "ModelInfo",
    "NOT_GIVEN",
    "NotGiven",
    "RateLimitError",
    "RoutingCollisionError",
    "ServerError",
    "TaskFailedError",
    "WaitTimeoutError",
]
