"""`python -m generator generate|regenerate`: the commands behind `make generate` and `make regenerate`.

Exit codes: 0 generated (or up to date with --check); 1 --check found generated/ stale; 2 nothing written (an
error, or models that cannot be generated without --skip-invalid; every one is listed); 3 generated with
refusals (--skip-invalid left out the models listed on stderr and in REPORT.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from generator import name_registry
from generator.discovery import DEFAULT_BASE_URL, DiscoveryError, HttpSource, SnapshotSource, write_snapshot
from generator.pipeline import GenerationError, build_specs, generate
from generator.report import change_report
from generator.targets import comfyui_order
from generator.targets.python_package import CLIENT_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
EXIT_STALE = 1
EXIT_ERROR = 2
EXIT_REFUSALS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="render generated/ from the snapshot (offline)")
    gen.add_argument("--check", action="store_true", help="change nothing; exit 1 if generated/ is stale")
    regen = sub.add_parser("regenerate", help="refresh the snapshot from the live API, then generate")
    regen.add_argument("--base-url", default=os.environ.get("GENVR_BASE_URL", DEFAULT_BASE_URL))
    regen.add_argument("--concurrency", type=int, default=8)
    regen.set_defaults(check=False)
    for p in (gen, regen):
        p.add_argument("--snapshot", type=Path, default=ROOT / "discovery", help="discovery snapshot folder")
        p.add_argument("--out", type=Path, default=ROOT / "generated", help="output folder")
        p.add_argument("--skip-invalid", action="store_true", help="leave out models whose schema cannot be translated")
        p.add_argument("--no-cache", action="store_true", help="render every file afresh (ignore .cache/generator)")
        p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for the per-model work")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        if args.command == "regenerate":
            old = build_specs(SnapshotSource(args.snapshot).load()).models if (args.snapshot / "models.json").exists() else []
            print(f"reading discovery from {args.base_url} ...")
            fresh = HttpSource(base_url=args.base_url, concurrency=args.concurrency).load()
            write_snapshot(fresh, args.snapshot)
            # Saved ComfyUI workflows store widget values by position: record new inputs (append-only).
            comfyui_order.main(["--snapshot", str(args.snapshot)])
            # Names once given are kept for good: record the new models' names (append-only).
            added = name_registry.record(args.snapshot, [m.key for m in fresh.models], CLIENT_ATTRIBUTES)
            print(f"{name_registry.REGISTRY_FILE.name}: {added} model(s) named")
            print(change_report(old, build_specs(fresh).models))
        result = generate(
            SnapshotSource(args.snapshot),
            args.out,
            check=args.check,
            skip_invalid=args.skip_invalid,
            workers=args.workers,
            use_cache=not args.no_cache,
        )
    except (DiscoveryError, GenerationError, name_registry.RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    elapsed = time.perf_counter() - started
    if result.refused:
        lines = "\n  ".join(result.refused)
        print(f"refused {len(result.refused)} model(s), every other model generated (see REPORT.md):\n  {lines}", file=sys.stderr)
    if args.check:
        if not result.clean:
            print(f"generated/ is stale: {len(result.written)} file(s) differ, {len(result.removed)} stale", file=sys.stderr)
            for rel in (result.written + result.removed)[:20]:
                print(f"  {rel}", file=sys.stderr)
            print("run `make generate` and commit the result", file=sys.stderr)
            return EXIT_STALE
        print(f"generated/ is up to date ({result.unchanged} files, {elapsed:.1f}s)")
        return EXIT_REFUSALS if result.refused else 0
    print(f"generated/: {len(result.written)} written, {len(result.removed)} removed, {result.unchanged} unchanged ({elapsed:.1f}s)")
    return EXIT_REFUSALS if result.refused else 0
