"""Keeping secrets out of what the runtime stores, raises and logs.

- The API key: a server may echo the `Authorization` header (or the key alone) in its error text. Every reply
  body the runtime reads goes through `reply_json` (and its reason phrase through `reply_reason`), which blanks
  the key that request carried, and any `Bearer <token>`. Everything derived from a reply (error records,
  results, the journal, exception messages, log lines) is then clean, without per-message special cases.
- Signed URLs: upload and output URLs carry their credential in the query (`sig=` for Azure SAS, the
  `X-Amz-*`/`X-Goog-*` signature and token parameters elsewhere). `redact_url_secrets` blanks those values in
  text bound for exception messages and logs; `se=` (expiry) and the rest stay readable for diagnosis. Output
  URLs in results.jsonl are left as GenVR gave them: they are the user's data and the way to fetch the files.
- httpx logs one INFO line per request (`HTTP Request: ...`), which floods consoles such as ComfyUI's that
  show INFO. A filter on the `httpx` logger turns the lines of requests made by this runtime into DEBUG lines
  of `genvr_runtime.http`, signatures redacted; other users of httpx in the process are not affected.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

    import httpx

REDACTED = "***"
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",;]{8,}")
# Query parameters that are credentials (the signature, session tokens, API keys), never their neighbours.
_SIGNED_QUERY = re.compile(
    r"(?i)([?&](?:sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential|x-goog-signature"
    r"|x-goog-credential|token|access_token|api_key|apikey|key)=)[^&#\s'\"]+"
)
_MIN_SECRET = 4  # a shorter "key" would blank ordinary words


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` without the given secrets nor any `Bearer <token>`."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, REDACTED)
    return _BEARER.sub(rf"\g<1>{REDACTED}", text)


def redact_json(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A decoded JSON value with every string (keys too) passed through `redact_text`."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, list):
        return [redact_json(v, secrets) for v in value]
    if isinstance(value, dict):
        return {redact_text(str(k), secrets): redact_json(v, secrets) for k, v in value.items()}
    return value


def redact_url_secrets(text: str) -> str:
    """`text` with the credential query parameters of any URL in it blanked (`sig=***`)."""
    return _SIGNED_QUERY.sub(rf"\g<1>{REDACTED}", text) if "=" in text else text


def sent_secrets(response: httpx.Response) -> tuple[str, ...]:
    """The bearer token the request behind `response` carried (what a server could echo back)."""
    try:
        authorization = response.request.headers.get("authorization", "")
    except RuntimeError:  # a response built without a request (tests)
        return ()
    token = authorization.partition(" ")[2].strip()
    return (token,) if token else ()


def reply_json(response: httpx.Response) -> Any:
    """`response.json()` with the caller's key and bearer tokens blanked. Raises ValueError like `.json()`."""
    return redact_json(response.json(), sent_secrets(response))


def reply_reason(response: httpx.Response) -> str:
    """The reply's reason phrase (server text too), redacted like its body."""
    return redact_text(response.reason_phrase, sent_secrets(response))


# -- httpx's per-request INFO lines ----------------------------------------------------------------------------
_PACKAGE = __name__.rpartition(".")[0]  # "genvr_runtime", or the ComfyUI pack's vendored copy
http_log = logging.getLogger("genvr_runtime.http")


def _sent_by_this_runtime() -> bool:
    # The stack of the logging call holds this runtime's frames when one of its calls sent the request (also
    # through `await`: a resumed coroutine chain is on the stack). No bookkeeping around every call site.
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith(_PACKAGE + ".") and module != __name__:
            return True
        frame = frame.f_back
    return False


class _RequestLinesToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not _sent_by_this_runtime():
            return True
        if http_log.isEnabledFor(logging.DEBUG):
            http_log.debug("%s", redact_url_secrets(record.getMessage()))
        return False


def install_httpx_log_filter() -> None:
    """Idempotent: one filter per copy of the runtime."""
    httpx_log = logging.getLogger("httpx")
    if not any(type(f).__module__ == __name__ and type(f).__name__ == _RequestLinesToDebug.__name__ for f in httpx_log.filters):
        httpx_log.addFilter(_RequestLinesToDebug())


# At import, not with the first request: every module of the runtime imports this one (through _errors), so the
# filter is in place whatever sends the first request (a download needs no GenVR call before it). It only adds
# a filter to the `httpx` logger; httpx itself is not imported.
install_httpx_log_filter()
