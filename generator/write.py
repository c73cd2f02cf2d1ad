"""Format generated files with black (in-process) and write only what changed; drop files no longer made."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import black

BLACK_MODE = black.Mode(line_length=100, target_versions={black.TargetVersion.PY310})
# Files in generated/ that are never ours to manage.
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache"})


def format_python(source: str) -> str:
    return black.format_str(source, mode=BLACK_MODE)


def format_files(files: dict[str, str], workers: int = 2) -> dict[str, str]:
    """Black every .py file; in worker processes when there are many (black is pure-Python and CPU-bound)."""
    python = sorted(p for p in files if p.endswith(".py"))
    out = dict(files)
    if workers > 1 and len(python) > 50:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            formatted = list(pool.map(format_python, (files[p] for p in python), chunksize=16))
    else:
        formatted = [format_python(files[p]) for p in python]
    out.update(zip(python, formatted))
    return out


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)  # new or changed
    removed: list[str] = field(default_factory=list)  # stale: no longer generated
    unchanged: int = 0

    @property
    def clean(self) -> bool:
        return not self.written and not self.removed


def sync_tree(files: dict[str, str], root: Path, *, check: bool = False) -> WriteResult:
    """Make `root` hold exactly `files`. With check=True nothing is touched: the result says what would change."""
    result = WriteResult()
    for rel in sorted(files):
        path = root / rel
        data = files[rel].encode("utf-8")
        if path.is_file() and path.read_bytes() == data:
            result.unchanged += 1
            continue
        result.written.append(rel)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in files and not _IGNORED_PARTS & set(path.parts):
                result.removed.append(rel)
                if not check:
                    path.unlink()
        if not check:
            for path in sorted(root.rglob("*"), reverse=True):  # deepest first
                if path.is_dir() and not _IGNORED_PARTS & set(path.parts) and not any(path.iterdir()):
                    path.rmdir()
    return result
