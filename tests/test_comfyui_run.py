"""GenVR nodes executed against the simulator (real HTTP on 127.0.0.1), with the ComfyUI modules the pack
imports provided by tests/comfy_double: decoded outputs, uploads, interrupt, errors, credentials."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from comfy_double import PACK_DIR, ComfyDouble, InterruptProcessingException, install, load_pack
from PIL import Image

from simulator.server import SimulatorServer

SECRET = "sim-token"  # the simulator's key: it must never show up in outputs, status text or errors


@pytest.fixture
def comfy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> tuple[ComfyDouble, Any]:
    _credentials(monkeypatch, genvr_simulator)
    double = install(monkeypatch, tmp_path)
    return double, load_pack()


def _credentials(monkeypatch: pytest.MonkeyPatch, sim: SimulatorServer, key: str | None = None) -> None:
    monkeypatch.setenv("GENVR_API_KEY", key or sim.token)
    monkeypatch.setenv("GENVR_UID", sim.uid)
    monkeypatch.setenv("GENVR_BASE_URL", sim.base_url)


def _node(pack: Any, node_id: str) -> Any:
    return pack.NODE_CLASS_MAPPINGS[node_id]()


def _png_tensor(url: str) -> torch.Tensor:
    data = httpx.get(url).content
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255.0)


def _node_error(pack: Any) -> type[Exception]:
    import importlib

    return importlib.import_module(pack.__name__ + "._genvr.flow").GenVRNodeError  # type: ignore[no-any-return]


async def test_image_node_returns_the_simulators_png_as_an_image_batch(comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    double, pack = comfy
    images, urls = await _node(pack, "GenVR_imagegen__flux_dev").run(unique_id="12", prompt="a lighthouse at dawn", seed=7)
    assert isinstance(images, torch.Tensor) and images.dtype == torch.float32
    assert images.ndim == 4 and images.shape[-1] == 3 and 0.0 <= images.min() and images.max() <= 1.0
    url_list = urls.splitlines()
    assert len(url_list) == images.shape[0] >= 1 and url_list[0].startswith(genvr_simulator.base_url)
    for i, url in enumerate(url_list):
        assert torch.equal(images[i], _png_tensor(url))  # pixel-equal to the file GenVR served
    task = next(iter(genvr_simulator.state.tasks.values()))
    assert task.params == {"prompt": "a lighthouse at dawn", "seed": 7}  # only what was set; -1 seeds are not sent
    assert double.bars == [(100, "12")] and double.progress[-1] == (100, 100)
    assert [v for v, _ in double.progress] == sorted(v for v, _ in double.progress)
    assert any(task.id in text for _, text in double.texts) and all(node == "12" for node, _ in double.texts)
    assert not any(SECRET in text for _, text in double.texts)


async def test_image_socket_is_uploaded_and_video_comes_back_as_video(comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    double, pack = comfy
    frame = torch.rand(1, 6, 5, 3)
    video, files, urls = await _node(pack, "GenVR_videogen__kling2_5_i2v").run(prompt="waves", image=frame, duration="10")
    task = next(iter(genvr_simulator.state.tasks.values()))
    assert genvr_simulator.counters()["uploads"] == 1
    assert task.params["image_url"].startswith(genvr_simulator.base_url + "/blob/") and task.params["duration"] == "10"
    uploaded = httpx.get(task.params["image_url"]).content  # what GenVR received: the frame as PNG
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(uploaded))), (frame[0] * 255).round().byte().numpy())
    path = Path(files)
    assert path.parent == double.output_dir / "genvr" and path.suffix == ".mp4" and path.read_bytes()[4:8] == b"ftyp"
    assert video.get_stream_source() == str(path)  # comfy_api VideoFromFile on the downloaded file
    assert urls.startswith(genvr_simulator.base_url)


async def test_audio_and_3d_outputs(comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    double, pack = comfy
    audio, files, _ = await _node(pack, "GenVR_audiogen__elevenlabs_sound_effects").run(text="rain on a tin roof")
    assert set(audio) == {"waveform", "sample_rate"} and audio["sample_rate"] == 8000
    assert audio["waveform"].shape[:2] == (1, 1) and audio["waveform"].dtype == torch.float32
    assert 0.1 < audio["waveform"].abs().max() <= 1.0 and Path(files).read_bytes()[8:12] == b"WAVE"

    model_file, files, urls = await _node(pack, "GenVR_3dgen__trellis").run(images=torch.rand(2, 4, 4, 3))
    assert genvr_simulator.counters()["uploads"] == 2  # a batch of two frames → two uploads, one list input
    trellis = [t for t in genvr_simulator.state.tasks.values() if t.subcategory == "trellis"][0]
    assert len(trellis.params["images"]) == 2
    assert model_file.startswith("genvr/") and model_file.endswith(".glb")
    assert (double.output_dir / model_file).read_bytes()[:4] == b"glTF" and Path(files) == double.output_dir / model_file


async def test_output_of_the_wrong_kind_is_an_error_and_the_file_is_kept(comfy: tuple[ComfyDouble, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    double, pack = comfy
    monkeypatch.setattr("simulator.state.kind_for_model", lambda category, subcategory: "glb")  # GenVR sends a mesh
    with pytest.raises(_node_error(pack), match=r"output 1 is a 3d file \(\.glb\), but this node returns image") as info:
        await _node(pack, "GenVR_3dgen__panorama").run(image_url="https://example.org/a.png", mask_url="https://example.org/m.png")
    saved = list((double.output_dir / "genvr").glob("*.glb"))
    assert len(saved) == 1 and str(saved[0]) in str(info.value)


async def test_the_panorama_model_in_3dgen_returns_an_image(comfy: tuple[ComfyDouble, Any]) -> None:
    """Its description says it makes panoramic images; the simulator served a GLB for every 3dgen model, and the
    node (an image node) failed on every run. Both now read generated/genvr/output_kinds.py."""
    _, pack = comfy
    images, urls = await _node(pack, "GenVR_3dgen__panorama").run(prompt="a beach at noon")
    assert images.ndim == 4 and images.shape[-1] == 3 and urls.split("?")[0].endswith(".png")


async def test_a_video_without_a_video_stream_is_an_error_naming_the_file(comfy: tuple[ComfyDouble, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """ComfyUI's SaveVideo fails with an FFmpeg error deep inside on such a file; the node says what is wrong."""
    import simulator.media

    def no_track(salt: bytes) -> bytes:  # what the simulator served before: ftyp + moov(mvhd) + mdat, no track
        box = simulator.media._box
        return box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + box(b"moov", box(b"mvhd", bytes(100))) + box(b"mdat", salt)

    monkeypatch.setattr(simulator.media, "make_mp4", no_track)
    double, pack = comfy
    with pytest.raises(_node_error(pack), match=r"output 1 is a video file without a playable video stream \(\d+ bytes\)") as info:
        await _node(pack, "GenVR_videogen__bytedance_seedance1_t2v").run(prompt="waves")
    [saved] = (double.output_dir / "genvr").glob("*.mp4")
    assert str(saved) in str(info.value)


async def test_missing_credentials_fail_before_any_request(monkeypatch: pytest.MonkeyPatch, comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    _, pack = comfy
    monkeypatch.delenv("GENVR_API_KEY")
    with pytest.raises(_node_error(pack), match="GENVR_API_KEY"):
        await _node(pack, "GenVR_imagegen__flux_dev").run(prompt="x")
    assert genvr_simulator.counters()["requests"] == {}


async def test_invalid_input_fails_before_any_request(comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    _, pack = comfy
    with pytest.raises(_node_error(pack), match=r"GenVR Kling .*connect `image` or fill in `image_url`"):
        await _node(pack, "GenVR_videogen__kling2_5_i2v").run(prompt="waves")
    assert genvr_simulator.counters()["requests"] == {}


async def test_failed_job_names_model_task_and_reason_never_the_key(comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    _, pack = comfy
    genvr_simulator.configure(faults={"task_failure_rate": 1.0, "failure_message": "content policy"})
    with pytest.raises(_node_error(pack)) as info:
        await _node(pack, "GenVR_imagegen__flux_dev").run(prompt="x")
    task = next(iter(genvr_simulator.state.tasks.values()))
    message = str(info.value)
    assert "imagegen/flux_dev" in message and task.id in message and "content policy" in message
    assert SECRET not in message


async def test_rejected_key_is_reported_without_echoing_it(monkeypatch: pytest.MonkeyPatch, comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer) -> None:
    _, pack = comfy
    _credentials(monkeypatch, genvr_simulator, key="wrong-key-0123456789")
    with pytest.raises(_node_error(pack), match="HTTP 401") as info:
        await _node(pack, "GenVR_imagegen__flux_dev").run(prompt="x")
    assert "wrong-key-0123456789" not in str(info.value) and "wrong-key" not in repr(info.value.__cause__)
    # Where the key came from, and what to do about it.
    assert "GenVR refused the API key from the environment variable GENVR_API_KEY" in str(info.value)
    assert "Teams page" in str(info.value)


async def test_rejected_key_from_a_config_file_names_that_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> None:
    for var in ("GENVR_API_KEY", "GENVR_UID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GENVR_BASE_URL", genvr_simulator.base_url)
    double = install(monkeypatch, tmp_path)
    config = double.user_dir / "genvr" / "config.ini"
    config.parent.mkdir(parents=True)
    config.write_text(f"[genvr]\napi_key = wrong-key-0123456789\nuid = {genvr_simulator.uid}\n")
    pack = load_pack()
    with pytest.raises(_node_error(pack), match=re.escape(f"GenVR refused the API key from {config} (HTTP 401")):
        await _node(pack, "GenVR_imagegen__flux_dev").run(prompt="x")


async def test_an_unreachable_base_url_is_named(monkeypatch: pytest.MonkeyPatch, comfy: tuple[ComfyDouble, Any]) -> None:
    _, pack = comfy
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("GENVR_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(_node_error(pack), match=re.escape(f"http://127.0.0.1:{port}")):
        await _node(pack, "GenVR_imagegen__flux_dev").run(prompt="x")


async def test_cancel_interrupts_the_wait_promptly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator_factory: Any) -> None:
    sim = genvr_simulator_factory(job_seconds=30.0)
    _credentials(monkeypatch, sim)
    double = install(monkeypatch, tmp_path)
    pack = load_pack()
    run = asyncio.ensure_future(_node(pack, "GenVR_imagegen__flux_dev").run(prompt="x"))
    while sim.state.counters.tasks_created == 0:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    double.interrupt()
    pressed = time.monotonic()
    with pytest.raises(InterruptProcessingException):  # ComfyUI's own class: shown as "interrupted"
        await run
    assert time.monotonic() - pressed < 1.0
    assert double.interrupt_flag is False  # consumed the way ComfyUI's helper does
    polls = sim.counters()["requests"]
    await asyncio.sleep(0.6)
    assert sim.counters()["requests"] == polls  # no polling after the cancel


def test_blocking_function_on_comfyui_without_async_nodes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> None:
    _credentials(monkeypatch, genvr_simulator)
    install(monkeypatch, tmp_path, async_nodes=False)
    node = _node(load_pack(), "GenVR_imagegen__flux_dev")
    assert node.FUNCTION == "run_blocking"
    images, urls = getattr(node, node.FUNCTION)(prompt="x")
    assert images.shape[0] == len(urls.splitlines()) == 1


async def test_credentials_from_config_file_next_to_the_pack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> None:
    for var in ("GENVR_API_KEY", "GENVR_UID", "GENVR_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    pack_dir = tmp_path / "custom_nodes" / "genvr.pack"  # a dot in the folder name, as ComfyUI's loader allows
    shutil.copytree(PACK_DIR, pack_dir, ignore=shutil.ignore_patterns("__pycache__"))
    (pack_dir / "config.ini").write_text(
        f"[genvr]\napi_key = {genvr_simulator.token}\nuid = {genvr_simulator.uid}\nbase_url = {genvr_simulator.base_url}\n"
    )
    install(monkeypatch, tmp_path / "comfy")
    pack = load_pack(pack_dir)
    images, _ = await _node(pack, "GenVR_imagegen__flux_dev").run(prompt="x")
    assert images.shape[-1] == 3
    config = __import__("importlib").import_module(pack.__name__ + "._genvr.config")
    assert SECRET not in repr(config.load())


async def test_an_undocumented_status_is_logged_once_per_session_not_per_job(comfy: tuple[ComfyDouble, Any], genvr_simulator: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    _, pack = comfy
    genvr_simulator.configure(faults={"extra_statuses": ["warming_up"]}, job_seconds=0.6)
    caplog.set_level("INFO", logger="genvr_runtime")
    for prompt in ("one", "two", "three"):
        await _node(pack, "GenVR_imagegen__flux_dev").run(prompt=prompt)
    about = [r.getMessage() for r in caplog.records if "undocumented status 'warming_up'" in r.getMessage()]
    assert len(about) == 1 and "once per session" in about[0]
    assert len({t.id for t in genvr_simulator.state.tasks.values()}) == 3
