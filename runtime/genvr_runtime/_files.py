"""File inputs (upload or data: URI) and output downloads.

A file input given as a `pathlib.Path` or `bytes` is replaced before validation by a placeholder string
(`genvr-file://<n>`), so the generated `str` fields accept it; the client swaps each placeholder for the uploaded
URL (or a data: URI) when it builds the request body. URLs pass through untouched.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from genvr_runtime._calls import RetryPolicy, parse_retry_after
from genvr_runtime._errors import GenVRError, UploadError
from genvr_runtime._protocol import error_message

if TYPE_CHECKING:  # the download functions import httpx (and asyncio) when they run: input values need neither
    import httpx

FileSource = Path | bytes | bytearray
FileMode = Literal["upload", "data_uri"]
PLACEHOLDER_PREFIX = "genvr-file://"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def is_file_source(value: object) -> bool:
    return isinstance(value, (Path, bytes, bytearray))


def extract_files(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, FileSource]]:
    """Replace Path/bytes values (also inside lists) by placeholders; return the new params and the files."""
    files: dict[str, FileSource] = {}

    def swap(value: Any) -> Any:
        if is_file_source(value):
            token = f"{PLACEHOLDER_PREFIX}{len(files)}"
            files[token] = value
            return token
        if isinstance(value, (list, tuple)):
            return [swap(v) for v in value]
        return value

    return {k: swap(v) for k, v in params.items()}, files


def replace_placeholders(body: dict[str, Any], urls: dict[str, Any]) -> dict[str, Any]:
    def swap(value: Any) -> Any:
        if isinstance(value, str) and value in urls:
            return urls[value]
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    return {k: swap(v) for k, v in body.items()}


def file_name_and_bytes(source: FileSource) -> tuple[str, bytes]:
    if isinstance(source, Path):
        return source.name, source.read_bytes()
    return f"upload-{uuid.uuid4().hex[:12]}.bin", bytes(source)


def guess_mime(name: str, data: bytes) -> str:
    mime, _ = mimetypes.guess_type(name)
    if mime:
        return mime
    for magic, kind in ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"RIFF", "audio/wav"), (b"GIF8", "image/gif")):
        if data.startswith(magic):
            return kind
    return "application/octet-stream"


def data_uri(data: bytes, mime: str = "application/octet-stream") -> str:
    """A `data:` URI; many GenVR models accept one instead of an https URL (API.md §6)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def sas_request_body(uid: str, file_name: str, category: str) -> dict[str, Any]:
    return {"userId": uid, "fileName": file_name, "category": category}


def parse_sas_reply(status_code: int, payload: object) -> str:
    """The upload URL from a `/api/upload/sas-url` reply. That reply is NOT wrapped in `data`, and carries its
    error in `error` (API.md §6); a wrapped reply is accepted too."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict) and "uploadUrl" not in payload:
        payload = {**payload["data"], "success": payload.get("success", True)}
    if status_code >= 400 or not isinstance(payload, dict) or payload.get("success") is False:
        message = error_message(payload) or "upload URL request failed"
        raise UploadError(message, status_code=status_code, body=payload)
    url = payload.get("uploadUrl")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UploadError("upload reply has no uploadUrl", status_code=status_code, body=payload)
    return url


def put_headers(mime: str) -> dict[str, str]:
    return {"x-ms-blob-type": "BlockBlob", "Content-Type": mime}


def check_put(response: httpx.Response) -> None:
    if response.status_code not in (200, 201):
        raise UploadError("upload PUT was refused", status_code=response.status_code)


def output_extension(url: str) -> str:
    """File extension of an output URL, query string (SAS token) stripped; `.bin` when there is none."""
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].split(",", 1)[0]
        return mimetypes.guess_extension(mime) or ".bin"
    suffix = PurePosixPath(urlsplit(url).path).suffix
    return suffix if suffix and len(suffix) <= 8 and _SAFE.sub("", suffix) == suffix else ".bin"


def output_filename(stem: str, index: int, url: str) -> str:
    """Deterministic, resume-safe name: the same task/item and index always map to the same file, and two
    different stems never share one (a stem that had to be sanitised or shortened gets a hash of itself)."""
    safe = _SAFE.sub("_", stem)
    if safe != stem or len(safe) > 120:
        safe = f"{safe[:100]}-{hashlib.sha256(stem.encode()).hexdigest()[:16]}"
    return f"{safe}_{index}{output_extension(url)}"


_KIND_OF_EXTENSION = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif", ".heic", ".heif"), "image"),
    **dict.fromkeys((".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v"), "video"),
    **dict.fromkeys((".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus"), "audio"),
    **dict.fromkeys((".glb", ".gltf", ".obj", ".fbx", ".usdz", ".ply", ".stl", ".zip"), "3d"),
    ".svg": "svg",
}


def expected_output_kind(model: str) -> str | None:
    """What `category/subcategory` makes ("image", "video", "audio", "3d", "svg"), from the one per-model table
    the generator decides (`genvr.output_kinds`); None when unknown or any file kind is plausible."""
    try:
        from genvr.output_kinds import output_kind  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the runtime used without the generated package
        return None
    kind: str | None = output_kind(model)
    return None if kind in (None, "file") else kind


def output_kind_warnings(model: str, urls: list[str]) -> list[dict[str, Any]]:
    """One warning per output whose file extension contradicts what the model makes (e.g. a `.png` for a 3D
    model: most likely another task's output). Unknown extensions are not judged."""
    expected = expected_output_kind(model)
    if expected is None:
        return []
    warnings = []
    for index, url in enumerate(urls):
        ext = output_extension(url).lower()
        found = _KIND_OF_EXTENSION.get(ext)
        if found is not None and found != expected:
            warnings.append({"type": "output_kind", "index": index,
                             "message": f"output {index} is a {ext} file ({found}), but {model} makes {expected} files"})
    return warnings


@dataclass(frozen=True)
class DownloadedFile:
    url: str
    path: Path
    bytes: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "path": str(self.path), "bytes": self.bytes, "sha256": self.sha256}


def describe_existing(url: str, path: Path) -> DownloadedFile:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
            size += len(block)
    return DownloadedFile(url, path, size, digest.hexdigest())


def temp_path(final: Path) -> Path:
    # Unique per process: two runs never write into each other's partial file.
    return final.with_name(f".{final.name}.{os.getpid()}.part")


def decode_data_uri(url: str) -> bytes:
    header, _, payload = url.partition(",")
    return base64.b64decode(payload) if header.endswith(";base64") else payload.encode()


# A few attempts with growing, jittered waits (0.5, 1, 2, 4 s): a CDN hiccup or a 5xx passes, a dead URL fails
# within seconds. 4xx other than 408/429 are not retried here: an expired signed URL needs a fresh one.
DOWNLOAD_RETRY = RetryPolicy(max_retries=4, initial_backoff=0.5, max_backoff=8.0)


class _AttemptFailed(Exception):
    """One failed download attempt: what to report, and whether trying the same URL again may help."""

    def __init__(self, message: str, *, status_code: int | None = None, retryable: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after


def _check_status(response: httpx.Response) -> None:
    code = response.status_code
    if code >= 400:
        raise _AttemptFailed(f"HTTP {code}", status_code=code, retryable=code >= 500 or code in (408, 429),
                             retry_after=parse_retry_after(response.headers))


def _check_complete(response: httpx.Response, size: int) -> None:
    """A body shorter (or longer) than its Content-Length is a broken transfer, never a file. `size`: decoded
    bytes received; a compressed reply's Content-Length counts the encoded bytes, so those are compared then."""
    expected = response.headers.get("content-length")
    encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
    got = response.num_bytes_downloaded if encoded else size
    if encoded and got == 0:
        return  # a body handed over already decoded (in-memory transports): nothing to compare
    if expected is not None and expected.strip().isdigit() and int(expected) != got:
        raise _AttemptFailed(f"incomplete body: expected {int(expected)} bytes, got {got}", status_code=response.status_code)


def _attempt_error(exc: Exception) -> _AttemptFailed:
    if isinstance(exc, _AttemptFailed):
        return exc
    import httpx

    retryable = not isinstance(exc, (httpx.UnsupportedProtocol, httpx.TooManyRedirects, httpx.InvalidURL))
    return _AttemptFailed(f"{type(exc).__name__}: {_redact_url(str(exc))}", retryable=retryable)


def _give_up(failure: _AttemptFailed, attempts: int, url: str, model: str | None, task_id: str | None) -> DownloadError:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return DownloadError(f"download failed{tries}: {failure.message}", url=url, model=model, task_id=task_id,
                         status_code=failure.status_code)


def _reusable(url: str, dest: Path, trust_existing: bool, known_sha256: str | None) -> DownloadedFile | None:
    """An existing `dest` is kept only when trusted (named after a task id, written by rename) or when it is
    the very file recorded for this task (same sha256); anything else is replaced."""
    if not dest.is_file() or (not trust_existing and known_sha256 is None):
        return None
    found = describe_existing(url, dest)
    return found if known_sha256 is None or found.sha256 == known_sha256 else None


def clean_leftovers(dest: Path) -> None:
    """Remove `.part` files of `dest` left by processes that are gone (a run killed mid-download)."""
    prefix = f".{dest.name}."
    try:
        candidates = [p for p in dest.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".part")]
    except FileNotFoundError:
        return
    for path in candidates:
        pid = path.name[len(prefix):-len(".part")]
        if pid.isdigit() and (int(pid) == os.getpid() or not _process_alive(int(pid))):
            path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _prepare(url: str, dest: Path, trust_existing: bool, known_sha256: str | None) -> DownloadedFile | None:
    found = _reusable(url, dest, trust_existing, known_sha256)
    if found is not None:
        return found
    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(dest)
    if url.startswith("data:"):
        return _write_bytes(url, dest, decode_data_uri(url))
    return None


def download_sync(http: httpx.Client, url: str, dest: Path, *, policy: RetryPolicy | None = None,
                  trust_existing: bool = True, known_sha256: str | None = None, model: str | None = None,
                  task_id: str | None = None) -> DownloadedFile:
    """Stream `url` to `dest` through a temp file + rename, retrying transient failures with backoff.
    An existing `dest` is reused when `trust_existing` (renames are atomic: it is complete) or when its sha256
    is `known_sha256`; otherwise it is replaced. Raises DownloadError (with the HTTP status, if any)."""
    ready = _prepare(url, dest, trust_existing, known_sha256)
    if ready is not None:
        return ready
    import httpx

    policy = policy or DOWNLOAD_RETRY
    attempt = 0
    while True:
        tmp = temp_path(dest)
        try:
            digest = hashlib.sha256()
            with http.stream("GET", url, follow_redirects=True) as response:
                _check_status(response)
                size = 0
                with tmp.open("wb") as fh:
                    for block in response.iter_bytes():
                        fh.write(block)
                        digest.update(block)
                        size += len(block)
                _check_complete(response, size)
            os.replace(tmp, dest)
            return DownloadedFile(url, dest, size, digest.hexdigest())
        except (httpx.HTTPError, _AttemptFailed) as exc:
            tmp.unlink(missing_ok=True)
            failure = _attempt_error(exc)
            if not failure.retryable or attempt >= policy.max_retries:
                raise _give_up(failure, attempt + 1, url, model, task_id) from None
            time.sleep(policy.backoff(attempt, failure.retry_after))
            attempt += 1
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}", url=url, model=model, task_id=task_id) from None
        except BaseException:  # cancelled or interrupted: no partial file left under any name
            tmp.unlink(missing_ok=True)
            raise


async def download_async(http: httpx.AsyncClient, url: str, dest: Path, *, policy: RetryPolicy | None = None,
                         trust_existing: bool = True, known_sha256: str | None = None, model: str | None = None,
                         task_id: str | None = None) -> DownloadedFile:
    """The async twin of `download_sync`."""
    ready = _prepare(url, dest, trust_existing, known_sha256)
    if ready is not None:
        return ready
    import asyncio

    import httpx

    policy = policy or DOWNLOAD_RETRY
    attempt = 0
    while True:
        tmp = temp_path(dest)
        try:
            digest = hashlib.sha256()
            async with http.stream("GET", url, follow_redirects=True) as response:
                _check_status(response)
                size = 0
                with tmp.open("wb") as fh:
                    async for block in response.aiter_bytes():
                        fh.write(block)
                        digest.update(block)
                        size += len(block)
                _check_complete(response, size)
            os.replace(tmp, dest)
            return DownloadedFile(url, dest, size, digest.hexdigest())
        except (httpx.HTTPError, _AttemptFailed) as exc:
            tmp.unlink(missing_ok=True)
            failure = _attempt_error(exc)
            if not failure.retryable or attempt >= policy.max_retries:
                raise _give_up(failure, attempt + 1, url, model, task_id) from None
            await asyncio.sleep(policy.backoff(attempt, failure.retry_after))
            attempt += 1
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}", url=url, model=model, task_id=task_id) from None
        except BaseException:  # cancelled or interrupted: no partial file left under any name
            tmp.unlink(missing_ok=True)
            raise


def fetch_bytes_sync(http: httpx.Client, url: str, *, policy: RetryPolicy | None = None, model: str | None = None,
                     task_id: str | None = None) -> bytes:
    """One output in memory, with the same retries and size check as `download_sync`."""
    if url.startswith("data:"):
        return decode_data_uri(url)
    import httpx

    policy = policy or DOWNLOAD_RETRY
    attempt = 0
    while True:
        try:
            with http.stream("GET", url, follow_redirects=True) as response:
                _check_status(response)
                data = response.read()
                _check_complete(response, len(data))
            return data
        except (httpx.HTTPError, _AttemptFailed) as exc:
            failure = _attempt_error(exc)
            if not failure.retryable or attempt >= policy.max_retries:
                raise _give_up(failure, attempt + 1, url, model, task_id) from None
            time.sleep(policy.backoff(attempt, failure.retry_after))
            attempt += 1


async def fetch_bytes_async(http: httpx.AsyncClient, url: str, *, policy: RetryPolicy | None = None,
                            model: str | None = None, task_id: str | None = None) -> bytes:
    """The async twin of `fetch_bytes_sync`."""
    if url.startswith("data:"):
        return decode_data_uri(url)
    import asyncio

    import httpx

    policy = policy or DOWNLOAD_RETRY
    attempt = 0
    while True:
        try:
            async with http.stream("GET", url, follow_redirects=True) as response:
                _check_status(response)
                data = await response.aread()
                _check_complete(response, len(data))
            return data
        except (httpx.HTTPError, _AttemptFailed) as exc:
            failure = _attempt_error(exc)
            if not failure.retryable or attempt >= policy.max_retries:
                raise _give_up(failure, attempt + 1, url, model, task_id) from None
            await asyncio.sleep(policy.backoff(attempt, failure.retry_after))
            attempt += 1


def _write_bytes(url: str, dest: Path, data: bytes) -> DownloadedFile:
    tmp = temp_path(dest)
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return DownloadedFile(url, dest, len(data), hashlib.sha256(data).hexdigest())


def _redact_url(text: str) -> str:
    # SAS tokens in query strings are credentials of a sort: keep them out of messages.
    return re.sub(r"\?[^\s'\"]*", "?…", text)


class DownloadError(GenVRError):
    """An output could not be downloaded (after retries). `status_code`: the last HTTP status, if any."""

    def __init__(self, message: str, *, url: str, model: str | None = None, task_id: str | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message, model=model, task_id=task_id)
        self.url = url
        self.status_code = status_code

    @property
    def url_refused(self) -> bool:
        """The URL itself was refused (403/404/410…: e.g. an expired signature): a fresh one may work."""
        return self.status_code is not None and 400 <= self.status_code < 500 and self.status_code not in (408, 429)
