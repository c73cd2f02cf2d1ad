"""discovery → normalize → render → format → write: the generator's one pipeline.

Models are independent: a model that cannot be generated (an unusable list entry, a schema that cannot be
translated, a non-finite number, inputs no target can lay out) is refused on its own, named with its reason;
every other model is still generated (with `--skip-invalid`; without it nothing is written and every refusal is
listed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from typing import TYPE_CHECKING

from . import cache, replay
from .discovery import Discovery, DiscoverySource, SnapshotSource

if TYPE_CHECKING:
    from .normalize import ModelSpec, SchemaError
    from .targets.comfyui_pack import PlannedNode
    from .targets.python_package import PlannedModel
from .write import WriteResult, sync_tree


class GenerationError(RuntimeError):
    """Models that could not be generated; every one is listed."""


@dataclass
class Specs:
    models: list[ModelSpec] = field(default_factory=list)
    errors: list[SchemaError] = field(default_factory=list)
    refused_entries: list[str] = field(default_factory=list)  # model-list entries that name no usable model

    @property
    def refused(self) -> list[str]:
        """Every refused model with its reason, sorted."""
        return sorted([*self.refused_entries, *(str(e) for e in self.errors)])


@dataclass
class GenerateResult(WriteResult):
    refused: list[str] = field(default_factory=list)


def build_specs(discovery: Discovery, *, code: str | None = None) -> Specs:
    """Normalize every model; errors are collected so one run reports all of them. With `code`
    (`fingerprint.code()`), a model's normalized spec is cached by its exact discovery data."""
    from . import normalize

    specs = Specs(refused_entries=discovery.refused)
    for entry in discovery.models:
        raw = discovery.schemas.get(entry.key)
        key = cache.key("spec", code, json.dumps([entry.category, entry.subcategory, entry.name, entry.description, raw])) if code else None
        spec = _cached_spec(key) if key else None
        if spec is None:
            try:
                _refuse_non_finite(entry.key, raw)
                spec = normalize.normalize_model(
                    category=entry.category,
                    subcategory=entry.subcategory,
                    display_name=entry.name,
                    description=entry.description,
                    raw_schema=raw,
                )
                _check_targets(spec)
            except normalize.SchemaError as exc:
                specs.errors.append(exc)  # not cached: refusals are rare and cheap to find again
                continue
            if key:
                cache.store_entry(key, json.dumps(dataclasses.asdict(spec)))
        specs.models.append(spec)
    return specs


def _cached_spec(key: str) -> ModelSpec | None:
    from .normalize import spec_from_data

    text = cache.cached_entry(key)
    try:
        return spec_from_data(json.loads(text)) if text is not None else None
    except (ValueError, TypeError, KeyError):  # written by another version of ModelSpec: normalize again
        return None


def _refuse_non_finite(key: str, doc: Any, path: str = "") -> None:
    """JSON has no infinities or NaN, but `1e400`, `NaN` and `Infinity` parse as such; no target can state them."""
    if isinstance(doc, float) and not math.isfinite(doc):
        from .normalize import SchemaError

        field_name = path.split(".")[2] if path.startswith(".properties.") else None
        raise SchemaError(key, f"non-finite number {doc!r} at {path.lstrip('.') or 'the top level'}", field_name)
    if isinstance(doc, dict):
        for k, v in doc.items():
            _refuse_non_finite(key, v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _refuse_non_finite(key, v, f"{path}[{i}]")


def _check_targets(spec: ModelSpec) -> None:
    """Per-model target checks that would otherwise stop the whole run: raised here, they refuse one model."""
    from .normalize import SchemaError
    from .targets import comfyui_widgets

    try:
        comfyui_widgets.model_inputs(spec)
    except ValueError as exc:
        raise SchemaError(spec.key, f"ComfyUI node: {exc}") from None
    except Exception as exc:  # a generator bug met by this schema: refuse the model, keep generating the others
        raise SchemaError(spec.key, f"ComfyUI node: internal error {type(exc).__name__}: {exc} (please report)") from None


@dataclass(frozen=True)
class ModelUnit:
    """What a model's own files are made from; they depend on nothing else (it is their cache key)."""

    model: PlannedModel
    node: PlannedNode  # as the docs show it
    pack_node: PlannedNode  # as the node pack lays it out (widget positions from the order file)


def render_all(specs: Specs, *, workers: int = 2, use_cache: bool = True, snapshot_dir: Path | None = None, code: str | None = None) -> cache.RecordedFiles:
    """Every generated file, formatted, by path relative to generated/ (the texts of unchanged models stay in
    the cache, read only if generated/ lacks them).

    A model's own files (input class, method module, tool specs, node file, reference page) are cached under a
    hash of everything they depend on, so only new or changed models meet DCG and black; the rest are small
    indexes over the model list, rendered each time.
    """
    from . import fingerprint, name_registry, output_kinds, report
    from .format import format_cached
    from .targets import comfyui_pack, docs, llm_tools, python_package

    categories = python_package.plan(specs.models, name_registry.load(name_registry.path_for(snapshot_dir)))
    doc_planned = comfyui_pack.plan_nodes(categories, {})
    doc_nodes = [n for _, nodes in doc_planned for n in nodes]
    pack_nodes = [n for _, nodes in comfyui_pack.ordered_nodes(categories, snapshot_dir) for n in nodes]
    models = [m for c in categories for m in c.models]
    units = [ModelUnit(*parts) for parts in zip(models, doc_nodes, pack_nodes)]
    code = code or fingerprint.code()
    files: dict[str, str] = {}
    recorded: dict[str, str] = {}  # path → digest of a text left in the cache (see cache.RecordedFiles)
    missing: list[tuple[str, ModelUnit]] = []
    for unit in units:
        key = cache.key("model", code, repr(unit))
        hit = cache.load_files(key) if use_cache else None
        if hit is None:
            missing.append((key, unit))
        else:
            recorded.update(hit[0].digests)
    # DCG and black are CPU-bound (and DCG holds a process-wide lock): spread them over processes, one batch of
    # models per process (DCG's set-up is per run), started before the indexes are rendered here.
    chunks = [missing[i::workers] for i in range(workers)] if workers > 1 and len(missing) > 20 else [missing]
    if len(chunks) > 1:
        from concurrent.futures import ProcessPoolExecutor  # not loaded by a run that remakes a model or two
    pool = ProcessPoolExecutor(max_workers=workers) if len(chunks) > 1 else None
    with pool or contextlib.nullcontext():
        make = partial(_model_files, code=code, use_cache=use_cache)
        made_later = [pool.submit(make, [u for _, u in chunk]) for chunk in chunks] if pool else []
        others = python_package.render_package(categories)
        others.update(llm_tools.index_files(categories))
        others.update(comfyui_pack.index_files(categories))
        # What depends on no model (the pack's hand-written modules and runtime copy) is cached by the code alone.
        static_key = cache.key("static", code)
        static = cache.load_files(static_key) if use_cache else None
        if static is None:
            static_files = comfyui_pack.static_files()
            others.update(static_files)
        else:
            recorded.update(static[0].digests)
        others.update(docs.render_indexes(categories, doc_planned))
        others[f"{python_package.PACKAGE}/output_kinds.py"] = output_kinds.render_module(specs.models)
        others["REPORT.md"] = report.generation_report(specs.models, specs.refused)
        python = sorted((path, text) for path, text in others.items() if path.endswith(".py"))
        files.update((path, text) for path, text in others.items() if not path.endswith(".py"))  # JSON, TOML...: as rendered
        format_work = partial(format_cached, use_cache=use_cache, code=code)
        formatted = list(map(format_work, python))  # here, while the workers run
        made = [f.result() for f in made_later] if pool else [make([u for _, u in chunk]) for chunk in chunks]
    for chunk, chunk_files in zip(chunks, made):
        for (key, _), model_files in zip(chunk, chunk_files):
            if use_cache:
                cache.store_files(key, model_files)
            files.update(model_files)
    files.update(formatted)
    if static is None and use_cache:
        cache.store_files(static_key, {path: files[path] for path in static_files})
    if use_cache and len(missing) > cache.PRUNE_AFTER_MODELS:  # only such a run adds much to the cache
        cache.prune()
    return cache.RecordedFiles(dict(sorted(recorded.items())), dict(sorted(files.items())))


def _model_files(units: list[ModelUnit], *, code: str, use_cache: bool) -> list[dict[str, str]]:
    """The formatted files of each model that depend on it alone; runs in worker processes. DCG and black are
    cached by their exact input too: a model that changed only where one file shows it reruns neither for the
    others (a new description: no DCG, no black on its input class)."""
    from .format import format_cached
    from .targets import comfyui_pack, docs, llm_tools, python_package

    inputs = python_package.input_modules([u.model for u in units], code=code if use_cache else None)
    out = []
    for u in units:
        m = u.model
        method = python_package.model_files(m)  # its imports come in isort's order (test_generation_cost)
        files = {
            m.path: inputs[m.path],
            **method,
            **llm_tools.model_files(m),
            **comfyui_pack.model_files(m, u.pack_node),
            **docs.model_files(m, u.node),
        }
        out.append(dict(format_cached(item, use_cache, code=code, sort_imports=item[0] not in method) for item in files.items()))
    return out


def generate(
    source: DiscoverySource,
    out_dir: Path,
    *,
    check: bool = False,
    skip_invalid: bool = False,
    workers: int = 2,
    use_cache: bool = True,
) -> GenerateResult:
    """Render and write generated/; `refused` lists the models left out (only possible with skip_invalid).
    Runs into one folder take turns: the second waits, then finds the first's run recorded."""
    with _one_run_at_a_time(out_dir):
        return _generate(source, out_dir, check=check, skip_invalid=skip_invalid, workers=workers, use_cache=use_cache)


@contextlib.contextmanager
def _one_run_at_a_time(out_dir: Path) -> Iterator[None]:
    """An exclusive lock per output folder, kept in the cache folder (nothing added to generated/). Without a
    writable cache folder there is no lock: such a checkout is not written by two runs at once in practice."""
    from filelock import FileLock

    path = cache.CACHE_DIR / "locks" / f"{cache.key(str(out_dir.resolve()))}.lock"
    lock: FileLock | None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path))
        lock.acquire()
    except OSError:
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def _generate(source: DiscoverySource, out_dir: Path, *, check: bool, skip_invalid: bool, workers: int, use_cache: bool) -> GenerateResult:
    snapshot_dir = source.folder if isinstance(source, SnapshotSource) else None
    run = replay.lookup(snapshot_dir) if use_cache and snapshot_dir is not None else None
    code: str | None = None
    files: cache.RecordedFiles
    if run is not None and run.files is not None:
        files, warnings, refused = run.files, list(run.warnings), list(run.refused)
    else:
        from . import fingerprint, report

        code = fingerprint.code()
        specs = build_specs(source.load(), code=code if use_cache else None)
        warnings, refused = report.console_warnings(specs.models), specs.refused
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if refused and not skip_invalid:
        lines = "\n  ".join(refused)
        raise GenerationError(
            f"{len(refused)} model(s) cannot be generated (rerun with --skip-invalid to generate the others):\n  {lines}"
        )
    if run is None or run.files is None:
        if not specs.models:  # an empty package would replace every binding (an outage listing nothing, say)
            where = snapshot_dir or "the discovery data"
            raise GenerationError(f"no model to generate: {where} lists {'only refused models' if refused else 'none'}")
        files = render_all(specs, workers=workers, use_cache=use_cache, snapshot_dir=snapshot_dir, code=code)
        if run is not None:
            run.record(files, warnings, refused)
    try:
        written = sync_tree(files, out_dir, check=check, digests=files.digests)
    except cache.CacheDamaged:
        # A recorded text is damaged (deleted now; nothing was written): make every file afresh, not trusting
        # the cache's other records, and record them.
        files = render_all(build_specs(source.load()), workers=workers, use_cache=False, snapshot_dir=snapshot_dir)
        if run is not None:
            run.record(files, warnings, refused)
        written = sync_tree(files, out_dir, check=check, digests=files.digests)
    return GenerateResult(written=written.written, removed=written.removed, unchanged=written.unchanged, refused=refused)
