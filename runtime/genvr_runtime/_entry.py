"""The `genvr` command's entry point (console script and `python -m genvr_runtime`).

Ctrl-C at any moment ends with one line and exit 130, never a traceback, even while Python is still importing
the command line: nothing can have been sent before the command runs, and once a batch runs its own handler
takes over (it stops what has not been sent and collects what was paid for)."""

from __future__ import annotations

import sys


def main() -> int:
    try:  # imports inside: a Ctrl-C while they load is caught too
        import os
        import signal

        from genvr_runtime.cli import main as cli_main

        code = cli_main()
        # Done: a Ctrl-C from here on has nothing left to stop, and would only turn the exit code into -2.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return code
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to resume (nothing is lost)", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # Exit here: when the Ctrl-C landed inside code run by exec() (dataclasses build methods that way while
        # the CLI is still importing), CPython marks it "unhandled" and would end the process by SIGINT (-2)
        # after our 130. Everything that holds state (journal, results) was closed on the way up.
        os._exit(130)
