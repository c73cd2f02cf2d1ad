"""Format generated Python: isort (DCG emits one import line per name, unsorted), then black, the formatter of record."""

from __future__ import annotations

import black
import isort
from black.mode import TargetVersion

from .cache import cached_text

BLACK_MODE = black.Mode(line_length=100, target_versions={TargetVersion.PY310})

# Explicit sections, so the result never depends on the folder the generator runs from.
ISORT_CONFIG = isort.Config(
    profile="black",
    line_length=100,
    known_first_party=["genvr", "genvr_runtime"],
    known_third_party=["pydantic", "httpx"],
    src_paths=(),
)


def format_python(source: str, *, sort_imports: bool = True) -> str:
    """`sort_imports=False` for text whose imports a template already writes in isort's order (tested)."""
    return black.format_str(isort.code(source, config=ISORT_CONFIG) if sort_imports else source, mode=BLACK_MODE)


def format_cached(item: tuple[str, str], use_cache: bool = True, *, code: str) -> tuple[str, str]:
    """(path, text) → (path, formatted text), cached by its exact input and `code` (`fingerprint.code()`: the
    formatting step is generator code, its settings included)."""
    path, text = item
    if not path.endswith(".py"):
        return path, text
    key = ("format", code, text)
    return path, cached_text(key, lambda: format_python(text), enabled=use_cache)
