"""`genvr models | schema | run | job | download`: one model at a time, driven by the generated package.

Model metadata comes from the generated `genvr` package only (`genvr.catalog.CATALOG` for listings, the input
classes and their `ModelInfo` for inputs), so the CLI needs no generator at run time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from genvr_runtime._errors import GenVRError, InputFileError, UnknownInputError
from genvr_runtime._common import input_class, suggest
from genvr_runtime._inputs import GenVRInput
from genvr_runtime._results import GenerationResult

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 4, 5, 130


class UsageError(GenVRError):
    """A mistake in the command line itself (exit 2)."""


def add_parsers(sub: Any) -> None:
    models = sub.add_parser("models", help="list models: key, name, category, output kind, inputs count")
    models.add_argument("--category", help="only this category (e.g. imagegen)")
    models.add_argument("--search", metavar="TEXT", help="only models whose key, name or description contains TEXT")
    models.add_argument("--json", action="store_true")

    schema = sub.add_parser("schema", help="the inputs of a model: type, required, default, range or choices")
    schema.add_argument("model", help="model key, e.g. imagegen/flux_dev")
    schema.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="run a model: genvr run imagegen/flux_dev prompt='a cat' aspect_ratio=16:9",
                         description="Values are typed from the model's schema. A file input takes a URL, a data: "
                                     "URI, or a local file (image=@photo.png, or a path that exists), uploaded first.")
    run.add_argument("model", help="model key, e.g. imagegen/flux_dev")
    run.add_argument("inputs", nargs="*", metavar="name=value", help="inputs; see `genvr schema MODEL`")
    run.add_argument("--download", type=Path, metavar="DIR", help="save the outputs here (<task_id>_<i>.<ext>)")
    run.add_argument("--no-wait", action="store_true", help="print the task id and return at once")
    run.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the task (default 1800)")
    run.add_argument("--base-url", help="API base URL (default GENVR_BASE_URL or GenVR's)")
    run.add_argument("--json", action="store_true")

    job = sub.add_parser("job", help="pick up a task by model and task id: status, outputs, --download")
    job.add_argument("model")
    job.add_argument("task_id")
    job.add_argument("--download", type=Path, metavar="DIR")
    job.add_argument("--no-wait", action="store_true", help="print the current status only")
    job.add_argument("--timeout", type=float, default=1800.0)
    job.add_argument("--base-url")
    job.add_argument("--json", action="store_true")

    download = sub.add_parser("download", help="download outputs: of a batch results file, or of a task (--model)")
    download.add_argument("source", help="a results JSONL file, or a task id (with --model)")
    download.add_argument("dir", type=Path)
    download.add_argument("--model", help="model of the task id")
    download.add_argument("--base-url")
    download.add_argument("--json", action="store_true")


# ---------------------------------------------------------------------------------------------------------------
# Output: rich tables on a terminal, tab-separated text when piped, JSON with --json


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if sys.stdout.isatty():
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:  # rich is optional: plain text then
            pass
        else:
            table = Table(title=title)
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in cells:
                table.add_row(*row)
            Console().print(table)
            return
    print("\t".join(columns))
    for row in cells:
        print("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row))


def _json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Model metadata


def _catalog() -> dict[str, tuple[str, str, str, int, str]]:
    from genvr.catalog import CATALOG  # type: ignore[import-not-found,unused-ignore]

    catalog: dict[str, tuple[str, str, str, int, str]] = CATALOG
    return catalog


def _resolve(model: str) -> type[GenVRInput]:
    return input_class(model)  # UnknownModelError names the closest keys


def describe_inputs(cls: type[GenVRInput]) -> list[dict[str, Any]]:
    """One dict per input, from the class's JSON schema and its ModelInfo."""
    info = cls.genvr_model
    schema = cls.model_json_schema(by_alias=False)
    required = set(schema.get("required", []))
    rows = []
    for name, field in cls.model_fields.items():
        prop = schema.get("properties", {}).get(name, {})
        wire = field.alias or name
        rows.append({
            "name": name,
            "wire_name": wire,
            "type": type_label(prop),
            "required": name in required,
            "default": prop.get("default"),
            "choices": _choices(prop),
            "range": _range(prop),
            "file": wire in info.file_inputs,
            "advanced": wire in info.advanced,
            "description": prop.get("description", ""),
        })
    return rows


def _variants(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"]


def type_label(prop: dict[str, Any]) -> str:
    labels = []
    for v in _variants(prop):
        if "enum" in v or "const" in v:
            labels.append("choice")
        elif v.get("type") == "array":
            labels.append(f"list[{type_label(v.get('items', {})) or 'any'}]")
        else:
            labels.append({"string": "str", "integer": "int", "number": "float", "boolean": "bool", "object": "object"}
                          .get(v.get("type", ""), "any"))
    if len(prop.get("anyOf", [])) > len(_variants(prop)):
        labels.append("null")
    return " | ".join(labels) or "any"


def _choices(prop: dict[str, Any]) -> list[Any] | None:
    for v in _variants(prop):
        if "enum" in v:
            return list(v["enum"])
        if "const" in v:
            return [v["const"]]
    return None


def _range(prop: dict[str, Any]) -> str:
    parts = []
    for v in _variants(prop):
        for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
                          ("minItems", "items >="), ("maxItems", "items <="), ("maxLength", "length <=")):
            if key in v:
                parts.append(f"{sign} {v[key]}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Typing name=value from the schema


def _is_remote(text: str) -> bool:
    return text.startswith(("http://", "https://", "data:"))


def _file_value(field: str, text: str) -> str | Path:
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        if not path.is_file():
            raise UsageError(f"input {field!r}: no such file: {path}")
        return path
    if _is_remote(text):
        return text
    path = Path(text).expanduser()
    if path.is_file():
        return path
    raise UsageError(f"input {field!r}: {text!r} is neither a URL, a data: URI nor an existing file")


def _scalar(field: str, text: str, prop: dict[str, Any]) -> Any:
    variants = _variants(prop)
    if text == "null" and len(prop.get("anyOf", [])) > len(variants):
        return None
    for v in variants:
        for option in v.get("enum", [v["const"]] if "const" in v else []):
            if str(option) == text:
                return option
    types = [v.get("type") for v in variants]
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    if "boolean" in types:
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
    if "object" in types or "array" in types:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text  # pydantic names the field if this does not fit


def parse_assignments(cls: type[GenVRInput], items: Sequence[str]) -> dict[str, Any]:
    info = cls.genvr_model
    schema = cls.model_json_schema(by_alias=False)
    props: dict[str, Any] = schema.get("properties", {})
    by_wire = {(f.alias or n): n for n, f in cls.model_fields.items()}
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise UsageError(f"expected name=value, got {item!r} (inputs of {info.key}: `genvr schema {info.key}`)")
        cls.check_names([name])
        field = by_wire.get(name, name)
        prop = props.get(field, {})
        is_file = (cls.model_fields[field].alias or field) in info.file_inputs if field in cls.model_fields else False
        is_list = any(v.get("type") == "array" for v in _variants(prop))
        if is_list and not text.lstrip().startswith("["):
            parts = [p for p in text.split(",") if p]
            item_prop: dict[str, Any] = next((v.get("items", {}) for v in _variants(prop) if v.get("type") == "array"), {})
            values[field] = [_file_value(name, p) if is_file else _scalar(name, p, item_prop) for p in parts]
        elif is_file and not is_list:
            values[field] = _file_value(name, text)
        else:
            values[field] = _scalar(name, text, prop)
    return values


def validation_message(model: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        lines.append(f"{model} input {loc!r}: {err['msg']}{got}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Commands


def models(args: argparse.Namespace) -> int:
    catalog = _catalog()
    categories = sorted({entry[1] for entry in catalog.values()})
    if args.category and args.category not in categories:
        raise UsageError(f"unknown category {args.category!r}{suggest(args.category, categories)} "
                         f"(categories: {', '.join(categories)})")
    needle = (args.search or "").lower()
    rows = [
        {"key": key, "name": name, "category": category, "output": kind, "inputs": count, "description": text}
        for key, (name, category, kind, count, text) in catalog.items()
        if (not args.category or category == args.category)
        and (not needle or needle in key.lower() or needle in name.lower() or needle in text.lower())
    ]
    if args.json:
        _json(rows)
    else:
        table(f"GenVR models ({len(rows)})", ["key", "name", "category", "output", "inputs"],
               [[r["key"], r["name"], r["category"], r["output"], r["inputs"]] for r in rows])
    return EXIT_OK


def schema(args: argparse.Namespace) -> int:
    cls = _resolve(args.model)
    info = cls.genvr_model
    rows = describe_inputs(cls)
    catalog = _catalog().get(info.key)
    if args.json:
        _json({"model": info.key, "name": info.name, "output": catalog[2] if catalog else None,
               "free_form": info.free_form, "inputs": rows})
        return EXIT_OK
    table_rows = []
    for r in rows:
        choices = ", ".join(str(c) for c in r["choices"]) if r["choices"] else ""
        table_rows.append([
            r["name"] + (f" ({r['wire_name']})" if r["wire_name"] != r["name"] else ""), r["type"],
            "yes" if r["required"] else "", "" if r["default"] is None else json.dumps(r["default"], ensure_ascii=False)[:40],
            (choices or r["range"])[:80], "file" if r["file"] else "", "yes" if r["advanced"] else "",
        ])
    table(f"{info.key} · {info.name}", ["input", "type", "required", "default", "choices / range", "file", "advanced"], table_rows)
    if info.free_form:
        _note(f"{info.key}: GenVR publishes no schema for this model; any name=value is sent unchecked")
    return EXIT_OK


def _client(base_url: str | None) -> Any:
    if not os.environ.get("GENVR_API_KEY"):
        raise UsageError("no API key: set GENVR_API_KEY (and GENVR_UID, your GenVR user id)")
    if not os.environ.get("GENVR_UID"):
        raise UsageError("no user id: set GENVR_UID (your GenVR user id)")
    from genvr import Client  # type: ignore[import-not-found,unused-ignore]

    return Client(base_url=base_url)


class _StatusLine:
    """`processing · 12s · task …` on stderr, rewritten in place on a terminal, one line per change otherwise."""

    def __init__(self, model: str, task_id: str) -> None:
        self.model, self.task_id = model, task_id
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, status: str) -> None:
        text = f"{self.model} · {status} · {time.monotonic() - self.started:.0f}s · task {self.task_id}"
        if self.tty:
            print(f"\r\x1b[2K{text}", end="", file=sys.stderr, flush=True)
        elif status != self.last:
            _note(text)
        self.last = status

    def done(self) -> None:
        if self.tty and self.last:
            print(file=sys.stderr, flush=True)


def _finish(client: Any, job: Any, args: argparse.Namespace) -> int:
    from genvr_runtime._errors import WaitInterrupted

    line = _StatusLine(job.model.key, job.task_id)
    try:
        result: GenerationResult = job.wait(args.timeout, on_update=line)
    except WaitInterrupted:
        line.done()
        _note(f"interrupted: task {job.task_id} is paid for and keeps running on GenVR; pick it up with:\n"
              f"  genvr job {job.model.key} {job.task_id}")
        return EXIT_INTERRUPTED
    finally:
        line.done()
    files = client.download(result, args.download) if args.download else []
    if args.json:
        _json({"model": result.model, "task_id": result.task_id, "status": result.status, "output": result.output,
               "files": [f.as_dict() for f in files]})
    else:
        for url in result.output:
            print(url)
        for file in files:
            print(file.path)
        _note(f"{result.model} task {result.task_id}: {len(result.output)} output(s) in {result.elapsed_seconds:.1f}s")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    cls = _resolve(args.model)
    values = parse_assignments(cls, args.inputs)
    try:
        params = cls.from_call(**values)
    except ValidationError as exc:
        raise UsageError(validation_message(cls.genvr_model.key, exc)) from None
    client = _client(args.base_url)
    with client:
        job = client.submit(params)
        if args.no_wait:
            if args.json:
                _json({"model": job.model.key, "task_id": job.task_id, "status": job.last_status})
            else:
                print(job.task_id)
                _note(f"submitted; follow it with: genvr job {job.model.key} {job.task_id}")
            return EXIT_OK
        return _finish(client, job, args)


def job(args: argparse.Namespace) -> int:
    key = _resolve(args.model).genvr_model.key
    client = _client(args.base_url)
    with client:
        handle = client.job(key, args.task_id)
        if args.no_wait:
            status = handle.status()
            if args.json:
                _json({"model": key, "task_id": args.task_id, "status": status})
            else:
                print(status)
            return EXIT_OK
        return _finish(client, handle, args)


def download(args: argparse.Namespace) -> int:
    from genvr_runtime._files import download_sync, output_filename

    source = Path(args.source)
    if args.model:
        key = _resolve(args.model).genvr_model.key
        client = _client(args.base_url)
        with client:
            result = client.job(key, args.source).result()
            files = [f.as_dict() for f in client.download(result, args.dir)]
    elif source.is_file():
        files = []
        with httpx.Client(timeout=60.0) as http:
            for row in _result_rows(source):
                for index, url in enumerate(row.get("output") or []):
                    stem = str(row.get("custom_id") or row.get("task_id"))
                    saved = download_sync(http, url, args.dir / output_filename(stem, index, url),
                                          model=row.get("model"), task_id=row.get("task_id"))
                    files.append({**saved.as_dict(), "custom_id": row.get("custom_id")})
    else:
        raise UsageError(f"{args.source}: no such results file (for a task id, add --model MODEL)")
    if args.json:
        _json(files)
    else:
        for file in files:
            print(file["path"])
        _note(f"{len(files)} file(s) in {args.dir}")
    return EXIT_OK


def _result_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read {path}: {exc}", path=path) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path} line {number}: not JSON ({exc.msg})", path=path) from None
        if isinstance(row, dict) and row.get("status") == "succeeded":
            rows.append(row)
    return rows


COMMANDS = {"models": models, "schema": schema, "run": run, "job": job, "download": download}
__all__ = ["COMMANDS", "UnknownInputError", "UsageError", "add_parsers"]
