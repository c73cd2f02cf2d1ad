"""Secrets and logs (issue 9, item 9): a server echoing the API key never gets it into results, the journal,
exceptions or logs; signed URLs are not logged with their signature; using the library writes no INFO line
per HTTP request (httpx's `HTTP Request:` lines flood ComfyUI's console).

The simulator cannot echo request headers, so its configurable error texts carry the key instead: from the
client's side that is exactly a server echoing `Authorization`."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from genvr_runtime import BadRequestError, BaseClient, GenVRError, TaskFailedError
from genvr_runtime.cli import main as cli_main
from simulator import SimulatorServer
from test_batch_runner import FAST_POLL, FluxDev, resolve, write_jobs

KEY = "sk-live-ECHO-0123456789abcdefXYZ"
UID = "user-echo"
GEN = "/v2/generate-batch"
UNREDACTED_SIGNATURE = re.compile(r"[?&](sig|signature)=(?!\*\*\*)", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _reset_logger_levels() -> Any:
    """`genvr batch run -v` sets logger levels for its process; tests call it in-process."""
    yield
    for name in ("genvr_runtime", "httpx"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def echoing_simulator(factory: Any, **faults: Any) -> SimulatorServer:
    sim: SimulatorServer = factory(tokens={KEY: UID}, faults=faults or None)
    return sim


def all_written_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_batch_never_stores_or_prints_an_echoed_key(genvr_simulator_factory: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    sim = echoing_simulator(
        genvr_simulator_factory,
        rules=[
            {"kind": "http_error", "route": GEN, "status": 400, "count": 1, "message": f"bad header 'Authorization: Bearer {KEY}'"},
            {"kind": "item_error", "route": GEN, "indices": [0], "status": 400, "message": f"key {KEY} may not use this model"},
        ],
        task_failure_rate=1.0,
        failure_message=f"upstream refused: authorization=Bearer {KEY}",
    )
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GENVR_API_KEY", KEY)
    monkeypatch.setenv("GENVR_UID", UID)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 30)
    out = tmp_path / "results.jsonl"
    code = cli_main(["batch", "run", str(jobs), "--out", str(out), "--base-url", sim.base_url, "--no-progress", "-v",
                     "--poll-interval", "0.02", "--max-poll-interval", "0.1", "--resolver", "test_batch_runner:resolve"])
    printed = capsys.readouterr()
    assert code == 1
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["status"] for r in results} == {"rejected", "failed"}
    messages = [r["error"]["message"] for r in results]
    assert all(KEY not in m for m in messages)
    # The server's words are kept, only the key is blanked.
    assert sum("Bearer ***" in m for m in messages) == 28 and sum("key *** may not" in m for m in messages) == 2
    assert KEY.encode() not in all_written_bytes(tmp_path)  # results, journal (+ WAL), lock
    assert KEY not in printed.out + printed.err + caplog.text
    assert cli_main(["batch", "status", str(out)]) == 0
    assert cli_main(["batch", "results", str(tmp_path / "results.jsonl.journal.db"), "--out", str(tmp_path / "again.jsonl")]) == 0
    printed = capsys.readouterr()
    assert KEY not in printed.out + printed.err and KEY.encode() not in all_written_bytes(tmp_path)


def test_single_jobs_raise_errors_without_the_echoed_key(genvr_simulator_factory: Any) -> None:
    sim = echoing_simulator(
        genvr_simulator_factory,
        rules=[{"kind": "http_error", "route": "/v2/generate", "status": 400, "count": 1,
                "message": f"rejected request with Authorization: Bearer {KEY}"}],
        task_failure_rate=1.0, failure_message=f"model crashed (token {KEY})",
    )
    with BaseClient(api_key=KEY, uid=UID, base_url=sim.base_url, poll_interval=0.02) as client:
        with pytest.raises(BadRequestError) as rejected:
            client.run(FluxDev(prompt="p"))
        with pytest.raises(TaskFailedError) as failed:
            client.run(FluxDev(prompt="p"))
    for exc in (rejected.value, failed.value):
        shown = f"{exc} {exc!r} {exc.message} {json.dumps(getattr(exc, 'body', None))} {getattr(exc, 'error', '')}"
        assert KEY not in shown and "***" in shown


def test_signed_urls_lose_their_signature_in_exception_messages() -> None:
    url = "https://blob.example/out/1.png?sv=2024-11-04&se=2030-01-01&sp=r&sig=SECRETSIG%2Bx%3D"
    exc = GenVRError(f"could not fetch {url} (expired?)")
    assert "SECRETSIG" not in str(exc) and "sig=***" in str(exc) and "se=2030-01-01" in str(exc)
    assert "SECRETSIG" not in exc.message


def run_single_jobs_with_files(sim: SimulatorServer, tmp_path: Path) -> None:
    with BaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url, poll_interval=0.02) as client:
        url = client.upload(b"\x89PNG fake image", file_name="in.png")  # SAS URL (sv, se, sig) + PUT
        assert "sig=" in url
        result = client.run(FluxDev(prompt="p"))
        client.download(result, tmp_path / "files")
        client.download_bytes(result)


def test_the_client_logs_no_info_line_per_request(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # ComfyUI's console: the root logger at INFO
    run_single_jobs_with_files(genvr_simulator, tmp_path)
    assert not [r for r in caplog.records if "HTTP Request" in r.getMessage()]
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_per_request_detail_is_debug_and_signatures_are_redacted(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    run_single_jobs_with_files(genvr_simulator, tmp_path)
    requests = [r for r in caplog.records if "HTTP Request" in r.getMessage()]
    assert requests and all(r.levelno == logging.DEBUG and r.name.startswith("genvr_runtime") for r in requests)
    assert any("/files/" in r.getMessage() and "sig=***" in r.getMessage() for r in requests)  # a download
    assert any("/blob/" in r.getMessage() and "sig=***" in r.getMessage() for r in requests)  # the upload PUT
    for record in caplog.records:
        assert not UNREDACTED_SIGNATURE.search(record.getMessage()), record.getMessage()


def test_the_batch_runner_logs_no_info_line_per_request(genvr_simulator: SimulatorServer, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    jobs = write_jobs(tmp_path / "jobs.jsonl", 12)
    with BaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url) as client:
        report = client.batch(jobs, tmp_path / "out.jsonl", resolver=resolve, poll=FAST_POLL, progress=False,
                              download_dir=tmp_path / "files")
    assert report.exit_code == 0
    requests = [r for r in caplog.records if "HTTP Request" in r.getMessage()]
    assert any("/files/" in r.getMessage() for r in requests)
    assert all(r.levelno == logging.DEBUG for r in requests)
    assert not [r for r in caplog.records if UNREDACTED_SIGNATURE.search(r.getMessage())]


def test_retries_are_logged_at_debug(genvr_simulator: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    genvr_simulator.configure(faults={"rules": [{"kind": "http_error", "route": "/v2/status", "status": 502, "count": 1}]})
    caplog.set_level(logging.DEBUG)
    with BaseClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url,
                    poll_interval=0.02) as client:
        client.run(FluxDev(prompt="p"))
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert retries and all(r.levelno == logging.DEBUG for r in retries)


@pytest.mark.parametrize("verbose", [False, True])
def test_cli_verbosity(genvr_simulator: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verbose: bool) -> None:
    """No flag: warnings only. -v: the runtime's DEBUG lines (every request, retries), no other library's."""
    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    genvr_simulator.configure(faults={"rules": [{"kind": "http_error", "route": "/v2/status-batch", "status": 502, "count": 1}]})
    jobs = write_jobs(tmp_path / "jobs.jsonl", 3)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root = logging.getLogger()
    handler = Keep(level=logging.NOTSET)
    root.addHandler(handler)  # what reaches the root handlers is what the console would print
    try:
        code = cli_main(["batch", "run", str(jobs), "--out", str(tmp_path / "out.jsonl"), "--base-url", genvr_simulator.base_url,
                         "--no-progress", "--poll-interval", "0.02", "--download", str(tmp_path / "files"),
                         "--resolver", "test_batch_runner:resolve", *(["-v"] if verbose else [])])
    finally:
        root.removeHandler(handler)
    assert code == 0
    assert any("HTTP Request" in r.getMessage() and "/files/" in r.getMessage() for r in seen) == verbose
    assert any("retrying" in r.getMessage() for r in seen) == verbose
    assert all(r.name.startswith("genvr_runtime") for r in seen)  # not httpx's, nor httpcore's
    assert not [r for r in seen if UNREDACTED_SIGNATURE.search(r.getMessage())]


async def test_comfyui_nodes_log_no_info_line_per_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          genvr_simulator: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    """The pack's vendored runtime copy (its own module names) quiets its own requests too."""
    import torch
    from comfy_double import install, load_pack

    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    monkeypatch.setenv("GENVR_BASE_URL", genvr_simulator.base_url)
    install(monkeypatch, tmp_path)
    pack = load_pack()
    caplog.set_level(logging.INFO)  # ComfyUI's console
    await pack.NODE_CLASS_MAPPINGS["GenVR_imagegen__flux_dev"]().run(unique_id="1", prompt="p", seed=7)
    await pack.NODE_CLASS_MAPPINGS["GenVR_videogen__kling2_5_i2v"]().run(prompt="waves", image=torch.rand(1, 6, 5, 3), duration="10")
    assert genvr_simulator.counters()["uploads"] == 1
    assert not [r for r in caplog.records if "HTTP Request" in r.getMessage()]
    assert not [r for r in caplog.records if r.name.startswith("httpx")]


def test_a_download_first_thing_in_a_process_logs_no_signature(tmp_path: Path) -> None:
    """`genvr download results.jsonl DIR` sends no GenVR call before its downloads: the filter on httpx's
    per-request lines must be in place without the request loop module having been imported."""
    import os
    import subprocess
    import sys

    code = f"""
import logging, sys
from pathlib import Path
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
from genvr_runtime._files import download_sync
import httpx
http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=b"png")))
download_sync(http, "https://cdn.example/out.png?se=2030&sig=SECRETSIGNATURE", Path({str(tmp_path)!r}) / "out.png")
"""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(root / p) for p in ("runtime", "generated"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").read_bytes() == b"png"
    assert "HTTP Request" in done.stdout, "httpx logged the request (as DEBUG of genvr_runtime.http)"
    assert "SECRETSIGNATURE" not in done.stdout
    assert "INFO httpx" not in done.stdout
