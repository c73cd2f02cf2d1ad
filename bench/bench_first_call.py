"""First-call cost (issue 13): what `from genvr import Client; Client(...).imagegen.flux_dev` (resolved, nothing
sent) costs a fresh interpreter over bare `python -c pass`, and whether that cost stays flat as models are added.

Each snippet runs in a fresh process, interleaved round by round (so a busy machine slows all of them alike), with
byte code cached as an installed package has it (a private cache prefix: the checkout is not written to). Results
are medians, in ms and as ratios against references measured in the same run: bare Python, and `import httpx`.

Flatness: synthetic generated packages of one category with 30 and 3000 models, made by the real generator
(client, category namespace of `cached_property`s, one method module per model).
`GENVR_BENCH_RUNS` sets the rounds (default 15).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("GENVR_BENCH_RUNS", "15"))
SIZES = (30, 3000)

FIRST_CALL = 'from genvr import Client; client = Client(api_key="x", uid="u"); client.imagegen.flux_dev'
CLIENT_ONLY = 'from genvr import Client; Client(api_key="x", uid="u")'


def _synthetic_call(package: str) -> str:
    return f'from {package} import Client; client = Client(api_key="x", uid="u"); client.imagegen.m0'


def write_synthetic(folder: Path, package: str, models: int) -> None:
    """The real generator's client, category namespace and per-model method modules (what resolving a method
    loads; input classes load only when a method is called) for one category `imagegen` of `models` models."""
    from generator.naming import Names
    from generator.normalize import normalize_model
    from generator.render import HEADER
    from generator.targets import python_package

    schema = {"type": "object", "required": ["prompt"], "properties": {
        "prompt": {"type": "string", "description": "What to draw"},
        "aspect_ratio": {"type": "string", "enum": ["1:1", "16:9", "9:16"], "default": "1:1"}}}
    specs = [normalize_model(category="imagegen", subcategory=f"m{i}", display_name=f"M{i}", description="Makes images",
                             raw_schema=schema) for i in range(models)]
    categories = python_package.plan(specs, Names())
    files = {path: text for path, text in python_package.render_package(categories).items()
             if path.startswith(("genvr/_client.py", "genvr/resources/"))}
    for category in categories:
        for model in category.models:
            files.update(python_package.model_files(model))
    files["genvr/__init__.py"] = f"{HEADER}\nfrom genvr._client import Client\n"
    for path, text in files.items():
        target = folder / package / path.removeprefix("genvr/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("genvr.", f"{package}.").replace("from genvr ", f"from {package} "))


def _run(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - start


def measure(snippets: dict[str, str], env: dict[str, str], runs: int) -> dict[str, float]:
    for code in snippets.values():
        _run(code, env)  # warm: byte code written, files in the page cache
    times: dict[str, list[float]] = {name: [] for name in snippets}
    for _ in range(runs):
        for name, code in snippets.items():
            times[name].append(_run(code, env))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="genvr-first-call-") as tmp:
        folder = Path(tmp)
        snippets = {"bare python": "pass", "import httpx": "import httpx",
                    "Client() only": CLIENT_ONLY, "first call path (generated genvr)": FIRST_CALL}
        for models in SIZES:
            package = f"synth_{models}"
            write_synthetic(folder, package, models)
            snippets[f"{models} models in one category (synthetic)"] = _synthetic_call(package)
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
               "PYTHONPATH": os.pathsep.join([str(ROOT / "runtime"), str(ROOT / "generated"), str(folder)])}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("GENVR_BASE_URL", None)
        medians = measure(snippets, env, RUNS)

    bare = medians["bare python"]
    httpx_cost = medians["import httpx"] - bare
    print(f"median of {RUNS} fresh processes each, interleaved; bare python = {bare * 1000:.1f} ms")
    print(f"{'snippet':62} {'ms':>8} {'over bare':>10} {'x bare':>7} {'x httpx import':>15}")
    for name, value in medians.items():
        over = value - bare
        print(f"{name:62} {value * 1000:8.1f} {over * 1000:10.1f} {value / bare:7.2f} {over / httpx_cost:15.2f}")
    target = medians["first call path (generated genvr)"] - bare
    print(f"first call path over bare python: {target * 1000:.1f} ms (issue 13 target: <= 100 ms)")
    small, large = (medians[f"{n} models in one category (synthetic)"] - bare for n in SIZES)
    print(f"flatness: {SIZES[1]} models cost {large / small:.2f}x of {SIZES[0]} ({small * 1000:.1f} -> {large * 1000:.1f} ms "
          f"over bare; the category module holds one cached_property per model)")


if __name__ == "__main__":
    main()
