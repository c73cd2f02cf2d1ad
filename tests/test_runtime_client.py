"""Single jobs against the simulator over real HTTP: flow, job handles, errors, anomalies, files, secrets."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Literal

import pytest
from pydantic import ValidationError

from genvr_runtime import (
    AmbiguousSubmissionError,
    AsyncBaseClient,
    AuthenticationError,
    BadRequestError,
    BaseClient,
    GenVRError,
    GenVRInput,
    ModelInfo,
    OutputError,
    RateLimitError,
    TaskFailedError,
    UploadError,
    WaitCancelledError,
    WaitTimeoutError,
)
from genvr_runtime._files import parse_sas_reply
from simulator import SimulatorServer


class FluxDev(GenVRInput):
    prompt: str
    aspect_ratio: Literal["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"] | None = None


FluxDev.genvr_model = ModelInfo(category="imagegen", subcategory="flux_dev", name="Flux Dev")


class LooseFlux(GenVRInput):
    """Deliberately weaker than the schema, so the server is the one that refuses."""

    prompt: str
    aspect_ratio: str | None = None


LooseFlux.genvr_model = ModelInfo(category="imagegen", subcategory="flux_dev", name="Flux Dev")


class CrispUpscale(GenVRInput):
    image: str


CrispUpscale.genvr_model = ModelInfo(category="imgutils", subcategory="recraft_crisp_upscale", name="Recraft Crisp Upscale")


def client(sim: SimulatorServer, **kw: object) -> BaseClient:
    options: dict[str, object] = {"poll_interval": 0.01, "max_poll_interval": 0.05, **kw}
    return BaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url, **options)  # type: ignore[arg-type]


def aclient(sim: SimulatorServer, **kw: object) -> AsyncBaseClient:
    return AsyncBaseClient(api_key=sim.token, uid=sim.uid, base_url=sim.base_url, poll_interval=0.01, max_poll_interval=0.05, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_run_returns_typed_result(genvr_simulator: SimulatorServer, version: str) -> None:
    with client(genvr_simulator, api_version=version) as c:
        result = c.run(FluxDev.from_call(prompt="a lighthouse", aspect_ratio="1:1"))
    assert result.status == "completed" and result.model == "imagegen/flux_dev"
    assert result.url.startswith("http://127.0.0.1") and result.task_id
    assert result.elapsed_seconds >= 0 and result.polls >= 1
    assert f"POST /{'api/v1' if version == 'v1' else 'v2'}/generate" in genvr_simulator.counters()["requests"]


async def test_async_run_and_job_handle(genvr_simulator: SimulatorServer) -> None:
    async with aclient(genvr_simulator) as c:
        result = await c.run(FluxDev.from_call(prompt="async"))
        job = await c.submit(FluxDev.from_call(prompt="handle"))
        assert await job.status() in ("queued", "processing", "completed")
        waited = await job.wait(timeout=10)
        assert (await job.result()) is waited and waited.task_id == job.task_id
    assert result.output


def test_job_handle_status_wait_result(genvr_simulator: SimulatorServer) -> None:
    seen: list[str] = []
    with client(genvr_simulator) as c:
        job = c.submit(FluxDev.from_call(prompt="handle"))
        assert job.task_id in repr(job)
        result = job.wait(timeout=10, on_update=seen.append)
        assert job.result() is result and seen[-1] == "completed"


def test_wait_timeout_carries_task_id_and_job_can_be_picked_up(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(job_seconds=0.6)
    with client(genvr_simulator) as c:
        job = c.submit(FluxDev.from_call(prompt="slow"))
        with pytest.raises(WaitTimeoutError) as info:
            job.wait(timeout=0.05)
        assert info.value.task_id == job.task_id and job.task_id in str(info.value)
        assert "imagegen/flux_dev" in str(info.value)
        again = c.job("imagegen/flux_dev", job.task_id)
        assert again.wait(timeout=10).task_id == job.task_id
        assert c.job(FluxDev, job.task_id).result().task_id == job.task_id  # by class, too


def test_cancel_stops_waiting(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(job_seconds=30)
    with client(genvr_simulator, max_poll_interval=0.5) as c:
        job = c.submit(FluxDev.from_call(prompt="forever"))
        errors: list[BaseException] = []

        def waiter() -> None:
            try:
                job.wait(timeout=60)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        thread = threading.Thread(target=waiter)
        thread.start()
        job.cancel()
        thread.join(timeout=10)
    assert not thread.is_alive() and isinstance(errors[0], WaitCancelledError) and errors[0].task_id == job.task_id


def test_validation_happens_before_anything_is_sent(genvr_simulator: SimulatorServer) -> None:
    with client(genvr_simulator) as c, pytest.raises(ValidationError):
        c.run(FluxDev.from_call(prompt="x", aspect_ratio="7:7"))
    assert genvr_simulator.counters()["requests"].get("POST /v2/generate", 0) == 0


def test_server_side_validation_error_is_typed(genvr_simulator: SimulatorServer) -> None:
    with client(genvr_simulator) as c, pytest.raises(BadRequestError) as info:
        c.run(LooseFlux.from_call(prompt="x", aspect_ratio="7:7"))
    assert info.value.status_code == 400 and "imagegen/flux_dev" in str(info.value)


def test_auth_error(genvr_simulator: SimulatorServer) -> None:
    with BaseClient(api_key="wrong-key-123", uid="sim-user", base_url=genvr_simulator.base_url) as c:
        with pytest.raises(AuthenticationError) as info:
            c.run(FluxDev.from_call(prompt="x"))
    assert "wrong-key-123" not in str(info.value) and "wrong-key-123" not in repr(info.value.body)


def test_rate_limit_retried_then_typed(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "rate_limit", "route": "/v2/generate", "retry_after": 0.01, "count": 1}]})
    with client(sim) as c:
        assert c.run(FluxDev.from_call(prompt="once")).output  # one 429, then through
        sim.configure(faults={"rules": [{"kind": "rate_limit", "route": "/v2/generate", "retry_after": 0.01}]})
        with pytest.raises(RateLimitError):
            c.run(FluxDev.from_call(prompt="never"))
    assert sim.counters()["tasks_created"] == 1


def test_status_errors_are_retried(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{"kind": "http_error", "route": "/v2/status", "status": 502, "count": 2},
                                    {"kind": "drop", "route": "/v2/response", "count": 1}]})
    with client(sim, max_retries=3) as c:
        assert c.run(FluxDev.from_call(prompt="flaky reads")).output


@pytest.mark.parametrize("fault", [{"kind": "http_error", "status": 500, "when": "after"},
                                   {"kind": "slow", "seconds": 1.0}, {"kind": "drop", "when": "after"}])
def test_ambiguous_generate_is_reported_not_resent(genvr_simulator: SimulatorServer, fault: dict[str, object]) -> None:
    sim = genvr_simulator
    sim.configure(faults={"rules": [{**fault, "route": "/v2/generate", "count": 1}]})
    with client(sim, timeout=0.3) as c, pytest.raises(AmbiguousSubmissionError) as info:
        c.submit(FluxDev.from_call(prompt="ambiguous"))
    assert info.value.idempotency_key and "not resent" in str(info.value)
    assert sim.counters()["requests"]["POST /v2/generate"] == 1 and sim.counters()["tasks_created"] == 1


def test_ambiguous_resend_opt_in_keeps_idempotency_key(genvr_simulator: SimulatorServer) -> None:
    sim = genvr_simulator
    sim.configure(honor_idempotency_key=True,
                  faults={"rules": [{"kind": "http_error", "route": "/v2/generate", "status": 500, "when": "after", "count": 1}]})
    with client(sim, resend_ambiguous=True) as c:
        assert c.run(FluxDev.from_call(prompt="dedup")).output
    counters = sim.counters()
    assert list(counters["generate_calls_by_idempotency_key"].values()) == [2]
    assert counters["tasks_created"] == 1  # the server honoured the key: one task for two sends


def test_task_failure_carries_genvr_error(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"task_failure_rate": 1.0, "failure_message": "NSFW content detected"})
    with client(genvr_simulator) as c, pytest.raises(TaskFailedError) as info:
        c.run(FluxDev.from_call(prompt="bad"))
    assert info.value.error == "NSFW content detected" and info.value.task_id and "imagegen/flux_dev" in str(info.value)


def test_undocumented_statuses_are_reported_once(genvr_simulator: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    genvr_simulator.configure(job_seconds=0.3, faults={"extra_statuses": ["warming_up"]})
    with caplog.at_level(logging.INFO, logger="genvr_runtime"), client(genvr_simulator) as c:
        result = c.run(FluxDev.from_call(prompt="odd statuses"))
    assert "warming_up" in result.statuses_seen
    assert sum("warming_up" in r.getMessage() for r in caplog.records) == 1


def test_empty_output_refetched_then_ok(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"empty_output_rate": 1.0, "empty_output_fetches": 1})
    with client(genvr_simulator) as c:
        assert c.run(FluxDev.from_call(prompt="empty once")).output


def test_empty_output_forever_is_an_output_error(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"empty_output_rate": 1.0, "empty_output_fetches": -1})
    with client(genvr_simulator) as c, pytest.raises(OutputError, match="empty output"):
        c.run(FluxDev.from_call(prompt="empty"))


def test_error_message_in_output(genvr_simulator: SimulatorServer) -> None:
    genvr_simulator.configure(faults={"error_output_rate": 1.0})
    with client(genvr_simulator) as c, pytest.raises(OutputError) as info:
        c.run(FluxDev.from_call(prompt="error output"))
    assert info.value.error and not info.value.error.startswith("http")


@pytest.mark.parametrize("mode", ["both", "only"])
def test_top_level_task_id(genvr_simulator: SimulatorServer, mode: str) -> None:
    genvr_simulator.configure(faults={"top_level_task_id": mode})
    with client(genvr_simulator) as c:
        assert c.run(FluxDev.from_call(prompt="un-nested")).task_id.startswith("pred_")


def test_local_path_and_bytes_are_uploaded(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    with client(genvr_simulator) as c:
        assert c.run(CrispUpscale.from_call(image=image)).output
        assert c.run(CrispUpscale.from_call(image=b"\x89PNG\r\n\x1a\nbytes")).output
        assert c.run(CrispUpscale.from_call(image="https://example.com/a.png")).output  # a URL passes through
    assert genvr_simulator.counters()["uploads"] == 2


def test_data_uri_mode(genvr_simulator: SimulatorServer) -> None:
    with client(genvr_simulator, file_mode="data_uri") as c:
        assert c.run(CrispUpscale.from_call(image=b"\x89PNG\r\n\x1a\nbytes")).output
    assert genvr_simulator.counters()["uploads"] == 0


def test_upload_reply_anomalies() -> None:
    assert parse_sas_reply(200, {"success": True, "uploadUrl": "https://blob/x?sig=1"}) == "https://blob/x?sig=1"
    assert parse_sas_reply(200, {"success": True, "data": {"uploadUrl": "https://blob/y"}}) == "https://blob/y"
    with pytest.raises(UploadError, match="quota exceeded"):
        parse_sas_reply(200, {"success": False, "error": "quota exceeded"})
    with pytest.raises(UploadError, match="no uploadUrl"):
        parse_sas_reply(200, {"success": True})


def test_download_to_folder_and_bytes(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    with client(genvr_simulator) as c:
        result = c.run(FluxDev.from_call(prompt="download me"))
        files = c.download(result, tmp_path)
        again = c.download(result, tmp_path)  # resume-safe: same names, nothing rewritten
        blobs = c.download_bytes(result)
    assert [f.path for f in files] == [f.path for f in again]
    assert files[0].path.name == f"{result.task_id}_0.png"
    assert files[0].sha256 == hashlib.sha256(blobs[0]).hexdigest() == hashlib.sha256(files[0].path.read_bytes()).hexdigest()
    assert not list(tmp_path.glob(".*.part"))


def test_credentials_from_environment(genvr_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    with BaseClient(base_url=genvr_simulator.base_url, poll_interval=0.01) as c:
        assert c.run(FluxDev.from_call(prompt="env")).output
    monkeypatch.delenv("GENVR_API_KEY")
    with pytest.raises(GenVRError, match="GENVR_API_KEY"):
        BaseClient(base_url=genvr_simulator.base_url)


def test_key_never_in_repr_errors_or_logs(genvr_simulator: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-SECRET-do-not-leak-42"
    sim = genvr_simulator
    sim.configure(tokens={secret: sim.uid, sim.token: sim.uid},
                  faults={"rules": [{"kind": "http_error", "route": "/v2/status", "status": 503, "count": 1}]})
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        c = BaseClient(api_key=secret, uid=sim.uid, base_url=sim.base_url, poll_interval=0.01)
        texts += [repr(c), str(c), repr(c._settings)]
        job = c.submit(FluxDev.from_call(prompt="secret"))
        texts.append(repr(job))
        texts.append(repr(job.wait(timeout=10)))
        for exc_factory in (lambda: c.run(LooseFlux.from_call(prompt="x", aspect_ratio="bad")),
                            lambda: c.job("imagegen/flux_dev", "missing").result(timeout=1)):
            try:
                exc_factory()
            except GenVRError as exc:
                texts += [str(exc), repr(exc), repr(getattr(exc, "body", None))]
        c.close()
    texts += [r.getMessage() for r in caplog.records]
    assert texts and not [t for t in texts if secret in t]
