"""Format generated Python: isort (DCG emits one import line per name, unsorted), then black, the formatter of record."""

from __future__ import annotations

from importlib.metadata import version

import black
import isort
from black.mode import TargetVersion

from .cache import cached_text

BLACK_VERSION = version("black")
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


def format_cached(item: tuple[str, str], use_cache: bool = True) -> tuple[str, str]:
    """(path, text) → (path, formatted text); black's output is cached by its exact input."""
    path, text = item
    if not path.endswith(".py"):
        return path, text
    key = ("black", BLACK_VERSION, isort.__version__, repr(BLACK_MODE), text)
    return path, cached_text(key, lambda: format_python(text), enabled=use_cache)
