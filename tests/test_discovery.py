"""Discovery sources: the live API (over a mock transport here; over the simulator in test_simulator_*) and
the snapshot, behind one interface; and the change report `make regenerate` prints."""

from __future__ import annotations

import asyncio
import re
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from generator.changes import compare
from generator.discovery import DiscoveryError, HttpSource, SnapshotSource, parse_model_list, parse_models, write_snapshot
from generator.pipeline import build_specs
from generator_helpers import SNAPSHOT


class FakeGenVR:
    """Serves the committed snapshot over a mock transport, with scripted failures."""

    def __init__(self, failures: dict[str, list[int]] | None = None) -> None:
        self.snapshot = SnapshotSource(SNAPSHOT).load()
        self.failures = failures or {}
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] = self.calls.get(path, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            scripted = self.failures.get(path)
            if scripted:
                status = scripted.pop(0)
                return httpx.Response(status, headers={"Retry-After": "0"}, text="busy")
            if path == "/api/models":
                return httpx.Response(200, json=self.snapshot.models_document)
            _, _, _, category, subcategory = path.split("/")
            body = self.snapshot.schemas.get(f"{category}/{subcategory}")
            if body is None:
                return httpx.Response(404, json={"success": False, "message": "Schema not found"})
            return httpx.Response(200, json=body)
        finally:
            self.in_flight -= 1


def source(fake: FakeGenVR, **kw: Any) -> HttpSource:
    return HttpSource(base_url="http://genvr.test", transport=httpx.MockTransport(fake.handler), backoff_base=0.001, **kw)


def test_live_source_reads_every_model_with_bounded_concurrency() -> None:
    fake = FakeGenVR()
    discovery = source(fake, concurrency=4).load()
    assert discovery.models_document == fake.snapshot.models_document
    assert discovery.schemas == fake.snapshot.schemas  # 286 schemas, 5 None (404)
    assert sum(v is None for v in discovery.schemas.values()) == 5
    assert 1 < fake.max_in_flight <= 4


def test_live_source_retries_429_and_5xx_then_succeeds() -> None:
    fake = FakeGenVR({"/api/models": [503, 429], "/api/schema/imagegen/flux_dev": [500, 502, 429]})
    discovery = source(fake).load()
    assert fake.calls["/api/models"] == 3 and fake.calls["/api/schema/imagegen/flux_dev"] == 4
    assert discovery.schemas["imagegen/flux_dev"] == fake.snapshot.schemas["imagegen/flux_dev"]


def test_live_source_names_the_model_whose_schema_failed() -> None:
    fake = FakeGenVR({"/api/schema/imagegen/flux_dev": [500] * 10, "/api/schema/videogen/kling1_6_pro": [403]})
    with pytest.raises(DiscoveryError) as info:
        source(fake, max_retries=2).load()
    text = str(info.value)
    assert "2 schema(s) could not be read" in text
    assert "schema of imagegen/flux_dev: gave up after 3 attempts (HTTP 500)" in text
    assert "schema of videogen/kling1_6_pro: HTTP 403" in text


def test_connection_errors_are_retried_and_reported() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DiscoveryError, match=r"/api/models: gave up after 2 attempts \(ConnectError"):
        HttpSource(base_url="http://genvr.test", transport=httpx.MockTransport(refuse), max_retries=1, backoff_base=0.001).load()


@pytest.mark.parametrize("document, message", [
    ({"success": True}, "expected {success, data: [...]}"),
    ({"success": False, "data": [], "message": "down"}, "success=false"),
])
def test_a_body_that_is_no_model_list_is_refused(document: Any, message: str) -> None:
    with pytest.raises(DiscoveryError, match=re.escape(message)):
        parse_models(document)


def test_a_bad_entry_refuses_only_itself_and_every_one_is_named() -> None:
    document = {"data": [
        {"category": "../etc", "subcategory": "x"},
        {"category": "imagegen", "subcategory": "a/b"},
        {"category": "imagegen", "subcategory": "x"},
        {"category": "imagegen", "subcategory": "x"},
        "nope",
        {"category": "imagegen", "subcategory": "it's \"ü\""},
    ]}
    entries, refused = parse_model_list(document)
    assert [e.key for e in entries] == ["imagegen/it's \"ü\"", "imagegen/x"]  # quotes and unicode are mapped later
    assert [r.split(": ", 1)[1] for r in refused] == [
        "data[0] ../etc/x: unusable category '../etc' contains a path separator or a control character",
        "data[1] imagegen/a/b: unusable subcategory 'a/b' contains a path separator or a control character",
        "data[3] imagegen/x: model listed twice (the first entry is kept)",
        "data[4]: not an object",
    ]


def test_snapshot_round_trip_and_stale_schemas_removed(tmp_path: Path) -> None:
    fake = FakeGenVR()
    fresh = source(fake).load()
    folder = tmp_path / "discovery"
    shutil.copytree(SNAPSHOT, folder)
    (folder / "schemas" / "imagegen" / "gone_model.json").write_text("{}")
    write_snapshot(fresh, folder)
    assert not (folder / "schemas" / "imagegen" / "gone_model.json").exists()
    again = SnapshotSource(folder).load()
    assert again.models_document == fresh.models_document and again.schemas == fresh.schemas


def test_snapshot_errors_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "discovery"
    shutil.copytree(SNAPSHOT, folder)
    (folder / "schemas" / "imagegen" / "flux_dev.json").write_text('{"name": "imagegen/flux_dev",\n "schema": {,}}')
    with pytest.raises(DiscoveryError, match=r"flux_dev.json: invalid JSON at line 2"):
        SnapshotSource(folder).load()


def test_change_report_lists_breaking_changes_first() -> None:
    before = SnapshotSource(SNAPSHOT).load()
    after = SnapshotSource(SNAPSHOT).load()
    after.models_document = json.loads(json.dumps(before.models_document))
    after.models_document["data"] = [m for m in after.models_document["data"] if m["subcategory"] != "trellis"]
    after.models_document["data"].append({"category": "imagegen", "subcategory": "flux2_dev", "name": "Flux 2 Dev"})
    after.schemas["imagegen/flux2_dev"] = {"type": "object", "properties": {"prompt": {"type": "string"}}}
    flux = json.loads(json.dumps(after.schemas["imagegen/flux_dev"]))
    flux["schema"]["properties"]["guidance"]["maximum"] = 12
    flux["schema"]["properties"]["lora"] = {"type": "string"}
    del flux["schema"]["properties"]["seed"]
    after.schemas["imagegen/flux_dev"] = flux
    text = compare(build_specs(before).models, build_specs(after).models).text()
    assert text.splitlines() == [
        "models: 291 → 291",
        "BREAKING (3):",
        "  3dgen/trellis: model removed",
        "  imagegen/flux_dev.guidance: maximum none → 12",
        "  imagegen/flux_dev.seed: input removed",
        "additive (2):",
        "  imagegen/flux2_dev: model added",
        "  imagegen/flux_dev.lora: new optional input",
    ]
    assert compare(build_specs(before).models, build_specs(before).models).text().endswith("no change")


def test_a_schema_that_can_no_longer_be_translated_is_named_as_such() -> None:
    before = SnapshotSource(SNAPSHOT).load()
    after = SnapshotSource(SNAPSHOT).load()
    flux = json.loads(json.dumps(after.schemas["imagegen/flux_dev"]))
    flux["schema"]["properties"]["guidance"]["minimum"] = 20
    flux["schema"]["properties"]["guidance"]["maximum"] = 10
    after.schemas["imagegen/flux_dev"] = flux
    new = build_specs(after)
    [change] = compare(build_specs(before).models, new.models, new.errors).breaking
    assert change.line() == "imagegen/flux_dev: schema cannot be translated any more: imagegen/flux_dev.guidance: minimum 20 is greater than maximum 10"
