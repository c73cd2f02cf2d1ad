"""A content-addressed cache of generated text, so regenerating unchanged models skips DCG and black.

The key covers everything the text depends on (tool versions, options, the input), so a hit is always
what a fresh run would produce; `generate --no-cache` proves it in the tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
# In a checkout: .cache/generator beside generated/; installed (no pyproject.toml there): the user's cache folder.
_DEFAULT = _CHECKOUT / ".cache" / "generator" if (_CHECKOUT / "pyproject.toml").is_file() else Path.home() / ".cache" / "genvr-bindings" / "generator"
CACHE_DIR = Path(os.environ.get("GENVR_GENERATOR_CACHE", _DEFAULT))
# Each new generator version adds a full set of entries (~25 MB for 291 models): the cache keeps to a budget,
# checked after a run that remade many models, dropping what was used longest ago (a hit touches its entry).
BUDGET_BYTES = int(os.environ.get("GENVR_GENERATOR_CACHE_MB", "512")) * 2**20
PRUNE_AFTER_MODELS = 20


def cached_text(parts: tuple[str, ...], compute: Callable[[], str], *, enabled: bool = True) -> str:
    if not enabled:
        return compute()
    digest = key(*parts)
    text = cached_entry(digest)
    if text is None:
        text = compute()
        store_entry(digest, text)
    return text


def cached_entry(digest: str) -> str | None:
    """The text stored under `digest` (a `key`), or None when absent or damaged (it is then made again)."""
    # An entry is the text's own hash, a newline, the text: a damaged entry (cut short...) fails the check.
    path = CACHE_DIR / digest[:2] / digest
    try:
        check, _, text = path.read_bytes().decode("utf-8", "surrogatepass").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if check != _text_hash(text):
        return None
    _touch(path)
    return text


def _touch(path: str | Path) -> bool:
    """Mark an entry used now (the budget drops the least recently used); False if it is not a file."""
    try:
        os.utime(path)
    except OSError:
        return False
    return os.path.isfile(path)


def store_entry(digest: str, text: str) -> None:
    _write(CACHE_DIR / digest[:2] / digest, f"{_text_hash(text)}\n{text}".encode("utf-8", "surrogatepass"))


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Whole outputs: a model's files (by a hash of everything they depend on), and a run's files (by fingerprint.run).


def _blob_path(digest: str) -> str:
    return os.path.join(CACHE_DIR, "blobs", digest[:2], digest)  # a str: thousands per run, pathlib is slow here


def _write(target: str | Path, data: bytes) -> None:
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass  # a read-only checkout still generates, just without the cache


def store_files(name: str, files: Mapping[str, str], **extra: object) -> None:
    """Record `files` (path → text) under `name`; each text is stored once, by its own hash. Texts that
    `files` only holds as digests of recorded blobs (a `RecordedFiles`) are in the store already."""
    manifest = {}
    known = files.digests if isinstance(files, RecordedFiles) else {}  # hashed once, when the texts were made
    for path in files:
        if isinstance(files, RecordedFiles) and path not in files.texts:
            manifest[path] = files.digests[path]
            continue
        data = files[path].encode("utf-8", "surrogatepass")
        digest = known.get(path) or hashlib.sha256(data).hexdigest()
        blob = _blob_path(digest)
        if not _touch(blob) or os.path.getsize(blob) != len(data):  # missing, or cut short
            _write(blob, data)
        manifest[path] = digest
    record = json.dumps({"files": manifest, **extra}, sort_keys=True)
    # Its own hash first, as an entry: a manifest altered yet still JSON (paths, digests) is refused, not served.
    _write(CACHE_DIR / "files" / name[:2] / f"{name}.json", f"{_text_hash(record)}\n{record}".encode())


class RecordedFiles(Mapping[str, str]):
    """Files recorded by `store_files`: their hashes at once, each text read from the cache when asked for;
    with `texts`, also files made in this run (held as text, hashed here). Unchanged files are then compared
    with generated/ by hash and never read back: a run costs what changed, not the size of the output."""

    def __init__(self, digests: dict[str, str], texts: dict[str, str] | None = None) -> None:
        self.texts = texts or {}
        self.digests = {**digests, **{path: _text_hash(text) for path, text in self.texts.items()}}

    def __getitem__(self, path: str) -> str:
        if path in self.texts:
            return self.texts[path]
        blob = _blob_path(self.digests[path])
        try:
            with open(blob, "rb") as handle:
                data: bytes | None = handle.read()
        except OSError:
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != self.digests[path]:
            with contextlib.suppress(OSError):
                os.unlink(blob)  # so the next store_files writes it again
            raise CacheDamaged(f"{blob}: damaged or missing cache entry")
        return data.decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return iter(self.digests)

    def __len__(self) -> int:
        return len(self.digests)


class CacheDamaged(Exception):
    """A recorded text is not what its hash says: the caller makes it again."""


def load_files(name: str) -> tuple[RecordedFiles, dict[str, object]] | None:
    """The files recorded under `name` and the extra fields, or None if anything is missing."""
    manifest = CACHE_DIR / "files" / name[:2] / f"{name}.json"
    try:
        check, _, text = manifest.read_bytes().decode().partition("\n")
        if check != _text_hash(text):
            return None
        record = json.loads(text)
        digests = record.pop("files")
        if not isinstance(digests, dict) or not all(isinstance(d, str) and _touch(_blob_path(d)) for d in digests.values()):
            return None
        if not all(map(is_relative_path, digests)):  # a shared cache must not make a run write outside its folder
            return None
        _touch(manifest)
        return RecordedFiles(digests), record
    except (OSError, ValueError, LookupError, TypeError, AttributeError):  # unreadable or not a manifest
        return None


def prune(budget: int | None = None) -> int:
    """Delete the entries used longest ago until the cache holds at most 80% of `budget` (BUDGET_BYTES) when it
    holds more; returns the bytes freed. An entry deleted here is just made again when next needed."""
    budget = BUDGET_BYTES if budget is None else budget
    entries = []
    for folder, dirs, names in os.walk(CACHE_DIR):
        dirs[:] = [d for d in dirs if d != "locks"]
        for name in names:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                stat = os.stat(path)
                entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    freed = 0
    if total > budget:
        for _, size, path in sorted(entries):
            if total - freed <= budget * 0.8:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                freed += size
    return freed


def is_relative_path(path: object) -> bool:
    """A path this generator could have made: relative, "/"-separated, no "..", "." or empty part."""
    return isinstance(path, str) and "\\" not in path and ":" not in path and all(p not in ("", ".", "..") for p in path.split("/"))


def key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
