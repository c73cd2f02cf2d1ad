"""`python -m simulator` starts a working server in one command."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from simulator.__main__ import parse_args

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_cli_defaults() -> None:
    args = parse_args([])
    assert (args.host, args.port, args.dialect, args.token, args.uid) == ("127.0.0.1", 8765, "parameters",
                                                                           "sim-token", "sim-user")


def test_python_m_simulator_serves(tmp_path: Path) -> None:
    port = _free_port()
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"rules": [{"kind": "http_error", "route": "/v2/generate", "count": 1}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(port), "--dialect", "inputjson", "--job-seconds", "0.05",
         "--seed", "5", "--faults", str(faults)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base}/_sim/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"simulator did not start: {proc.stdout.read() if proc.stdout else ''!r}")
            time.sleep(0.05)
        assert "schema" in httpx.get(f"{base}/api/schema/imagegen/flux_dev").json()["data"]
        headers = {"Authorization": "Bearer sim-token"}
        body = {"uid": "sim-user", "category": "imagegen", "subcategory": "flux_dev", "prompt": "x"}
        assert httpx.post(f"{base}/v2/generate", headers=headers, json=body).status_code == 500
        assert httpx.post(f"{base}/v2/generate", headers=headers, json=body).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
