"""Format generated files with black (in-process) and write only what changed; drop files no longer made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from importlib.metadata import version

import black
import isort
from black.mode import TargetVersion

from .cache import cached_text

BLACK_VERSION = version("black")
BLACK_MODE = black.Mode(line_length=100, target_versions={TargetVersion.PY310})
# Files in generated/ that are never ours to manage.
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache"})


# Explicit sections, so the result never depends on the folder the generator runs from.
ISORT_CONFIG = isort.Config(
    profile="black",
    line_length=100,
    known_first_party=["genvr", "genvr_runtime"],
    known_third_party=["pydantic", "httpx"],
    src_paths=(),
)


def format_python(source: str) -> str:
    """isort (DCG emits one import line per name, unsorted), then black."""
    return black.format_str(isort.code(source, config=ISORT_CONFIG), mode=BLACK_MODE)


def format_cached(item: tuple[str, str], use_cache: bool = True) -> tuple[str, str]:
    """(path, text) → (path, formatted text); black's output is cached by its exact input."""
    path, text = item
    if not path.endswith(".py"):
        return path, text
    key = ("black", BLACK_VERSION, isort.__version__, repr(BLACK_MODE), text)
    return path, cached_text(key, lambda: format_python(text), enabled=use_cache)


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
