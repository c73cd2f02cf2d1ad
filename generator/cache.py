"""A content-addressed cache of generated text, so regenerating unchanged models skips DCG and black.

The key covers everything the text depends on (tool versions, options, the input), so a hit is always
what a fresh run would produce; `generate --no-cache` proves it in the tests.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

CACHE_DIR = Path(os.environ.get("GENVR_GENERATOR_CACHE", Path(__file__).resolve().parent.parent / ".cache" / "generator"))


def cached_text(parts: tuple[str, ...], compute: Callable[[], str], *, enabled: bool = True) -> str:
    if not enabled:
        return compute()
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    path = CACHE_DIR / digest[:2] / digest
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    text = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{digest}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only checkout still generates, just without the cache
    return text
