"""The generated client against the simulator over real HTTP: one job per category, output bytes downloaded
and checked; and `make regenerate` reading discovery from a live server in both schema dialects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import genvr
from genvr.models import MODELS
from generator_helpers import GENERATED, ROOT, required_example, run_python, snapshot_specs
from simulator.server import SimulatorServer

MAGIC = {  # what a file of each kind starts with
    "png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "mp4": lambda b: b[4:8] == b"ftyp",
    "wav": lambda b: b.startswith(b"RIFF") and b[8:12] == b"WAVE",
    "glb": lambda b: b.startswith(b"glTF"),
}
MEDIA = {"imagegen": "png", "imgedit": "png", "imgutils": "png", "imgutils_control": "png", "imgutils_transfer": "png",
         "videogen": "mp4", "vidutils": "mp4", "videogen_templates": "mp4", "audiogen": "wav", "3dgen": "glb"}


def one_model_per_category() -> list[str]:
    chosen: dict[str, str] = {}
    for key, spec in sorted(snapshot_specs().items()):
        if not spec.free_form:
            chosen.setdefault(spec.category, key)
    return sorted(chosen.values())


def client_for(sim: SimulatorServer, **kw: object) -> genvr.Client:
    return genvr.Client(api_key=sim.token, uid=sim.uid, base_url=sim.base_url, poll_interval=0.02, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", one_model_per_category())
def test_one_job_per_category_end_to_end(genvr_simulator: SimulatorServer, key: str) -> None:
    spec = snapshot_specs()[key]
    module, _ = MODELS[key]
    _, _, category_attr, model_attr = module.split(".")
    with client_for(genvr_simulator) as client:
        result = getattr(getattr(client, category_attr), model_attr)(**required_example(spec))
        assert result.model == key and result.status == "completed" and result.output
        files = client.download_bytes(result)
    assert files and all(MAGIC[MEDIA[spec.category]](data) for data in files), key
    counters = genvr_simulator.counters()
    assert counters["tasks_created"] == 1
    assert counters["requests"]["POST /v2/generate"] == 1


def test_v1_family_and_download_to_folder(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    with client_for(genvr_simulator, api_version="v1") as client:
        result = client.imagegen.flux_dev(prompt="a lighthouse", aspect_ratio="1:1")
        saved = client.download(result, tmp_path)
    assert result.task_id.startswith("task-")
    assert [f.path.parent for f in saved] == [tmp_path] and MAGIC["png"](saved[0].path.read_bytes())
    assert genvr_simulator.counters()["requests"]["POST /api/v1/generate"] == 1


async def test_async_client_end_to_end(genvr_simulator: SimulatorServer) -> None:
    async with genvr.AsyncClient(api_key=genvr_simulator.token, uid=genvr_simulator.uid, base_url=genvr_simulator.base_url, poll_interval=0.02) as client:
        result = await client.audiogen.cartesia_sonic2(**required_example(snapshot_specs()["audiogen/cartesia_sonic2"]), sample_rate=24000)
        data = await client.download_bytes(result)
    assert MAGIC["wav"](data[0])


def test_server_side_validation_agrees_with_the_generated_class(genvr_simulator: SimulatorServer) -> None:
    """What the class accepts the simulator accepts: every required example, sent raw, passes server checks."""
    import httpx

    with httpx.Client(base_url=genvr_simulator.base_url, headers=genvr_simulator.headers) as http:
        for key, spec in snapshot_specs().items():
            if spec.free_form:
                continue
            from genvr.models import load_input_class

            params = load_input_class(key)(**required_example(spec)).to_api_params()
            body = {"uid": genvr_simulator.uid, "category": spec.category, "subcategory": spec.subcategory, **params}
            reply = http.post("/v2/generate", json=body)
            assert reply.status_code == 200, (key, reply.text)


def regenerate(sim: SimulatorServer, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    snapshot, out = tmp_path / "discovery", tmp_path / "generated"
    shutil.copytree(ROOT / "discovery", snapshot)
    done = subprocess.run(
        [sys.executable, "-m", "generator", "regenerate", "--base-url", sim.base_url, "--snapshot", str(snapshot), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    return done, out


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_regenerate_from_a_live_server_inputjson_dialect_reproduces_generated(genvr_simulator_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = genvr_simulator_factory(dialect="inputjson")
    done, out = regenerate(sim, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "models: 291 → 291" in done.stdout and "no change" in done.stdout
    assert tree(out) == tree(GENERATED)
    assert sim.counters()["requests"]["GET /api/models"] == 1


def test_regenerate_from_the_documented_parameters_dialect(genvr_simulator_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = genvr_simulator_factory(dialect="parameters")
    done, out = regenerate(sim, tmp_path)
    assert done.returncode == 0, done.stderr
    # The same models, inputs and constraints come through the documented form; every class imports and agrees.
    check = run_python(
        """
import json
from genvr.models import MODEL_KEYS, load_input_class
print(json.dumps({k: {n: [f.alias or n, f.is_required(), repr(f.annotation)] for n, f in load_input_class(k).model_fields.items()} for k in MODEL_KEYS}, sort_keys=True))
""",
        out,
    )
    assert check.returncode == 0, check.stderr
    import json

    fresh = json.loads(check.stdout)
    from genvr.models import MODEL_KEYS, load_input_class

    assert sorted(fresh) == sorted(MODEL_KEYS)
    for key in MODEL_KEYS:
        committed = load_input_class(key).model_fields
        assert {n: v[:2] for n, v in fresh[key].items()} == {n: [f.alias or n, f.is_required()] for n, f in committed.items()}, key


def test_a_local_file_given_to_a_generated_method_is_uploaded_then_sent_as_its_url(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    import httpx

    picture = tmp_path / "photo.png"
    with client_for(genvr_simulator) as client:
        picture.write_bytes(client.download_bytes(client.imagegen.flux_dev(prompt="a cat"))[0])  # a real PNG
        result = client.imgedit.background_change(image_url=picture)
    assert MAGIC["png"](picture.read_bytes()) and result.status == "completed"
    counters = genvr_simulator.counters()
    assert counters["uploads"] == 1
    task = httpx.get(genvr_simulator.url(f"/_sim/tasks/{result.task_id}")).json()["task"]
    sent = task["params"]["image_url"]
    assert sent.startswith(f"{genvr_simulator.base_url}/blob/") and ".png?" in sent  # the uploaded blob, not a path
    assert httpx.get(sent).content == picture.read_bytes()
