"""The model catalogue, loaded once from the committed discovery snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Model:
    category: str
    subcategory: str
    # GenVR's inputJson (`schema` of the cache entry); None for models the snapshot has no schema for.
    schema: dict[str, Any] | None
    listed: bool  # in /api/models (False: only /api/get-models names it)
    name: str = ""
    description: str = ""

    @property
    def key(self) -> str:
        return f"{self.category}/{self.subcategory}"


class Catalog:
    """Raw discovery bodies plus a lookup of every model by (category, subcategory)."""

    def __init__(self, discovery_dir: Path) -> None:
        self.discovery_dir = discovery_dir
        # Served byte for byte: they are real responses (PowerShell-formatted, still valid JSON).
        self.models_body = (discovery_dir / "models.json").read_bytes()
        self.get_models_body = (discovery_dir / "get-models.json").read_bytes()
        models_doc = json.loads(self.models_body)
        get_models_doc = json.loads(self.get_models_body)
        self.models: dict[tuple[str, str], Model] = {}
        listed = {(m["category"], m["subcategory"]): m for m in models_doc["data"]}
        names = set(listed)
        for category, subs in get_models_doc["data"].items():
            names.update((category, sub) for sub in subs)
        for category, sub in sorted(names):
            entry = listed.get((category, sub), {})
            self.models[(category, sub)] = Model(category, sub, self._load_schema(category, sub), bool(entry),
                                                 str(entry.get("name", sub)), str(entry.get("description", "")))

    def _load_schema(self, category: str, subcategory: str) -> dict[str, Any] | None:
        path = self.discovery_dir / "schemas" / category / f"{subcategory}.json"
        if not path.is_file():
            return None
        entry = json.loads(path.read_text(encoding="utf-8"))
        schema = entry.get("schema")
        return schema if isinstance(schema, dict) else None

    def get(self, category: object, subcategory: object) -> Model | None:
        if not isinstance(category, str) or not isinstance(subcategory, str):
            return None
        return self.models.get((category, subcategory))

    @property
    def listed_models(self) -> list[Model]:
        return [m for m in self.models.values() if m.listed]


_CACHE: dict[Path, Catalog] = {}


def load_catalog(discovery_dir: Path) -> Catalog:
    """Catalogues are immutable; share one per directory (tests start many servers)."""
    key = discovery_dir.resolve()
    if key not in _CACHE:
        _CACHE[key] = Catalog(key)
    return _CACHE[key]
