"""The node pack inside a real ComfyUI (0.3.64, CPU, headless) against the simulator: `make test-comfyui`.

Skipped unless pytest runs with `--real-comfyui` (the first run builds a multi-GB virtualenv; see
tests/comfyui_real). Everything goes through ComfyUI's own HTTP API (`POST /prompt`, `/history`, `/interrupt`,
`/object_info`, `/upload/image`) and its own nodes (LoadImage, LoadVideo, LoadAudio, SaveImage, PreviewImage,
SaveVideo, SaveAudio, Preview3D), as the browser would.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from comfy_double import load_pack
from comfyui_real import TIMINGS, ComfyUI, dumps, error_message, free_port, interrupted, prepare_venv, saved_files, snapshot
from PIL import Image

from simulator import media as sim_media
from simulator.server import SimulatorServer
from simulator.settings import Settings

pytestmark = pytest.mark.real_comfyui

IMAGE_NODE = "GenVR_imagegen__flux_dev"
EDIT_NODE = "GenVR_imgedit__cartoonify"  # one IMAGE socket
VIDEO_NODE = "GenVR_videogen__bytedance_seedance1_t2v"
AUDIO_NODE = "GenVR_audiogen__elevenlabs_sound_effects"
MODEL_3D_NODE = "GenVR_3dgen__meshy3d_v6"
SVG_NODE = "GenVR_imagegen__recraft_v3_svg"
# What the pack says for these (the pack's README, "Troubleshooting").
MISSING_CREDENTIALS = "GenVR credentials not set (GENVR_API_KEY, GENVR_UID)"
WRONG_KEY = re.compile(r"GenVR refused the API key from .*config\.ini.*HTTP 401")
MEDIA_SOURCES = {"IMAGE": "9001", "VIDEO": "9002", "AUDIO": "9003"}  # node ids of LoadImage / LoadVideo / LoadAudio


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(Settings(job_seconds=0.05)) as server:
        yield server


@pytest.fixture(scope="module")
def comfy(tmp_path_factory: pytest.TempPathFactory, sim: SimulatorServer) -> Iterator[ComfyUI]:
    tarball = snapshot()
    python = prepare_venv(tarball)
    comfy = ComfyUI(python, tarball, tmp_path_factory.mktemp("comfyui"))
    comfy.write_config(comfy.user_config, api_key=sim.token, uid=sim.uid, base_url=sim.base_url)
    _write_input_media(comfy.input_dir)
    comfy.start()
    try:
        yield comfy
    finally:
        comfy.stop()


@pytest.fixture(autouse=True)
def _fresh_sim(sim: SimulatorServer) -> None:
    sim.reset(tasks=True, faults=True, settings=True)


def _input_image() -> np.ndarray:
    return np.random.default_rng(12).integers(0, 256, size=(24, 32, 3), dtype=np.uint8)


def _write_input_media(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_input_image()).save(folder / "genvr_input.png")
    (folder / "genvr_input.mp4").write_bytes(sim_media.make_file("mp4", b"input"))
    (folder / "genvr_input.wav").write_bytes(sim_media.make_file("wav", b"input"))


def _media_sources() -> dict[str, Any]:
    return {
        MEDIA_SOURCES["IMAGE"]: {"class_type": "LoadImage", "inputs": {"image": "genvr_input.png"}},
        MEDIA_SOURCES["VIDEO"]: {"class_type": "LoadVideo", "inputs": {"file": "genvr_input.mp4"}},
        MEDIA_SOURCES["AUDIO"]: {"class_type": "LoadAudio", "inputs": {"audio": "genvr_input.wav"}},
    }


def _defaults(info: dict[str, Any], text: str) -> dict[str, Any]:
    """Every input as the browser sends it for a freshly added node: widget defaults, required empty texts
    filled with `text`, every media socket connected to a Load* node."""
    inputs: dict[str, Any] = {}
    for section in ("required", "optional"):
        for name, spec in info["input"].get(section, {}).items():
            kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
            if isinstance(kind, list):
                inputs[name] = options.get("default", kind[0])
            elif kind == "COMBO":
                inputs[name] = options.get("default", options["options"][0])
            elif kind in MEDIA_SOURCES:
                inputs[name] = [MEDIA_SOURCES[kind], 0]
            elif kind in ("INT", "FLOAT", "BOOLEAN", "STRING"):
                value = options.get("default", {"INT": 0, "FLOAT": 0.0, "BOOLEAN": False, "STRING": ""}[kind])
                inputs[name] = text if kind == "STRING" and section == "required" and not value else value
    return inputs


def _consumer(info: dict[str, Any], node: str) -> dict[str, Any] | None:
    """ComfyUI's own node that takes the GenVR node's first output (None: the GenVR node is an output node)."""
    first = info["output"][0] if info["output"] else None
    if first == "IMAGE":
        return {"class_type": "SaveImage", "inputs": {"images": [node, 0], "filename_prefix": "genvr_test/img"}}
    if first == "VIDEO":
        return {"class_type": "SaveVideo", "inputs": {"video": [node, 0], "filename_prefix": "genvr_test/vid", "format": "auto", "codec": "auto"}}
    if first == "AUDIO":
        return {"class_type": "SaveAudio", "inputs": {"audio": [node, 0], "filename_prefix": "genvr_test/aud"}}
    if info["output_name"][:1] == ["model_file"]:
        return {"class_type": "Preview3D", "inputs": {"model_file": [node, 0]}}
    return None


def _workflow(comfy: ComfyUI, node_id: str, text: str, **overrides: Any) -> dict[str, Any]:
    info = _object_info(comfy)[node_id]
    inputs = {**_defaults(info, text), **overrides}
    prompt: dict[str, Any] = {"1": {"class_type": node_id, "inputs": inputs}}
    used = {v[0] for v in inputs.values() if isinstance(v, list) and len(v) == 2 and v[0] in MEDIA_SOURCES.values()}
    prompt.update({k: v for k, v in _media_sources().items() if k in used})
    consumer = _consumer(info, "1")
    if consumer is not None:
        prompt["2"] = consumer
    return prompt


_INFO: dict[str, Any] = {}


def _object_info(comfy: ComfyUI) -> dict[str, Any]:
    if not _INFO:
        _INFO.update(comfy.get("/object_info"))
    return _INFO


def _ok(comfy: ComfyUI, entry: dict[str, Any]) -> dict[str, Any]:
    assert entry["status"]["status_str"] == "success", f"{error_message(entry)}\n{dumps(entry)}\n{comfy.log_tail()}"
    return entry


def _probe(comfy: ComfyUI, path: Path) -> dict[str, Any]:
    """Streams of a media file, read with the PyAV of ComfyUI's own venv (what SaveVideo/LoadVideo use)."""
    code = ("import av, json, sys\n"
            "with av.open(sys.argv[1]) as c:\n"
            "    v = [s for s in c.streams if s.type == 'video']; a = [s for s in c.streams if s.type == 'audio']\n"
            "    frames = sum(1 for _ in c.decode(video=0)) if v else 0\n"
            "    print(json.dumps({'video': [s.codec_context.name for s in v], 'audio': [s.codec_context.name for s in a], 'frames': frames}))\n")
    out = subprocess.run([str(comfy.python), "-c", code, str(path)], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def test_the_pack_imports_and_object_info_lists_every_node(comfy: ComfyUI) -> None:
    expected = set(load_pack().NODE_CLASS_MAPPINGS)
    log = comfy.log()
    assert "IMPORT FAILED" not in log, comfy.log_tail()
    assert re.search(r"seconds: .*custom_nodes[/\\]genvr_nodes", log), comfy.log_tail()
    listed = {name for name, info in _object_info(comfy).items() if info.get("python_module", "").endswith("genvr_nodes")}
    assert listed == expected and len(expected) == 291


def test_text_to_image_ends_in_a_png_saveimage_wrote_pixel_equal_to_genvrs(comfy: ComfyUI, sim: SimulatorServer) -> None:
    entry = _ok(comfy, comfy.run(_workflow(comfy, IMAGE_NODE, "a lighthouse", seed=101)))
    [saved] = saved_files(entry, comfy.root)
    [task] = sim.state.tasks.values()
    served = httpx.get(sim.url(f"/files/{task.id}/0.png")).content
    assert np.array_equal(np.asarray(Image.open(saved).convert("RGB")), np.asarray(Image.open(io.BytesIO(served)).convert("RGB")))


def test_text_to_video_ends_in_a_playable_h264_file_savevideo_wrote(comfy: ComfyUI) -> None:
    entry = _ok(comfy, comfy.run(_workflow(comfy, VIDEO_NODE, "waves at night", seed=102)))
    [saved] = saved_files(entry, comfy.root)
    assert saved.suffix == ".mp4"
    probe = _probe(comfy, saved)
    assert probe["video"] == ["h264"] and probe["frames"] >= 2


def test_audio_ends_in_a_file_saveaudio_wrote(comfy: ComfyUI) -> None:
    entry = _ok(comfy, comfy.run(_workflow(comfy, AUDIO_NODE, "a door creaks")))
    [saved] = saved_files(entry, comfy.root)
    assert saved.suffix == ".flac" and _probe(comfy, saved)["audio"] == ["flac"]


def test_3d_model_is_downloaded_and_shown_by_preview3d(comfy: ComfyUI) -> None:
    entry = _ok(comfy, comfy.run(_workflow(comfy, MODEL_3D_NODE, "a teapot")))
    [shown] = [out["result"][0] for out in entry["outputs"].values() if "result" in out]  # Preview3D's ui
    path = comfy.output_dir / shown
    assert path.suffix == ".glb" and path.read_bytes()[:4] == b"glTF"


def test_svg_model_writes_svg_files(comfy: ComfyUI) -> None:
    folder = comfy.output_dir / "genvr"
    before = {p: p.stat().st_mtime_ns for p in folder.glob("*")}
    _ok(comfy, comfy.run(_workflow(comfy, SVG_NODE, "a fox logo")))
    written = [p for p in folder.glob("*") if before.get(p) != p.stat().st_mtime_ns]
    assert written and all(f.suffix == ".svg" and f.read_bytes().startswith(b"<svg") for f in written)


def test_an_image_from_loadimage_is_uploaded_pixel_identical(comfy: ComfyUI, sim: SimulatorServer) -> None:
    name = comfy.upload_image(_write_png(comfy.workdir / "upload.png"))
    prompt = _workflow(comfy, EDIT_NODE, "unused")
    prompt[MEDIA_SOURCES["IMAGE"]]["inputs"]["image"] = name
    _ok(comfy, comfy.run(prompt))
    [task] = sim.state.tasks.values()
    blob = httpx.get(task.params["image_url"]).content  # what GenVR stored for the upload
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")), _input_image()[::-1].copy())


def _write_png(path: Path) -> Path:
    Image.fromarray(_input_image()[::-1].copy()).save(path)  # not genvr_input.png: a file the browser uploads
    return path


def test_interrupt_stops_a_long_job(comfy: ComfyUI, sim: SimulatorServer) -> None:
    sim.configure(job_seconds=600)
    prompt_id = comfy.queue(_workflow(comfy, IMAGE_NODE, "a very slow painting", seed=103))
    deadline = time.monotonic() + 120
    while not sim.state.tasks and time.monotonic() < deadline:
        time.sleep(0.1)
    [task] = sim.state.tasks.values()
    httpx.post(comfy.base_url + "/interrupt", timeout=10).raise_for_status()
    entry = comfy.wait(prompt_id)
    assert interrupted(entry), dumps(entry)
    assert task.status_at(sim.state.clock()) != "completed"  # it stopped waiting; the job had not finished


def test_missing_credentials_and_a_wrong_key_give_the_documented_messages(comfy: ComfyUI, sim: SimulatorServer) -> None:
    saved = comfy.user_config.read_text()
    try:
        comfy.user_config.unlink()
        entry = comfy.run(_workflow(comfy, IMAGE_NODE, "no key", seed=104))
        assert entry["status"]["status_str"] == "error" and MISSING_CREDENTIALS in (error_message(entry) or ""), dumps(entry)
        comfy.write_config(comfy.pack_config, api_key="wrong-key-0123456789", uid=sim.uid, base_url=sim.base_url)
        entry = comfy.run(_workflow(comfy, IMAGE_NODE, "wrong key", seed=105))
        message = error_message(entry) or ""
        assert WRONG_KEY.search(message) and "wrong-key-0123456789" not in message, dumps(entry)
        assert "wrong-key-0123456789" not in comfy.log()
    finally:
        comfy.pack_config.unlink(missing_ok=True)
        comfy.user_config.write_text(saved)
    assert not sim.state.tasks  # neither started a job


def test_every_node_runs_with_its_defaults_and_media_connected(comfy: ComfyUI, sim: SimulatorServer) -> None:
    nodes = sorted(load_pack().NODE_CLASS_MAPPINGS)
    queued = {node: comfy.queue(_workflow(comfy, node, f"every node: {node}")) for node in nodes}
    failures = []
    for node, prompt_id in queued.items():
        entry = comfy.wait(prompt_id)
        if entry["status"]["status_str"] != "success":
            failures.append(f"{node}: {error_message(entry)}")
    assert not failures, f"{len(failures)} of {len(nodes)} nodes failed:\n" + "\n".join(failures)
    assert len(sim.state.tasks) == len(nodes)
    TIMINGS.notes.append(f"{len(nodes)} nodes listed and run")


def test_the_browser_gets_the_script_that_starts_seed_controls_on_fixed(comfy: ComfyUI) -> None:
    """ComfyUI's frontend gives every INT named `seed` a control set to "randomize" (a new paid job per Run);
    the pack's web/genvr.js, served by ComfyUI from WEB_DIRECTORY, sets it to "fixed" on new GenVR nodes."""
    assert "/extensions/genvr_nodes/genvr.js" in comfy.get("/extensions")
    script = httpx.get(comfy.base_url + "/extensions/genvr_nodes/genvr.js", timeout=30)
    assert script.status_code == 200 and 'startsWith("GenVR_")' in script.text and 'widget.value = "fixed"' in script.text
    seed = _object_info(comfy)[IMAGE_NODE]["input"]["optional"]["seed"]
    assert seed[0] == "INT" and seed[1]["control_after_generate"] is True  # the control the script sets exists


BROWSER_CHECK = """(async () => {
  app.graph.clear();
  const made = (type) => { const n = LiteGraph.createNode(type); app.graph.add(n); return n; };
  const value = (n, name) => n.widgets.find(w => w.name === name).value;
  const genvr = made('GenVR_imagegen__flux_dev'), sampler = made('KSampler'), hunyuan = made('GenVR_videogen__hunyuan_video');
  const width = hunyuan.widgets.find(w => w.name === 'width');
  const fresh = [value(genvr, 'control_after_generate'), value(sampler, 'control_after_generate'), width.value, width.options.step2];
  genvr.widgets.find(w => w.name === 'control_after_generate').value = 'randomize';  // the user opts in, saves, reloads
  await app.loadGraphData(JSON.parse(JSON.stringify(app.graph.serialize())));
  const back = app.graph._nodes.find(n => n.comfyClass === 'GenVR_imagegen__flux_dev');
  return [...fresh, value(back, 'control_after_generate')];
})()"""


def test_in_the_browser_a_new_genvr_seed_is_fixed_and_a_saved_choice_is_kept(comfy: ComfyUI, tmp_path: Path) -> None:
    """ComfyUI's own frontend (1.27.10) in headless Chromium: a new GenVR node's seed control starts on "fixed"
    (a KSampler's still on "randomize"), a workflow saved with "randomize" loads with "randomize", and
    hunyuan_video's width keeps its default 854 on a step it sits on."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get)")
    import asyncio

    port = free_port()
    browser = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}",
                                f"--user-data-dir={tmp_path}", comfy.base_url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = _devtools_page(port)
        deadline = time.monotonic() + 120
        while asyncio.run(_evaluate(page, "!!(window.app && window.app.graph && window.LiteGraph)")) is not True:
            assert time.monotonic() < deadline, "ComfyUI's frontend did not load"
            time.sleep(1)
        assert asyncio.run(_evaluate(page, BROWSER_CHECK)) == ["fixed", "randomize", 854, 2, "randomize"]
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def _devtools_page(port: int) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json", timeout=5).json() if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "Chromium's DevTools endpoint did not answer"
        time.sleep(0.5)


async def _evaluate(page: str, expression: str) -> Any:
    """Runtime.evaluate over the Chrome DevTools Protocol; the expression's value."""
    import websockets

    async with websockets.connect(page, max_size=2**24) as ws:
        await ws.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                  "params": {"expression": expression, "awaitPromise": True, "returnByValue": True}}))
        while True:
            message = json.loads(await ws.recv())
            if message.get("id") == 1:
                result = message.get("result", {})
                assert "exceptionDetails" not in result, result
                return result.get("result", {}).get("value")
