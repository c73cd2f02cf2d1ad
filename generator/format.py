"""Format generated Python: isort (DCG emits one import line per name, unsorted), then black, the formatter of record."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from .cache import cached_text

if TYPE_CHECKING:
    import black
    import isort


# black and isort are imported on first use: a run whose every text is cached never loads them.
@cache
def black_mode() -> black.Mode:
    import black
    from black.mode import TargetVersion

    return black.Mode(line_length=100, target_versions={TargetVersion.PY310})


@cache
def isort_config() -> isort.Config:
    import isort

    # Explicit sections, so the result never depends on the folder the generator runs from.
    return isort.Config(
        profile="black",
        line_length=100,
        known_first_party=["genvr", "genvr_runtime"],
        known_third_party=["pydantic", "httpx"],
        src_paths=(),
    )


def format_python(source: str, *, sort_imports: bool = True) -> str:
    """`sort_imports=False` for text whose imports a template already writes in isort's order (tested)."""
    import black

    if sort_imports:
        import isort

        source = isort.code(source, config=isort_config())
    return black.format_str(source, mode=black_mode())


def format_cached(item: tuple[str, str], use_cache: bool = True, *, code: str, sort_imports: bool = True) -> tuple[str, str]:
    """(path, text) → (path, formatted text), cached by its exact input and `code` (`fingerprint.code()`: the
    formatting step is generator code, its settings included)."""
    path, text = item
    if not path.endswith(".py"):
        return path, text
    key = ("format", code, str(sort_imports), text)
    return path, cached_text(key, lambda: format_python(text, sort_imports=sort_imports), enabled=use_cache)
