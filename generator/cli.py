"""`python -m generator generate|regenerate`: the commands behind `make generate` and `make regenerate`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from generator.discovery import DEFAULT_BASE_URL, DiscoveryError, HttpSource, SnapshotSource, write_snapshot
from generator.pipeline import GenerationError, build_specs, generate
from generator.report import change_report
from generator.targets import comfyui_order

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="render generated/ from the snapshot (offline)")
    gen.add_argument("--check", action="store_true", help="change nothing; exit 1 if generated/ is stale")
    regen = sub.add_parser("regenerate", help="refresh the snapshot from the live API, then generate")
    regen.add_argument("--base-url", default=os.environ.get("GENVR_BASE_URL", DEFAULT_BASE_URL))
    regen.add_argument("--concurrency", type=int, default=8)
    regen.set_defaults(check=False)
    html = sub.add_parser("docs", help="build the static HTML catalogue of every model (offline)")
    html.add_argument("--snapshot", type=Path, default=ROOT / "discovery", help="discovery snapshot folder")
    html.add_argument("--out", type=Path, default=ROOT / "build" / "docs", help="output folder")
    for p in (gen, regen):
        p.add_argument("--snapshot", type=Path, default=ROOT / "discovery", help="discovery snapshot folder")
        p.add_argument("--out", type=Path, default=ROOT / "generated", help="output folder")
        p.add_argument("--skip-invalid", action="store_true", help="leave out models whose schema cannot be translated")
        p.add_argument("--no-cache", action="store_true", help="render every file afresh (ignore .cache/generator)")
        p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for the per-model work")
    args = parser.parse_args(argv)
    if args.command == "docs":
        return _docs(args)

    started = time.perf_counter()
    try:
        if args.command == "regenerate":
            old = build_specs(SnapshotSource(args.snapshot).load()).models if (args.snapshot / "models.json").exists() else []
            print(f"reading discovery from {args.base_url} ...")
            fresh = HttpSource(base_url=args.base_url, concurrency=args.concurrency).load()
            write_snapshot(fresh, args.snapshot)
            # Saved ComfyUI workflows store widget values by position: record new inputs (append-only).
            comfyui_order.main(["--snapshot", str(args.snapshot)])
            print(change_report(old, build_specs(fresh).models))
        result = generate(
            SnapshotSource(args.snapshot),
            args.out,
            check=args.check,
            skip_invalid=args.skip_invalid,
            workers=args.workers,
            use_cache=not args.no_cache,
        )
    except (DiscoveryError, GenerationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    if args.check:
        if not result.clean:
            print(f"generated/ is stale: {len(result.written)} file(s) differ, {len(result.removed)} stale", file=sys.stderr)
            for rel in (result.written + result.removed)[:20]:
                print(f"  {rel}", file=sys.stderr)
            print("run `make generate` and commit the result", file=sys.stderr)
            return 1
        print(f"generated/ is up to date ({result.unchanged} files, {elapsed:.1f}s)")
        return 0
    print(f"generated/: {len(result.written)} written, {len(result.removed)} removed, {result.unchanged} unchanged ({elapsed:.1f}s)")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from generator.targets import docs, python_package

    try:
        specs = build_specs(SnapshotSource(args.snapshot).load())
    except DiscoveryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = docs.write_html(python_package.plan(specs.models), args.out)
    print(f"{args.out}: {count} pages; open {args.out / 'index.html'}")
    return 0
