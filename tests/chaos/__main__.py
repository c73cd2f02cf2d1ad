"""`python -m tests.chaos [--count 500] [--start 1] [--seed N] [--kinds a,b] [--workers 2] [--keep]`

Runs seeded fault schedules against `genvr batch run` and prints a summary table; every failing seed is printed
with the command that replays it. Exit status 1 when any invariant was violated.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tests.chaos.harness import run_schedule
from tests.chaos.schedules import ALL_KINDS, make_schedule


def replay_command(seed: int, kinds: Sequence[str] | None) -> str:
    return f"python -m tests.chaos --seed {seed}" + (f" --kinds {','.join(kinds)}" if kinds else "")


def _one(args: tuple[int, tuple[str, ...] | None, str, bool]) -> dict[str, Any]:
    seed, kinds, root, keep = args
    workdir = Path(root) / f"seed-{seed}"
    outcome = run_schedule(make_schedule(seed, kinds), workdir)
    if not outcome.violations and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome.as_dict()


def run_many(seeds: Sequence[int], kinds: Sequence[str] | None = None, workers: int = 2, root: Path | None = None,
             keep: bool = False) -> Iterator[dict[str, Any]]:
    """Yield each schedule's outcome (as a dict) as it finishes; schedules run `workers` at a time."""
    base = Path(root or tempfile.mkdtemp(prefix="genvr-chaos-"))
    tasks = [(seed, tuple(kinds) if kinds else None, str(base), keep) for seed in seeds]
    if workers <= 1:
        for task in tasks:
            yield _one(task)
        return
    # fork: the workers start before any thread exists here; each runs its own simulator and proxy.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(_one, tasks)


def summarize(outcomes: list[dict[str, Any]], seconds: float) -> str:
    fired: Counter[str] = Counter()
    kills: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    for o in outcomes:
        fired.update(o["fired"])
        kills.update(o["kills"])
        violations.update(v.split(":", 1)[0] for v in o["violations"])
    ambiguous = sum(o["ambiguous"] for o in outcomes)
    unknowns = sum(o["unknowns"] for o in outcomes)
    unexplained = sum(o["unknowns"] for o in outcomes if not o["ambiguous"] and not o["kills"])
    failing = [o["seed"] for o in outcomes if o["violations"]]
    rows = [("schedules", str(len(outcomes))), ("jobs", str(sum(o["jobs"] for o in outcomes))),
            ("wall time", f"{seconds:.0f} s ({seconds / max(len(outcomes), 1):.1f} s per schedule)")]
    rows += [(f"fault {k}", str(n)) for k, n in sorted(fired.items())]
    rows += [("faults injected (total)", str(sum(fired.values()))),
             ("kills: SIGKILL / SIGINT", f"{kills['sigkill']} / {kills['sigint']}"),
             ("simulator restarts", str(sum(o["restarts"] for o in outcomes))),
             ("ambiguous generate faults", f"{ambiguous} (of which forwarded, tasks created: "
                                           f"{sum(o['ambiguous_forwarded'] for o in outcomes)})"),
             ("unknown jobs reported", str(unknowns)),
             ("unknowns per ambiguous fault", f"{unknowns / ambiguous:.2f}" if ambiguous else "n/a"),
             ("unknowns with no ambiguous fault or kill", str(unexplained))]
    rows += [(f"violations: {k}", str(n)) for k, n in sorted(violations.items())]
    rows += [("violations (total)", str(sum(violations.values()))),
             ("schedules with violations", f"{len(failing)}" + (f" (seeds {failing[:30]}{' …' if len(failing) > 30 else ''})" if failing else ""))]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--count", type=int, default=500, help="number of schedules (seeds start..start+count-1)")
    p.add_argument("--start", type=int, default=1, help="first seed")
    p.add_argument("--seed", type=int, help="run this one seed only, verbosely (replay)")
    p.add_argument("--kinds", help=f"comma-separated fault kinds to use alone (of: {', '.join(ALL_KINDS)})")
    p.add_argument("--workers", type=int, default=3, help="schedules run in parallel")
    p.add_argument("--keep", action="store_true", help="keep every schedule's folder (failing ones are always kept)")
    p.add_argument("--root", type=Path, help="where schedule folders go (default: a new temp folder)")
    p.add_argument("--json", type=Path, help="also append every outcome to this JSON-lines file as it finishes")
    p.add_argument("--summary-from", type=Path, metavar="JSONL", help="only print the summary of a --json file")
    args = p.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None
    if kinds:
        bad = sorted(set(kinds) - set(ALL_KINDS))
        if bad:
            p.error(f"unknown kind(s) {bad}; known: {', '.join(ALL_KINDS)}")
    if args.summary_from is not None:
        done = [json.loads(line) for line in args.summary_from.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(summarize(done, sum(o["seconds"] for o in done) / max(args.workers, 1)))
        return 1 if any(o["violations"] for o in done) else 0
    if args.seed is not None:
        print(make_schedule(args.seed, kinds).describe(), flush=True)
    seeds = [args.seed] if args.seed is not None else list(range(args.start, args.start + args.count))
    started = time.monotonic()
    outcomes: list[dict[str, Any]] = []
    for o in run_many(seeds, kinds, 1 if args.seed is not None else args.workers, args.root, args.keep):
        outcomes.append(o)
        if args.json:
            with args.json.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(o) + "\n")
        mark = "FAIL" if o["violations"] else "ok  "
        print(f"{mark} seed {o['seed']:>5}  {o['jobs']:>2} jobs  {o['seconds']:5.1f}s  faults {sum(o['fired'].values()):>3}"
              f"  kills {sum(o['kills'].values())}  unknown {o['unknowns']:>2}  exits {o['exit_codes']}", flush=True)
        for v in o["violations"]:
            print(f"       {v}", flush=True)
        if o["violations"]:
            print(f"       replay: {replay_command(o['seed'], kinds)}   (files: {o['workdir']})", flush=True)
    seconds = time.monotonic() - started
    print("\n" + summarize(outcomes, seconds))
    failing = [o["seed"] for o in outcomes if o["violations"]]
    if failing:
        print("\nreplay a failing seed with: " + replay_command(failing[0], kinds) + "  (or make chaos SEED=N)")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
