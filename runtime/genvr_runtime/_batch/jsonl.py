"""The batch input and results files (JSONL), read and written as streams.

Input, one job per line (blank lines are ignored; line numbers count every physical line, from 1):

    {"custom_id": "cat-001", "model": "imagegen/flux_dev", "input": {"prompt": "a cat", "aspect_ratio": "1:1"}}

`custom_id` is optional: when absent it is `line-<n>-<first 8 hex of sha256(model + input)>`, stable across
runs of the same file. `model` is GenVR's `category/subcategory`. `input` holds the model's parameters exactly
as the generated input class names them. A file input takes a URL, a `data:` URI, or a local file as
`{"path": "in/cat.png"}` (relative to the jobs file's folder): uploaded once before the first submission, its URL
kept in the journal and reused on resume. Any other string in a file input is refused before anything is sent.

Results, exactly one line per input job, in input order:

    {"line": 1, "custom_id": "cat-001", "model": "imagegen/flux_dev", "status": "succeeded",
     "task_id": "...", "output": ["https://..."], "files": [{"url", "path", "bytes", "sha256"}], "error": null}

`status` is one of succeeded | failed | rejected | invalid (`--skip-invalid`) | unknown | lost | timed_out, or, for a run that was
interrupted, pending | submitting | processing | completed (with `"resumable": true`). `error` is
`{"type", "message", "http_status"}` when the job did not succeed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genvr_runtime._errors import GenVRError, InputFileError
from genvr_runtime._inputs import GenVRInput
from genvr_runtime._protocol import generate_body

InputResolver = Callable[[str, str], type[GenVRInput]]
MAX_LISTED_ERRORS = 1000  # a file with a systematic mistake should not print 100k lines


@dataclass(frozen=True)
class JobLine:
    line: int
    custom_id: str
    model: str
    input: dict[str, Any]
    payload_hash: str


@dataclass(frozen=True)
class LineError:
    line: int
    message: str
    custom_id: str | None = None
    model: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.custom_id:
            where += f" ({self.custom_id})"
        if self.model:
            where += f" [{self.model}]"
        if self.field:
            where += f" field {self.field!r}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "custom_id": self.custom_id, "model": self.model, "field": self.field, "message": self.message}


def default_resolver(category: str, subcategory: str) -> type[GenVRInput]:
    """Look a model up in the generated package, imported only now (the runtime stands on its own)."""
    from genvr.models import load_input_class  # type: ignore[import-not-found,unused-ignore]

    cls: type[GenVRInput] = load_input_class(category, subcategory)
    return cls


def payload_hash(model: str, params: dict[str, Any]) -> str:
    canonical = json.dumps({"model": model, "input": params}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def iter_raw_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line, streamed.

    Bytes that are not UTF-8 become lone surrogates (`surrogateescape`) so that `parse_line` reports them with
    their line number instead of one decode error ending the read. A leading byte-order mark is dropped.
    """
    try:
        with path.open("r", encoding="utf-8-sig", errors="surrogateescape") as fh:
            for number, text in enumerate(fh, start=1):
                if text.strip():
                    yield number, text
    except OSError as exc:  # missing, a directory, permission denied, I/O error
        raise InputFileError(f"cannot read the jobs file {path}: {exc.strerror or exc}", path=path) from None


def _line_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # the bytes as read, even on a line that is not UTF-8


def _not_utf8(text: str) -> str | None:
    try:
        text.encode("utf-8")  # fails exactly on the surrogates `iter_raw_lines` put for undecodable bytes
    except UnicodeEncodeError as exc:
        byte = ord(text[exc.start]) - 0xDC00
        return f"not UTF-8 text: byte 0x{byte:02x} at column {exc.start + 1}; save the file as UTF-8"
    return None


def parse_line(number: int, text: str) -> JobLine | LineError:
    """The job on one line, or what is wrong with its shape (the input itself is checked by `validate_job`)."""
    undecodable = _not_utf8(text)
    if undecodable is not None:
        return LineError(number, undecodable)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return LineError(number, f"not valid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(raw, dict):
        return LineError(number, "a job must be a JSON object")
    custom_id = raw.get("custom_id")
    if custom_id is not None and (not isinstance(custom_id, str) or not custom_id.strip()):
        return LineError(number, "custom_id must be a non-empty string", field="custom_id")
    model = raw.get("model")
    if not isinstance(model, str) or model.count("/") != 1:
        return LineError(number, "model must be 'category/subcategory'", custom_id=custom_id, field="model")
    params = raw.get("input", {})
    if not isinstance(params, dict):
        return LineError(number, "input must be a JSON object", custom_id=custom_id, model=model, field="input")
    unknown = sorted(set(raw) - {"custom_id", "model", "input"})
    if unknown:
        return LineError(number, f"unknown key(s) {unknown}; a job is {{custom_id, model, input}}", custom_id=custom_id, model=model)
    digest = payload_hash(model, params)
    return JobLine(number, custom_id or f"line-{number}-{digest[:8]}", model, params, digest)


def local_file_refs(params: dict[str, Any], file_inputs: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(field, path) of every `{"path": ...}` given to a file input."""
    for field in file_inputs:
        value = params.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and set(item) == {"path"} and isinstance(item["path"], str):
                yield field, item["path"]


def _swap_files(params: dict[str, Any], file_inputs: tuple[str, ...], urls: dict[str, str]) -> dict[str, Any]:
    """`{"path": p}` in file inputs replaced by `urls[p]` (what validation and the request body see)."""
    def swap(item: Any) -> Any:
        if isinstance(item, dict) and set(item) == {"path"} and isinstance(item["path"], str) and item["path"] in urls:
            return urls[item["path"]]
        return item

    out = dict(params)
    for field in file_inputs:
        if field in out:
            out[field] = [swap(v) for v in out[field]] if isinstance(out[field], list) else swap(out[field])
    return out


def _is_file_reference(value: str) -> bool:
    return value.startswith(("http://", "https://", "data:"))


class InputValidator:
    """Checks jobs against their generated input classes (each class resolved once).

    `base_dir`: where `{"path": ...}` file inputs are looked up; `uploads`: their URLs once uploaded (path → URL).
    """

    def __init__(self, resolver: InputResolver, base_dir: Path | None = None, uploads: dict[str, str] | None = None) -> None:
        self._resolver = resolver
        self._classes: dict[str, type[GenVRInput] | LineError] = {}
        self.base_dir = base_dir or Path(".")
        self.uploads = uploads if uploads is not None else {}

    def input_class(self, job: JobLine) -> type[GenVRInput] | LineError:
        if job.model not in self._classes:
            category, subcategory = job.model.split("/")
            try:
                self._classes[job.model] = self._resolver(category, subcategory)
            except (KeyError, LookupError, ImportError) as exc:
                self._classes[job.model] = LineError(0, f"unknown model: {str(exc).strip(chr(39))}", field="model")
        return self._classes[job.model]

    def validate(self, job: JobLine) -> list[LineError]:
        cls = self.input_class(job)
        if isinstance(cls, LineError):
            return [LineError(job.line, cls.message, job.custom_id, job.model, cls.field)]
        file_inputs = cls.genvr_model.file_inputs
        stand_ins = {}
        for field, path in local_file_refs(job.input, file_inputs):
            if not (self.base_dir / path).is_file():
                return [LineError(job.line, f"no such file: {path} (paths are relative to the jobs file's folder)",
                                  job.custom_id, job.model, field)]
            stand_ins[path] = "https://upload.invalid/stand-in"  # the real URL exists only after the upload
        for field in file_inputs:
            value = job.input.get(field)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and not _is_file_reference(item):
                    return [LineError(job.line, f"{item[:80]!r} is neither a URL nor a data: URI; a local file is "
                                      '{"path": "..."}', job.custom_id, job.model, field)]
        try:
            params = cls.model_validate(_swap_files(job.input, file_inputs, stand_ins))
        except ValidationError as exc:
            return [
                LineError(job.line, err["msg"], job.custom_id, job.model, ".".join(str(p) for p in err["loc"]) or None)
                for err in exc.errors()
            ]
        try:
            generate_body("uid", params)
        except GenVRError as exc:
            return [LineError(job.line, exc.message, job.custom_id, job.model)]
        return []

    def body(self, job: JobLine, uid: str) -> dict[str, Any]:
        """The generate body of a job (validated again: cheap, and the journal may hold an older payload)."""
        cls = self.input_class(job)
        if isinstance(cls, LineError):
            raise GenVRError(cls.message, model=job.model)
        file_inputs = cls.genvr_model.file_inputs
        missing = [path for _, path in local_file_refs(job.input, file_inputs) if path not in self.uploads]
        if missing:
            raise GenVRError(f"line {job.line}: {missing[0]} was not uploaded", model=job.model)
        return generate_body(uid, cls.model_validate(_swap_files(job.input, file_inputs, self.uploads)))


@dataclass
class ValidationReport:
    jobs: int
    errors: list[LineError]
    error_count: int
    models: dict[str, int]
    input_sha256: str

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def validate_file(path: Path, resolver: InputResolver, should_stop: Callable[[], bool] | None = None) -> ValidationReport:
    """Stream the whole file; every line checked, nothing sent. Memory: the set of custom ids only.
    `should_stop` (Ctrl-C) ends the check early; the caller then sends nothing."""
    report = ValidationReport(0, [], 0, {}, "")
    for _ in checked_lines(path, resolver, report, should_stop):
        pass
    return report


def checked_lines(path: Path, resolver: InputResolver, report: ValidationReport,
                  should_stop: Callable[[], bool] | None = None) -> Iterator[tuple[int, JobLine | None, list[LineError]]]:
    """Every line with its problems (none: a valid job), filling `report` as it goes."""
    validator = InputValidator(resolver, base_dir=path.parent)
    seen: dict[str, int] = {}
    errors: list[LineError] = []
    error_count = 0
    models: dict[str, int] = {}
    jobs = 0
    digest = hashlib.sha256()
    for number, text in iter_raw_lines(path):
        if should_stop is not None and should_stop():
            break
        digest.update(_line_bytes(text))
        parsed = parse_line(number, text)
        problems = [parsed] if isinstance(parsed, LineError) else validator.validate(parsed)
        if isinstance(parsed, JobLine):
            jobs += 1
            models[parsed.model] = models.get(parsed.model, 0) + 1
            if parsed.custom_id in seen:
                problems.append(LineError(number, f"duplicate custom_id (first on line {seen[parsed.custom_id]})", parsed.custom_id, parsed.model, "custom_id"))
            else:
                seen[parsed.custom_id] = number
        else:
            jobs += 1
        error_count += len(problems)
        room = MAX_LISTED_ERRORS - len(errors)
        errors.extend(problems[:room])
        report.jobs, report.error_count, report.input_sha256 = jobs, error_count, digest.hexdigest()
        yield number, parsed if isinstance(parsed, JobLine) else None, problems
    report.jobs, report.errors, report.error_count, report.models = jobs, errors, error_count, models
    report.input_sha256 = digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for _, text in iter_raw_lines(path):
        digest.update(_line_bytes(text))
    return digest.hexdigest()


def write_jsonl_atomic(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    """Write rows to `path` via a temp file + fsync + rename: readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return count
