"""One exception class per cause. Messages name the model and the task id where known; never the API key."""

from __future__ import annotations

from pathlib import Path

from genvr_runtime._redact import redact_url_secrets


class GenVRError(Exception):
    """Base of every error the runtime raises."""

    def __init__(self, message: str, *, model: str | None = None, task_id: str | None = None) -> None:
        message = redact_url_secrets(message)  # a signed URL quoted in a message would hand out its access
        parts = [message]
        if model:
            parts.append(f"model={model}")
        if task_id:
            parts.append(f"task_id={task_id}")
        super().__init__(" | ".join(parts))
        self.message = message
        self.model = model
        self.task_id = task_id


class APIError(GenVRError):
    """GenVR answered with an HTTP error or `success: false`."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: object = None,
        model: str | None = None,
        task_id: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}" if status_code else message, model=model, task_id=task_id)
        self.status_code = status_code
        self.body = body


class AuthenticationError(APIError):
    """401/403: missing or wrong API key."""


class BadRequestError(APIError):
    """400/404/422: GenVR rejected the input or the model."""


class RateLimitError(APIError):
    """429: too many requests."""


class ServerError(APIError):
    """5xx from GenVR."""


class APIConnectionError(GenVRError):
    """The request could not be completed (connection refused, reset, timeout)."""


class RoutingCollisionError(GenVRError):
    """A model input shares its wire name with a routing field of GenVR's flat request body; `fields` names them."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = (), model: str | None = None) -> None:
        super().__init__(message, model=model)
        self.fields = fields


class TaskFailedError(GenVRError):
    """The task ended `failed`, or `completed` without a usable output; `error` is GenVR's own text."""

    def __init__(self, message: str, *, error: str | None = None, model: str | None = None, task_id: str | None = None) -> None:
        super().__init__(message, model=model, task_id=task_id)
        self.error = error


class WaitTimeoutError(GenVRError):
    """The task did not finish within the wait timeout; it may still finish: resume with its task id."""


class AmbiguousSubmissionError(GenVRError):
    """A generate call was sent but its outcome is unknown (timeout, reset, 5xx after sending).

    The task may exist and be billed; it is not resent automatically. `idempotency_key` is the key the call
    carried, so a server that honours it can deduplicate a deliberate retry.
    """

    def __init__(self, message: str, *, idempotency_key: str | None = None, model: str | None = None) -> None:
        super().__init__(message, model=model)
        self.idempotency_key = idempotency_key


class OutputError(TaskFailedError):
    """The task says `completed` but its output is empty or holds an error message instead of a URL."""


class WaitCancelledError(GenVRError):
    """`Job.cancel()` stopped the wait; the task itself keeps running on GenVR (there is no cancel endpoint)."""


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C while waiting for a task. Still a KeyboardInterrupt (it stops the program as Ctrl-C should), but it
    names the paid task, which keeps running on GenVR, and how to pick it up."""

    def __init__(self, message: str, *, model: str, task_id: str) -> None:
        super().__init__(message)
        self.model = model
        self.task_id = task_id


class UploadError(APIError):
    """The upload flow (`/api/upload/sas-url` then PUT) failed."""


class PaymentRequiredError(APIError):
    """402: the account has no credits left."""


class InputFileError(GenVRError):
    """A batch input file (or journal) is missing or cannot be read; `path` names it."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


class UnknownModelError(GenVRError, KeyError):
    """No generated model has this key; the message suggests the closest keys. Also a KeyError, which callers
    of `load_input_class` caught before this class existed."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class UnknownInputError(GenVRError, TypeError):
    """A model was given an input name it does not have; the message suggests the closest names. Also a
    TypeError, as Python raises for an unexpected keyword argument."""

    def __init__(self, message: str, *, field: str, model: str | None = None) -> None:
        super().__init__(message, model=model)
        self.field = field
