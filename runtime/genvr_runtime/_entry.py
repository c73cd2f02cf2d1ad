"""The `genvr` command's entry point (console script and `python -m genvr_runtime`).

Ctrl-C at any moment ends with one line and exit 130, never a traceback, even while Python is still importing
the command line: nothing can have been sent before the command runs, and once a batch runs its own handler
takes over (it stops what has not been sent and collects what was paid for)."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from genvr_runtime.cli import main as cli_main

        return cli_main()
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to resume (nothing is lost)", file=sys.stderr)
        return 130
