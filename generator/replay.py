"""The no-op run. A snapshot generated before by this very generator (same code, templates, runtime and tool
versions: `fingerprint`) has its files, warnings and refusals recorded in the cache; they are restored without
importing datamodel-code-generator, black, Jinja or the runtime's dependencies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import cache, fingerprint


@dataclass
class Run:
    key: str
    files: cache.RecordedFiles | None = None  # None: not recorded, generate it
    warnings: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    def record(self, files: Mapping[str, str], warnings: list[str], refused: list[str]) -> None:
        cache.store_files(self.key, files, warnings=warnings, refused=refused)


def lookup(snapshot_dir: Path) -> Run:
    run = Run(cache.key("run", fingerprint.run(snapshot_dir)))
    recorded = cache.load_files(run.key)
    if recorded is not None:
        files, extra = recorded
        warnings, refused = extra.get("warnings"), extra.get("refused")
        if isinstance(warnings, list) and isinstance(refused, list):
            run.files, run.warnings, run.refused = files, tuple(map(str, warnings)), tuple(map(str, refused))
    return run
