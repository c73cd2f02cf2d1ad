"""`python -m simulator --port 8765 [--dialect inputjson|parameters] [--job-seconds N] [--seed N] ...`"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .faults import FaultConfig
from .settings import DEFAULT_TOKEN, DEFAULT_UID, DIALECTS, Settings, default_discovery_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="genvr-simulator", description="A local GenVR API simulator (fake data).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--dialect", choices=DIALECTS, default="parameters", help="shape of GET /api/schema")
    p.add_argument("--job-seconds", type=float, default=3.0, help="time from generate to completed")
    p.add_argument("--job-seconds-max", type=float, default=None, help="draw durations from U(job, max)")
    p.add_argument("--seed", type=int, default=0, help="seeds task outcomes and fault draws (replayable runs)")
    p.add_argument("--token", default=DEFAULT_TOKEN)
    p.add_argument("--uid", default=DEFAULT_UID)
    p.add_argument("--reject-unknown-fields", action="store_true")
    p.add_argument("--rate-limit", type=float, default=None, metavar="RPS", help="requests/s per token")
    p.add_argument("--rate-limit-burst", type=int, default=None)
    p.add_argument("--honor-idempotency-key", action="store_true")
    p.add_argument("--state-file", type=Path, default=None,
                   help="keep tasks, files and counters in this JSON file across restarts (loaded at start)")
    p.add_argument("--faults", default=None, help="fault config: a JSON file path or inline JSON")
    p.add_argument("--discovery", type=Path, default=default_discovery_dir())
    p.add_argument("--log-level", default="warning")
    return p.parse_args(argv)


def load_faults(value: str | None) -> FaultConfig | None:
    if value is None:
        return None
    text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
    raw: Any = json.loads(text)
    return FaultConfig.from_dict(raw)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        print(f"error: the simulator needs {exc.name}: pip install 'genvr-bindings[simulator]'", file=sys.stderr)
        return 2
    settings = Settings(discovery_dir=args.discovery, dialect=args.dialect, job_seconds=args.job_seconds,
                        job_seconds_max=args.job_seconds_max, seed=args.seed, tokens={args.token: args.uid},
                        reject_unknown_fields=args.reject_unknown_fields, rate_limit_rps=args.rate_limit,
                        rate_limit_burst=args.rate_limit_burst, honor_idempotency_key=args.honor_idempotency_key,
                        state_file=args.state_file)
    settings.validate()
    app, state = create_app(settings, faults=load_faults(args.faults))
    print(f"GenVR simulator: http://{args.host}:{args.port}  token={args.token} uid={args.uid} "
          f"models={len(state.catalog.listed_models)} dialect={args.dialect} job={args.job_seconds}s seed={args.seed}",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False, lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
