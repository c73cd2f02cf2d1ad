"""Write only what changed, and drop files no longer made. Imports nothing heavy: the no-op path uses it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Files in generated/ that are never ours to manage.
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache"})


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)  # new or changed
    removed: list[str] = field(default_factory=list)  # stale: no longer generated
    unchanged: int = 0

    @property
    def clean(self) -> bool:
        return not self.written and not self.removed


def sync_tree(files: Mapping[str, str], root: Path, *, check: bool = False, digests: Mapping[str, str] | None = None) -> WriteResult:
    """Make `root` hold exactly `files`. With check=True nothing is touched: the result says what would change.
    With `digests` (path → sha256 of the text), files on disk are compared by hash and a text is only read from
    `files` when it must be written: the no-op run restores nothing it does not need."""
    result = WriteResult()
    existing: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _IGNORED_PARTS]
        prefix = os.path.relpath(folder, root).replace(os.sep, "/")
        existing.update(name if prefix == "." else f"{prefix}/{name}" for name in names)
    for rel in sorted(files):
        if rel in existing:
            with open(os.path.join(root, rel), "rb") as handle:
                current = handle.read()
            same = hashlib.sha256(current).hexdigest() == digests[rel] if digests is not None else current == files[rel].encode("utf-8")
            if same:
                result.unchanged += 1
                continue
        result.written.append(rel)
    result.removed = sorted(existing.difference(files))
    if not check:
        # Every text first: one the cache cannot give back (cache.CacheDamaged) stops the run before any write.
        texts = {rel: files[rel].encode("utf-8") for rel in result.written}
        for rel, data in texts.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        for rel in result.removed:
            (root / rel).unlink(missing_ok=True)  # a `.tmp` left by an interrupted run may just have been used
        for folder, dirs, names in os.walk(root, topdown=False):  # deepest first
            if not _IGNORED_PARTS & set(Path(folder).parts) and not os.listdir(folder) and Path(folder) != root:
                os.rmdir(folder)
    return result
