"""The first half of `make regenerate`: live discovery → snapshot, and what changed.

Reads the live API, merges it into the snapshot (`generator/merge.py`: what a less detailed live dialect
keeps), writes the snapshot and `carried-over.json`, records new ComfyUI widget positions, classifies every
change (`generator/changes.py`) and prepends the report to `CHANGELOG.md`. Everything it writes lives in the
snapshot folder, so `generated/` stays a function of the snapshot alone.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .changes import ChangeReport, compare
from .discovery import DiscoveryError, DiscoverySource, SnapshotSource, write_snapshot
from .merge import Carried, merge_discovery
from .pipeline import build_specs
from . import name_registry
from .targets import comfyui_order
from .targets.python_package import CLIENT_ATTRIBUTES

CHANGELOG = "CHANGELOG.md"
CARRIED_OVER = "carried-over.json"
_CHANGELOG_HEAD = """\
# Discovery changes

What each `make regenerate` found, newest first; breaking changes first in each entry (see
`generator/changes.py` for the rule). No dates here: `git log -p discovery/CHANGELOG.md` has them.
"""
_CARRIED_ABOUT = (
    "Facts of the snapshot that the last `make regenerate` kept because the live `parameters` dialect has no "
    "key for them (see generator/merge.py). Per model: input name (or * for the model) → the facts kept."
)


def refresh(snapshot: Path, live: DiscoverySource) -> ChangeReport:
    old = SnapshotSource(snapshot).load() if (snapshot / "models.json").exists() else None
    fetched = live.load()
    if not fetched.models:  # an outage or a broken deploy: emptying the snapshot would drop every binding
        raise DiscoveryError(f"the live API lists no model ({len(fetched.refused)} entries unusable); {snapshot} is left as it was")
    merged, carried = merge_discovery(old, fetched)
    write_snapshot(merged, snapshot)
    write_carried_over(carried, snapshot / CARRIED_OVER)
    # Saved ComfyUI workflows store widget values by position: record new inputs (append-only).
    new_specs = build_specs(merged)
    added = comfyui_order.record(snapshot / comfyui_order.ORDER_FILE.name, new_specs.models)
    print(f"{comfyui_order.ORDER_FILE.name}: {added} input(s) added")
    # Names once given are kept for good: record the new models' names (append-only).
    named = name_registry.record(snapshot, [m.key for m in merged.models], CLIENT_ATTRIBUTES)
    report = dataclasses.replace(compare(build_specs(old).models if old else [], new_specs.models, new_specs.errors), named=named)
    if report.changes:
        prepend_changelog(snapshot / CHANGELOG, report)
    return report


def write_carried_over(carried: dict[str, Carried], path: Path) -> None:
    """One line per input (the file lists thousands of facts); removed when nothing was carried."""
    if not carried:
        path.unlink(missing_ok=True)
        return
    lines = ["{", f' "about": {json.dumps(_CARRIED_ABOUT)},', ' "models": {']
    for i, key in enumerate(sorted(carried)):
        facts = carried[key]
        inputs = [f"   {json.dumps(name, ensure_ascii=False)}: {json.dumps(facts[name], ensure_ascii=False)}" for name in sorted(facts)]
        lines += [f"  {json.dumps(key)}: {{", ",\n".join(inputs), "  }" + ("," if i < len(carried) - 1 else "")]
    lines += [" }", "}"]
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def prepend_changelog(path: Path, report: ChangeReport) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else _CHANGELOG_HEAD
    head, sep, older = existing.partition("\n## ")
    entry = report.markdown()
    path.write_text(f"{head.rstrip()}\n\n{entry}\n" + (f"\n## {older}" if sep else ""), encoding="utf-8")
