"""Where the model list and schemas come from: GenVR's discovery endpoints, or the committed snapshot.

Both sources return the same `Discovery`: the raw `GET /api/models` body and, per model, the raw body of
`GET /api/schema/:category/:subcategory` (None when GenVR publishes no schema). Nothing is interpreted here
beyond what is needed to list the models; `normalize` reads the schemas.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.genvrresearch.com"
# Category and subcategory become folder and file names of the snapshot: anything that could leave the snapshot
# folder or not be a file name is refused (for that model only). Quotes, spaces and unicode are fine here; the
# naming rules map them to identifiers.
_UNSAFE_SEGMENT = re.compile(r"[/\\\x00-\x1f\x7f]")
_MAX_SEGMENT_BYTES = 200


class DiscoveryError(RuntimeError):
    """The model list or a schema could not be read. The message names the model or file at fault."""


@dataclass(frozen=True)
class ModelEntry:
    """One entry of `GET /api/models`."""

    category: str
    subcategory: str
    name: str
    description: str

    @property
    def key(self) -> str:
        return f"{self.category}/{self.subcategory}"


@dataclass
class Discovery:
    """Everything discovery returned, as raw JSON documents."""

    models_document: dict[str, Any]
    schemas: dict[str, Any | None] = field(default_factory=dict)  # "category/subcategory" → raw body or None

    @property
    def models(self) -> list[ModelEntry]:
        return parse_model_list(self.models_document)[0]

    @property
    def refused(self) -> list[str]:
        """Entries of the model list that cannot be used, each named with its reason."""
        return parse_model_list(self.models_document)[1]


class DiscoverySource(Protocol):
    def load(self) -> Discovery: ...


def parse_models(document: Any, origin: str = "/api/models") -> list[ModelEntry]:
    """The usable models of the `/api/models` body, sorted by key (see `parse_model_list`)."""
    return parse_model_list(document, origin)[0]


def parse_model_list(document: Any, origin: str = "/api/models") -> tuple[list[ModelEntry], list[str]]:
    """The usable models of the `/api/models` body, sorted by key, and every unusable entry named with its reason.

    A body that is not a model list at all raises `DiscoveryError`; a bad entry only refuses itself.
    """
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DiscoveryError(f"{origin}: expected {{success, data: [...]}}, got {type(document).__name__}")
    if document.get("success") is False:
        raise DiscoveryError(f"{origin}: success=false: {document.get('message')!r}")
    entries: dict[str, ModelEntry] = {}
    refused: list[str] = []
    for i, item in enumerate(document["data"]):
        if not isinstance(item, dict):
            refused.append(f"{origin}: data[{i}]: not an object")
            continue
        category, subcategory = item.get("category"), item.get("subcategory")
        shown = f"{_shown(category)}/{_shown(subcategory)}"
        problems = [f"{label} {why}" for label, value in (("category", category), ("subcategory", subcategory)) if (why := _segment_problem(value))]
        if problems:
            refused.append(f"{origin}: data[{i}] {shown}: unusable " + "; ".join(problems))
            continue
        assert isinstance(category, str) and isinstance(subcategory, str)
        name = item.get("name")
        description = item.get("description")
        entry = ModelEntry(
            category=category,
            subcategory=subcategory,
            name=name if isinstance(name, str) and name.strip() else subcategory,
            description=description if isinstance(description, str) else "",
        )
        if entry.key in entries:
            refused.append(f"{origin}: data[{i}] {shown}: model listed twice (the first entry is kept)")
            continue
        entries[entry.key] = entry
    return [entries[k] for k in sorted(entries)], refused


def _segment_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"is not a string ({type(value).__name__})"
    if not value.strip() or value in (".", ".."):
        return f"{value!r} is not a name"
    if _UNSAFE_SEGMENT.search(value):
        return f"{value!r} contains a path separator or a control character"
    if len(value.encode("utf-8", "surrogatepass")) > _MAX_SEGMENT_BYTES:
        return f"is longer than {_MAX_SEGMENT_BYTES} bytes"
    if re.search("[\ud800-\udfff]", value):
        return f"{_shown(value)!r} is not valid Unicode"
    return None


def _shown(value: Any) -> str:
    """A name as the console shows it: escapes for backslashes and control characters."""
    text = value if isinstance(value, str) else repr(value)
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() or "\\" in text else text


# ---------------------------------------------------------------------------------------------------------------
# Snapshot: discovery/models.json and discovery/schemas/<category>/<subcategory>.json


@dataclass(frozen=True)
class SnapshotSource:
    folder: Path

    def load(self) -> Discovery:
        models_path = self.folder / "models.json"
        document = _read_json(models_path)
        discovery = Discovery(models_document=document)
        for entry in parse_models(document, origin=str(models_path)):
            path = schema_path(self.folder, entry)
            discovery.schemas[entry.key] = _read_json(path) if path.exists() else None
        return discovery


def schema_path(folder: Path, entry: ModelEntry) -> Path:
    return folder / "schemas" / entry.category / f"{entry.subcategory}.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))  # GenVR's own files came with a BOM
    except FileNotFoundError:
        raise DiscoveryError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise DiscoveryError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise DiscoveryError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def write_snapshot(discovery: Discovery, folder: Path) -> None:
    """Replace the snapshot with `discovery` (raw bodies, stable formatting); schema files of gone models go."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "models.json", discovery.models_document)
    keep: set[Path] = set()
    for entry in discovery.models:
        body = discovery.schemas.get(entry.key)
        if body is not None:
            path = schema_path(folder, entry)
            _write_json(path, body)
            keep.add(path)
    for path in sorted((folder / "schemas").glob("*/*.json")):
        if path not in keep:
            path.unlink()
    for sub in (folder / "schemas").glob("*"):
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()


def _write_json(path: Path, document: Any) -> None:
    """Files whose content is unchanged keep their bytes (GenVR's own formatting, BOMs): a refresh that
    finds nothing new rewrites nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if path.exists():
        current = path.read_text(encoding="utf-8-sig")
        if current == text or _same_json(current, document):
            return
    path.write_text(text, encoding="utf-8")


def _same_json(text: str, document: Any) -> bool:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return False
    canonical = partial(json.dumps, sort_keys=True, ensure_ascii=False)  # tells 1 from 1.0 and true from 1
    return bool(canonical(parsed) == canonical(document))


# ---------------------------------------------------------------------------------------------------------------
# Live API


@dataclass(frozen=True)
class HttpSource:
    """Reads discovery from a GenVR base URL: bounded concurrency, timeouts, retries with backoff."""

    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 8
    timeout: float = 15.0
    max_retries: int = 4
    backoff_base: float = 0.5
    transport: httpx.AsyncBaseTransport | None = None  # tests inject a mock transport

    def load(self) -> Discovery:
        import asyncio  # here: a snapshot run never needs it

        return asyncio.run(self.load_async())

    async def load_async(self) -> Discovery:
        base = self.base_url.rstrip("/")
        import asyncio

        import httpx  # only a live refresh needs it

        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits, transport=self.transport) as client:
            document = await self._get_json(client, f"{base}/api/models", what="/api/models")
            discovery = Discovery(models_document=document)
            semaphore = asyncio.Semaphore(self.concurrency)

            async def fetch(entry: ModelEntry) -> None:
                url = f"{base}/api/schema/{quote(entry.category, safe='')}/{quote(entry.subcategory, safe='')}"
                async with semaphore:
                    discovery.schemas[entry.key] = await self._get_json(
                        client, url, what=f"schema of {entry.key}", missing_ok=True
                    )

            results = await asyncio.gather(*(fetch(e) for e in discovery.models), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                lines = "\n  ".join(str(f) for f in failures)
                raise DiscoveryError(f"{len(failures)} schema(s) could not be read:\n  {lines}")
            return discovery

    async def _get_json(
        self, client: httpx.AsyncClient, url: str, *, what: str, missing_ok: bool = False
    ) -> Any:
        import asyncio

        import httpx

        last = ""
        retry_after: float | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 404 and missing_ok:
                return None  # GenVR publishes no schema for this model
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
                continue
            if response.status_code >= 400:
                raise DiscoveryError(f"{what}: HTTP {response.status_code} from {url}")
            try:
                return response.json()
            except ValueError:
                raise DiscoveryError(f"{what}: reply from {url} is not JSON") from None
        raise DiscoveryError(f"{what}: gave up after {self.max_retries + 1} attempts ({last})")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 60.0)
        return self.backoff_base * 2.0 ** (attempt - 1) * (0.5 + random.random() / 2)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
