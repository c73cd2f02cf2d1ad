"""What generated/ depends on, as one hash: the generator's code and templates, the runtime it vendors into the
node pack, the pinned tools' versions, the project file, and (for a run) the snapshot and the options.

The same hash means the same output, so a run whose hash was seen before restores the recorded files without
importing datamodel-code-generator, black or Jinja: that is the no-op regeneration.
"""

from __future__ import annotations

import hashlib
import sys
from importlib.metadata import version
from pathlib import Path

import genvr_runtime

GENERATOR_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = GENERATOR_DIR.parent / "templates"  # as generator.render reads them (a wheel: genvr_bindings/templates)
RUNTIME_DIR = Path(genvr_runtime.__file__).resolve().parent
PROJECT_FILE = GENERATOR_DIR.parent / "pyproject.toml"  # the repository URL the pack's metadata copies
# Their versions decide the bytes of generated/ (pinned in pyproject.toml).
TOOLS = ("datamodel-code-generator", "black", "isort", "jinja2", "pydantic")
_SKIPPED = frozenset({"__pycache__"})  # of the code trees only


def _add_tree(digest: hashlib._Hash, root: Path, skipped: frozenset[str] = frozenset()) -> None:
    """Every file under `root` but those in a folder named in `skipped` (below `root`: where it lives is no matter)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not skipped & set(p.relative_to(root).parts)):
        digest.update(f"\0{path.relative_to(root).as_posix()}\0".encode("utf-8", "surrogateescape"))
        digest.update(path.read_bytes())


def code() -> str:
    """The hash of everything but the model data."""
    digest = hashlib.sha256(f"python {sys.version_info[:2]}".encode())
    for tool in TOOLS:
        digest.update(f"\0{tool}={version(tool)}".encode())
    for root in (GENERATOR_DIR, TEMPLATES_DIR, RUNTIME_DIR):
        digest.update(f"\0tree {root.name}".encode())
        _add_tree(digest, root, _SKIPPED)
    if PROJECT_FILE.is_file():
        digest.update(PROJECT_FILE.read_bytes())
    return digest.hexdigest()


def run(snapshot_dir: Path, *options: str) -> str:
    """The hash of a whole `generate` run from a snapshot folder."""
    digest = hashlib.sha256(code().encode())
    digest.update("\0".join(options).encode())
    _add_tree(digest, snapshot_dir)  # every file: a category may be named __pycache__
    return digest.hexdigest()
