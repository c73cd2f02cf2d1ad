"""Python conveniences (issue 11, item 3): run/submit by model key with a dict, batches from a list, wait=False,
wait_timeout= and on_update= on model methods, "did you mean" for misspelt names, GenVRError from load_input_class."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import genvr
from genvr import AsyncClient, Client, GenVRError, Job, UnknownInputError, UnknownModelError
from genvr.models import load_input_class
from genvr.models.imagegen.flux_dev import FluxDevInput
from simulator import SimulatorServer


def client_for(sim: SimulatorServer) -> Client:
    return Client(api_key=sim.token, uid=sim.uid, base_url=sim.base_url)


def test_run_and_submit_by_model_key_with_a_dict(genvr_simulator: SimulatorServer) -> None:
    seen: list[str] = []
    with client_for(genvr_simulator) as client:
        result = client.run("imagegen/flux_dev", {"prompt": "a cat", "aspect_ratio": "1:1"}, on_update=seen.append)
        assert result.model == "imagegen/flux_dev" and result.output and seen[-1] == "completed"
        job = client.submit("imagegen/flux_dev", {"prompt": "a dog"})
        assert isinstance(job, Job) and job.wait().task_id == job.task_id
        with pytest.raises(UnknownInputError, match="did you mean aspect_ratio") as wrong:
            client.run("imagegen/flux_dev", {"prompt": "x", "aspect_ration": "1:1"})
        assert wrong.value.field == "aspect_ration"
        with pytest.raises(GenVRError, match="did you mean imagegen/flux_dev"):
            client.submit("flux_dev", {"prompt": "x"})
        with pytest.raises(GenVRError, match="not both"):
            client.submit(FluxDevInput(prompt="x"), {"prompt": "y"})
    assert genvr_simulator.counters()["tasks_created"] == 2


def test_model_methods_take_wait_wait_timeout_and_on_update(genvr_simulator: SimulatorServer) -> None:
    seen: list[str] = []
    with client_for(genvr_simulator) as client:
        job = client.imagegen.flux_dev(prompt="x", wait=False)
        assert isinstance(job, Job) and job.model.key == "imagegen/flux_dev"
        result = client.imagegen.flux_dev(prompt="y", wait_timeout=30, on_update=seen.append)
        assert result.output and seen and seen[-1] == "completed"
        assert job.wait().output


def test_misspelt_keyword_of_a_model_method_names_the_closest_input() -> None:
    client = Client(api_key="k", uid="u", base_url="http://127.0.0.1:9")
    with pytest.raises(UnknownInputError, match=r"client\.imagegen\.flux_dev\(\) has no input 'aspect_ration'; did you mean aspect_ratio") as exc:
        client.imagegen.flux_dev(prompt="x", aspect_ration="1:1")  # type: ignore[call-overload]
    assert isinstance(exc.value, TypeError)  # still what Python raises for an unexpected keyword

    async def misspelt() -> None:
        await AsyncClient(api_key="k", uid="u", base_url="http://127.0.0.1:9").imagegen.flux_dev(prompt="x", sed=1)  # type: ignore[call-overload]

    with pytest.raises(UnknownInputError, match="did you mean seed"):
        asyncio.run(misspelt())


def test_load_input_class_raises_a_genvr_error_that_is_still_a_key_error() -> None:
    with pytest.raises(UnknownModelError) as exc:
        load_input_class("imagegen/flux_de")
    assert isinstance(exc.value, GenVRError) and isinstance(exc.value, KeyError)
    assert str(exc.value).startswith("unknown GenVR model 'imagegen/flux_de'; did you mean imagegen/flux_dev")


def test_batch_from_a_list_of_dicts_and_inputs(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    jobs = [FluxDevInput(prompt="a"), {"custom_id": "b", "model": "imagegen/flux_dev", "input": {"prompt": "b"}}]
    out = tmp_path / "results.jsonl"
    with client_for(genvr_simulator) as client:
        report = client.batch(jobs, out, progress=False)
        assert report.exit_code == 0
        again = client.batch(jobs, out, progress=False)  # the same list resumes the same batch: nothing resent
        assert again.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["succeeded", "succeeded"] and rows[1]["custom_id"] == "b"
    assert genvr_simulator.counters()["tasks_created"] == 2


def test_client_documents_its_keyword_arguments() -> None:
    doc = genvr.Client.__mro__[1].__doc__ or ""
    for name in ("api_key", "uid", "base_url", "api_version", "timeout", "wait_timeout", "poll_interval",
                 "http_client", "max_retries", "file_mode", "resend_ambiguous", "empty_output_retries"):
        assert f"{name}" in doc, name


def test_batch_from_a_list_takes_local_files_as_paths(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\2" * 32)
    hunyuan = load_input_class("3dgen/hunyuan2_3d")
    jobs = [hunyuan.from_call(image=photo), {"model": "3dgen/hunyuan2_3d", "input": {"image": photo}}]
    with client_for(genvr_simulator) as client:
        assert client.batch(jobs, tmp_path / "out.jsonl", progress=False).exit_code == 0
        with pytest.raises(GenVRError, match="not bytes"):
            client.batch([hunyuan.from_call(image=b"raw")], tmp_path / "other.jsonl", progress=False)
    assert genvr_simulator.counters()["uploads"] == 1 and genvr_simulator.counters()["tasks_created"] == 2
