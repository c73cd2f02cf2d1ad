"""The README's quickstart, run as written in a fresh virtualenv with `pip install .`, against the simulator
(issue 11, item 5). Only the simulator's port is changed (the fixture's free port for 8765), and the block that
starts the simulator is played by the fixture. Prints the plain install's size and time. Then, outside the checkout,
the installed package: `genvr.tools.load`, no top-level `generator`/`simulator`, and `genvr-simulator` once the
simulator extra is added."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from generator_helpers import ROOT
from simulator import SimulatorServer


def quickstart_blocks() -> list[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(sh|python)\n(.*?)```", section, re.S)


@pytest.mark.slow
def test_readme_quickstart_in_a_fresh_virtualenv(genvr_simulator: SimulatorServer, tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    assert [kind for kind, _ in blocks] == ["sh", "sh", "python", "sh"]
    assert blocks[0][1].strip().startswith("make simulator")  # the fixture is that simulator
    port = genvr_simulator.base_url.rsplit(":", 1)[1]
    script = ["set -euo pipefail"]
    for kind, text in blocks[1:]:
        text = text.replace("127.0.0.1:8765", f"127.0.0.1:{port}")
        script.append(text if kind == "sh" else f"python - <<'PYTHON'\n{text}PYTHON")
    source = tmp_path / "checkout"  # a copy: the build must not write into the working tree
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", ".cache", "build", ".*_cache", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENVR_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(tmp_path), PATH=os.defpath)
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=source, env=env, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("pred_") and "/files/" in line for line in lines), proc.stdout  # first call
    assert any(line.startswith("imagegen/flux_dev\tFlux Dev") for line in lines), proc.stdout  # genvr models
    saved = list((source / "out").iterdir())
    assert len(saved) == 1 and saved[0].read_bytes().startswith(b"\x89PNG")
    venv = tmp_path / "genvr-try"
    site = next(venv.glob("lib/python*/site-packages"))
    installed = sorted(p.name.split("-")[0].lower() for p in site.glob("*.dist-info"))
    assert not {"starlette", "uvicorn", "jinja2", "black", "datamodel_code_generator", "torch", "openai", "mcp"} & set(installed), installed
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file())
    print(f"\nquickstart: plain install + first runs {elapsed:.0f}s; virtualenv {size / 1e6:.0f} MB; {len(installed)} distributions: {', '.join(installed)}")
    check_installed_package(venv, site, source, env)


def check_installed_package(venv: Path, site: Path, source: Path, env: dict[str, str]) -> None:
    """What the wheel put in site-packages, used from outside the checkout: the LLM tool specs, and the generator
    and simulator under the one project namespace (no top-level `generator` or `simulator`)."""
    assert not (site / "generator").exists() and not (site / "simulator").exists(), sorted(p.name for p in site.iterdir())
    assert all((site / "genvr_bindings" / name).is_dir() for name in ("generator", "simulator", "templates", "discovery"))
    elsewhere = venv.parent / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import importlib.util, genvr.tools\n"
        "specs = genvr.tools.load('openai_chat_strict', category='imagegen')\n"
        "print(len(specs), specs[0]['function']['name'], genvr.tools.__file__)\n"
        "print([name for name in ('generator', 'simulator') if importlib.util.find_spec(name)])\n"
        "try:\n    genvr.tools.load('openai_chat_strict', category='images')\n"
        "except ValueError as exc:\n    print(exc)\n"
    )
    run = partial(subprocess.run, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    proc = run([venv / "bin" / "python", "-c", code])
    assert proc.returncode == 0, proc.stderr
    loaded, found, error = proc.stdout.splitlines()
    count, first, module = loaded.split(" ")
    assert int(count) > 10 and first.startswith("genvr_imagegen__") and module.startswith(str(site)), proc.stdout
    assert found == "[]" and error.startswith("unknown category 'images'; valid categories: ") and "imagegen" in error
    # Without its extra the simulator says what to install (no traceback).
    proc = run([venv / "bin" / "genvr-simulator", "--port", "0"])
    assert proc.returncode == 2 and "pip install 'genvr-bindings[simulator]'" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    # The generator extra: `genvr-generate` outside any checkout makes ./generated from the snapshot the wheel
    # ships, byte for byte what the checkout has.
    proc = run([venv / "bin" / "pip", "install", "--quiet", f"{source}[generator]"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = run([venv / "bin" / "genvr-generate", "generate"], env={**env, "GENVR_GENERATOR_CACHE": str(venv.parent / "cache")})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    made = {p.relative_to(elsewhere / "generated"): p.read_bytes() for p in (elsewhere / "generated").rglob("*") if p.is_file()}
    assert made == {p.relative_to(ROOT / "generated"): p.read_bytes() for p in (ROOT / "generated").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert not list(site.glob("genvr_bindings/generated")) and not list(site.glob("genvr_bindings/.cache"))
    # The simulator extra, then its console script under the new name, serving the snapshot the wheel ships.
    proc = run([venv / "bin" / "pip", "install", "--quiet", f"{source}[simulator]"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = run([venv / "bin" / "genvr-simulator", "--help"])
    assert proc.returncode == 0 and "usage: genvr-simulator" in proc.stdout, proc.stdout + proc.stderr
    with subprocess.Popen([venv / "bin" / "genvr-simulator", "--port", "0"], cwd=elsewhere, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            banner = server.stdout.readline()
        finally:
            server.terminate()
        served = re.search(r"GenVR simulator: http://127\.0\.0\.1:0 .* models=(\d+) ", banner)
        assert served and int(served[1]) > 0, banner + server.stderr.read()  # type: ignore[union-attr]
    assert not (site / "simulator").exists()
