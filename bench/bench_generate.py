"""Generator speed and import cost, each as a ratio against a baseline measured in the same run.

- cold generation of all models (fresh process, no cache) and a no-op regeneration (warm cache, nothing to
  write) against the naive approach: the datamodel-codegen CLI once per model (timed on a sample,
  extrapolated to every model);
- `import genvr`, and the time to first use of one model class, against importing every model module
  eagerly (what a package without lazy loading pays).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 12  # models timed through the CLI baseline


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def python_time(code: str, runs: int = 5) -> float:
    """Median wall time of a snippet in fresh interpreters, as measured inside (startup excluded)."""
    values = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", f"import time\nt=time.perf_counter()\n{code}\nprint(time.perf_counter()-t)"], cwd=ROOT, check=True, capture_output=True, text=True)
        values.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(values)


def cli_baseline(tmp: Path) -> tuple[float, int]:
    """datamodel-codegen CLI, one process per model, on a sample; returns (extrapolated seconds, models)."""
    from generator.discovery import SnapshotSource
    from generator.pipeline import build_specs
    from generator.targets import python_package

    categories = python_package.plan(build_specs(SnapshotSource(ROOT / "discovery").load()).models)
    models = [m for c in categories for m in c.models]
    step = max(1, len(models) // SAMPLE)
    sample = models[::step][:SAMPLE]
    cli = str(Path(sys.executable).with_name("datamodel-codegen"))
    total = 0.0
    for model in sample:
        schema = tmp / f"{model.attr}.json"
        schema.write_text(json.dumps(python_package.json_schema(model)))
        total += timed([cli, "--input", str(schema), "--input-file-type", "jsonschema", "--output-model-type", "pydantic_v2.BaseModel", "--class-name", model.class_name, "--use-annotated", "--field-constraints", "--enum-field-as-literal", "all", "--disable-timestamp", "--output", str(tmp / f"{model.attr}.py")])
    return total / len(sample) * len(models), len(models)


def changed_snapshot(tmp: Path) -> Path:
    """A copy of the snapshot in which one model's description changed."""
    snap = tmp / "discovery-changed"
    shutil.copytree(ROOT / "discovery", snap)
    models = json.loads((snap / "models.json").read_text(encoding="utf-8-sig"))
    for entry in models["data"]:
        if (entry["category"], entry["subcategory"]) == ("imagegen", "flux_dev"):
            entry["description"] = entry.get("description", "") + " (changed)"
    (snap / "models.json").write_text(json.dumps(models), encoding="utf-8")
    return snap


def changed_input_snapshot(tmp: Path) -> Path:
    """A copy of the snapshot in which one input of one model changed (its bound): DCG must run for it."""
    snap = tmp / "discovery-changed-input"
    shutil.copytree(ROOT / "discovery", snap)
    path = snap / "schemas" / "imagegen" / "flux_dev.json"
    doc = json.loads(path.read_text(encoding="utf-8-sig"))
    doc["schema"]["properties"]["guidance"]["maximum"] = 12
    path.write_text(json.dumps(doc), encoding="utf-8")
    return snap


def one_changed(gen: list[str], snap: Path, env: dict[str, str], tmp: Path) -> float:
    """Median time to regenerate `snap` after the committed snapshot was generated (cache warm for it)."""
    changed = []
    for _ in range(3):  # the original again, then the changed snapshot: one model's files are new each time
        shutil.rmtree(tmp / "cache", ignore_errors=True)
        timed(gen, env)
        changed.append(timed([*gen, "--snapshot", str(snap)], env))
    return statistics.median(changed)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "generated"
        gen = [sys.executable, "-m", "generator", "generate", "--out", str(out)]
        colds = []
        for i in range(3):  # each in an empty folder with an empty cache
            shutil.rmtree(out, ignore_errors=True)
            colds.append(timed([*gen, "--no-cache"], {**os.environ, "GENVR_GENERATOR_CACHE": str(tmp / f"cold{i}")}))
        cold = statistics.median(colds)
        env = {**os.environ, "GENVR_GENERATOR_CACHE": str(tmp / "cache")}
        timed(gen, env)  # fills the cache
        noop = statistics.median(timed(gen, env) for _ in range(5))
        one = one_changed(gen, changed_snapshot(tmp), env, tmp)
        one_input = one_changed(gen, changed_input_snapshot(tmp), env, tmp)
        baseline, n = cli_baseline(tmp)
    print(f"models: {n}")
    print(f"baseline  datamodel-codegen CLI per model (sample {SAMPLE}, extrapolated): {baseline:7.2f} s")
    print(f"cold      generate --no-cache (empty cache, 2 workers):         {cold:7.2f} s   {baseline / cold:6.1f}x faster   goal <= 3 s and >= 40x")
    print(f"no-op     generate (cache warm, nothing to write):              {noop:7.2f} s   {cold / noop:6.1f}x less than cold   goal <= 0.5 s")
    print(f"one model generate (one description changed):                  {one:7.2f} s   {cold / one:6.1f}x less than cold   goal <= 0.5 s")
    print(f"one model generate (one input changed: DCG runs for it):       {one_input:7.2f} s   {cold / one_input:6.1f}x less than cold   goal <= 0.5 s")

    eager = python_time("from genvr.models import MODELS\nimport importlib\nfor module, _ in MODELS.values(): importlib.import_module(module)", runs=3)
    lazy_import = python_time("import genvr")
    first_use = python_time("import genvr\nfrom genvr.models.imagegen.flux_dev import FluxDevInput\nFluxDevInput(prompt='x')")
    client_use = python_time("import genvr\nc = genvr.Client(api_key='k', uid='u')\nc.imagegen.flux_dev")
    print(f"baseline  import every model module eagerly:                    {eager * 1000:7.1f} ms")
    print(f"import genvr:                                                   {lazy_import * 1000:7.1f} ms   {eager / lazy_import:6.0f}x less")
    print(f"first use of one model class (import + validate):               {first_use * 1000:7.1f} ms   {eager / first_use:6.1f}x less")
    print(f"client + one category namespace:                                {client_use * 1000:7.1f} ms   {eager / client_use:6.1f}x less")


if __name__ == "__main__":
    main()
