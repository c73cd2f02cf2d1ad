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
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from genvr_runtime._errors import GenVRError, UploadError

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


def replace_placeholders(body: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
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
    from genvr_runtime._protocol import error_message  # _protocol imports _inputs, which imports this module

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


_DOWNLOAD_ATTEMPTS = 3


class _ShortRead(Exception):
    pass


def _check_length(expected: str | None, got: int) -> None:
    if expected is not None and expected.isdigit() and int(expected) != got:
        raise _ShortRead(f"expected {expected} bytes, got {got}")


def download_sync(http: httpx.Client, url: str, dest: Path) -> DownloadedFile:
    """Stream `url` to `dest` through a temp file + rename; an existing `dest` is complete (renames are atomic)."""
    if dest.exists():
        return describe_existing(url, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("data:"):
        return _write_bytes(url, dest, decode_data_uri(url))
    last: Exception | None = None
    for _ in range(_DOWNLOAD_ATTEMPTS):
        tmp = temp_path(dest)
        try:
            digest, size = hashlib.sha256(), 0
            with http.stream("GET", url, follow_redirects=True) as response, tmp.open("wb") as fh:
                response.raise_for_status()
                for block in response.iter_bytes():
                    fh.write(block)
                    digest.update(block)
                    size += len(block)
                _check_length(response.headers.get("content-length"), size)
            os.replace(tmp, dest)
            return DownloadedFile(url, dest, size, digest.hexdigest())
        except (httpx.HTTPError, _ShortRead, OSError) as exc:
            last = exc
            tmp.unlink(missing_ok=True)
    raise DownloadError(f"download failed: {type(last).__name__}: {_redact_url(str(last))}", url=url)


async def download_async(http: httpx.AsyncClient, url: str, dest: Path) -> DownloadedFile:
    """The async twin of `download_sync`."""
    if dest.exists():
        return describe_existing(url, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("data:"):
        return _write_bytes(url, dest, decode_data_uri(url))
    last: Exception | None = None
    for _ in range(_DOWNLOAD_ATTEMPTS):
        tmp = temp_path(dest)
        try:
            digest, size = hashlib.sha256(), 0
            async with http.stream("GET", url, follow_redirects=True) as response:
                response.raise_for_status()
                with tmp.open("wb") as fh:
                    async for block in response.aiter_bytes():
                        fh.write(block)
                        digest.update(block)
                        size += len(block)
                _check_length(response.headers.get("content-length"), size)
            os.replace(tmp, dest)
            return DownloadedFile(url, dest, size, digest.hexdigest())
        except (httpx.HTTPError, _ShortRead, OSError) as exc:
            last = exc
            tmp.unlink(missing_ok=True)
    raise DownloadError(f"download failed: {type(last).__name__}: {_redact_url(str(last))}", url=url)


def _write_bytes(url: str, dest: Path, data: bytes) -> DownloadedFile:
    tmp = temp_path(dest)
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return DownloadedFile(url, dest, len(data), hashlib.sha256(data).hexdigest())


def _redact_url(text: str) -> str:
    # SAS tokens in query strings are credentials of a sort: keep them out of messages.
    return re.sub(r"\?[^\s'\"]*", "?…", text)


class DownloadError(GenVRError):
    """An output could not be downloaded (after retries)."""

    def __init__(self, message: str, *, url: str, model: str | None = None, task_id: str | None = None) -> None:
        super().__init__(message, model=model, task_id=task_id)
        self.url = url
