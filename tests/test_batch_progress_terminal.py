"""The batch progress bar in a real terminal (a pty of 80 columns): done/total, rate and ETA stay visible."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from simulator.pytest_plugin import SimulatorFactory

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def test_bar_at_80_columns_shows_done_total_rate_and_eta(genvr_simulator_factory: SimulatorFactory, tmp_path: Path) -> None:
    sim = genvr_simulator_factory(job_seconds=1.0)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"model": "imagegen/flux_dev", "input": {"prompt": f"p{i}"}}) + "\n" for i in range(30)))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "GENVR_API_KEY": sim.token, "GENVR_UID": sim.uid, "TERM": "xterm", "COLUMNS": "80"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "genvr", "batch", "run", str(jobs), "--out", str(tmp_path / "out.jsonl"), "--base-url",
         sim.base_url, "--max-in-flight", "10", "--poll-interval", "0.2", "--first-poll", "0.2"],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=120) == 0
    os.close(master)
    screen = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    frames = [f for f in re.split(r"[\r\n]+", screen) if "/30" in f]
    assert frames, screen
    assert all(len(f) <= 80 for f in frames), [f for f in frames if len(f) > 80]
    assert any(re.search(r"\b\d+/30\b.*\d+\.\d/s.*eta", f) for f in frames), frames
    last = frames[-1]
    assert "30/30" in last and "succeeded 30" in last, last
    assert any(re.search(r"eta\s+\d+:\d\d", f) for f in frames if "30/30" not in f), frames
