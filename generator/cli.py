"""`python -m generator generate|regenerate`: the commands behind `make generate` and `make regenerate`.

Exit codes: 0 generated (or up to date with --check); 1 --check found generated/ stale; 2 nothing written (an
error, or `generate` met models that cannot be generated and --skip-invalid was not given; every one is
listed); 3 generated with refusals (the models left out are listed on stderr and in REPORT.md; `regenerate`
always generates the others); 4 (`regenerate`) generated, but a breaking change was found (see
generator/changes.py and discovery/CHANGELOG.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import name_registry
from .discovery import DEFAULT_BASE_URL, DiscoveryError, HttpSource, SnapshotSource
from .pipeline import GenerationError, build_specs, generate

ROOT = Path(__file__).resolve().parent.parent
# A checkout writes its own generated/; the installed command (genvr_bindings in site-packages) the current folder's.
OUT = ROOT / "generated" if (ROOT / "pyproject.toml").is_file() else Path("generated")
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
    html = sub.add_parser("docs", help="build the static HTML catalogue of every model (offline)")
    html.add_argument("--snapshot", type=Path, default=ROOT / "discovery", help="discovery snapshot folder")
    html.add_argument("--out", type=Path, default=ROOT / "build" / "docs", help="output folder")
    for p in (gen, regen):
        p.add_argument("--snapshot", type=Path, default=ROOT / "discovery", help="discovery snapshot folder")
        p.add_argument("--out", type=Path, default=OUT, help="output folder")
        p.add_argument("--skip-invalid", action="store_true", help="leave out models whose schema cannot be translated")
        p.add_argument("--no-cache", action="store_true", help="render every file afresh (ignore .cache/generator)")
        p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for the per-model work")
    args = parser.parse_args(argv)
    if args.command == "docs":
        return _docs(args)

    started = time.perf_counter()
    breaking = False
    try:
        if args.command == "regenerate":
            from .refresh import refresh

            print(f"reading discovery from {args.base_url} ...")
            changes = refresh(args.snapshot, HttpSource(base_url=args.base_url, concurrency=args.concurrency))
            print(changes.text())
            print(f"{name_registry.REGISTRY_FILE.name}: {changes.named} model(s) named")
            breaking = bool(changes.breaking)
        result = generate(
            SnapshotSource(args.snapshot),
            args.out,
            check=args.check,
            # Live data may bring a model we cannot translate: regenerate never lets it stop the others.
            skip_invalid=args.skip_invalid or args.command == "regenerate",
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
    if breaking:
        from .changes import EXIT_BREAKING
        from .refresh import CHANGELOG

        print(f"BREAKING changes (listed above, and in {args.snapshot / CHANGELOG}): exit code {EXIT_BREAKING}", file=sys.stderr)
        return EXIT_BREAKING
    return EXIT_REFUSALS if result.refused else 0


def _docs(args: argparse.Namespace) -> int:
    from .targets import docs, python_package

    try:
        specs = build_specs(SnapshotSource(args.snapshot).load())
    except DiscoveryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = docs.write_html(python_package.plan(specs.models), args.out)
    print(f"{args.out}: {count} pages; open {args.out / 'index.html'}")
    return 0
