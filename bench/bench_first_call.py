"""First-call cost (issue 13): what `from genvr import Client; Client(...).imagegen.flux_dev` (resolved, nothing
sent) costs a fresh interpreter over bare `python -c pass`, and whether that cost stays flat as models are added.

Each snippet runs in a fresh process, interleaved round by round (so a busy machine slows all of them alike), with
byte code cached as an installed package has it (a private cache prefix: the checkout is not written to). Results
are medians, in ms and as ratios against references measured in the same run: bare Python, and `import httpx`.

Flatness: synthetic generated packages of one category, with 30 and 3000 models, in two shapes: per-model
modules (each defining a `ModelMethod` class) reached through a category object of `cached_property`s (the shape
issue 13 moves to), and the old shape (one category class holding every model's methods, a `ModelNamespace`).
Measured once (15 rounds) against a third shape, a category holding only a name table and a `__getattr__`: no
gain over the `cached_property`s (63 vs 65 ms over bare at 3000 models), so it is not offered.
`GENVR_BENCH_RUNS` sets the rounds (default 15).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("GENVR_BENCH_RUNS", "15"))
SIZES = (30, 3000)

FIRST_CALL = 'from genvr import Client; client = Client(api_key="x", uid="u"); client.imagegen.flux_dev'
CLIENT_ONLY = 'from genvr import Client; Client(api_key="x", uid="u")'


def _synthetic_call(package: str) -> str:
    return f'from {package} import Client; client = Client(api_key="x", uid="u"); client.imagegen.m0'


_CLIENT = '''\
from functools import cached_property
from typing import TYPE_CHECKING

from genvr_runtime import BaseClient

if TYPE_CHECKING:
    from {package}.resources.imagegen import Imagegen


class Client(BaseClient):
    @cached_property
    def imagegen(self) -> "Imagegen":
        from {package}.resources.imagegen import Imagegen

        return Imagegen(self)
'''

_INPUT = '''\
from typing import Literal

from genvr_runtime import GenVRInput, ModelInfo


class M{i}Input(GenVRInput):
    prompt: str
    aspect_ratio: Literal["1:1", "16:9", "9:16"] | None = None


M{i}Input.genvr_model = ModelInfo(category="imagegen", subcategory="m{i}", name="M{i}")
'''

# The body of one model's call, both shapes: overloads on `wait`, inputs validated by a lazily imported class.
_SIGNATURE = '''\
self, *, prompt: str, aspect_ratio: Literal["1:1", "16:9", "9:16"] | NotGiven = NOT_GIVEN, {wait},
        wait_timeout: float | None = None, on_update: Callable[[str], None] | None = None'''
_BODY = '''\
        """Model m{i}: makes images.

        Args:
            prompt: What to draw.
            aspect_ratio: One of '1:1', '16:9', '9:16'.
        """
        from {package}.models.m{i} import M{i}Input

        params = M{i}Input.from_call(prompt=prompt, aspect_ratio=aspect_ratio)
        return self._client.run(params, wait_timeout=wait_timeout, on_update=on_update) if wait else self._client.submit(params)
'''
_HEADER = '''\
from __future__ import annotations

from collections.abc import Callable
from typing import Literal, overload

from genvr_runtime import NOT_GIVEN, BaseClient, GenerationResult, Job, {base}, NotGiven
'''


def _method(name: str, i: int, package: str) -> str:
    sig = _SIGNATURE.format(wait="{wait}")
    return (f"    @overload\n    def {name}({sig.format(wait='wait: Literal[True] = True')}) -> GenerationResult: ...\n\n"
            f"    @overload\n    def {name}({sig.format(wait='wait: Literal[False]')}) -> Job: ...\n\n"
            f"    def {name}({sig.format(wait='wait: bool = True')}) -> GenerationResult | Job:\n"
            + _BODY.format(i=i, package=package))


SHAPES = {
    "cached_property": "per-model modules, category of cached_propertys",
    "one_module": "one category module, ModelNamespace",
}


def write_synthetic(folder: Path, package: str, models: int, shape: str) -> None:
    """A generated-like package `package` with one category `imagegen` of `models` models m0, m1, ..."""
    root = folder / package
    (root / "models").mkdir(parents=True)
    (root / "__init__.py").write_text(f"from {package}._client import Client\n")
    (root / "_client.py").write_text(_CLIENT.format(package=package))
    (root / "models" / "__init__.py").write_text("")
    for i in range(models):
        (root / "models" / f"m{i}.py").write_text(_INPUT.format(i=i))
    resources = root / "resources"
    resources.mkdir()
    (resources / "__init__.py").write_text("")
    if shape == "one_module":
        methods = "\n".join(_method(f"m{i}", i, package) for i in range(models))
        (resources / "imagegen.py").write_text(
            _HEADER.format(base="ModelNamespace")
            + "\n\nclass Imagegen(ModelNamespace):\n    _label = 'client.imagegen'\n\n"
            "    def __init__(self, client: BaseClient) -> None:\n        self._client = client\n\n" + methods)
        return
    category = resources / "imagegen"
    category.mkdir()
    type_imports = "".join(f"    from {package}.resources.imagegen.m{i} import M{i}\n" for i in range(models))
    body = ("class Imagegen:\n    def __init__(self, client: BaseClient) -> None:\n        self._client = client\n"
            + "".join(f"\n    @cached_property\n    def m{i}(self) -> M{i}:\n"
                      f"        from {package}.resources.imagegen.m{i} import M{i}\n\n        return M{i}(self._client)\n"
                      for i in range(models)))
    (category / "__init__.py").write_text(
        "from __future__ import annotations\n\nfrom functools import cached_property\nfrom typing import TYPE_CHECKING\n\n"
        "from genvr_runtime import BaseClient\n\nif TYPE_CHECKING:\n" + type_imports + "\n\n" + body)
    for i in range(models):
        (category / f"m{i}.py").write_text(
            _HEADER.format(base="ModelMethod")
            + f"\n\nclass M{i}(ModelMethod[BaseClient]):\n    _label = 'client.imagegen.m{i}'\n\n"
            + _method("__call__", i, package))


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
            for shape, label in SHAPES.items():
                package = f"synth_{shape}_{models}"
                write_synthetic(folder, package, models, shape)
                snippets[f"{models} models: {label}"] = _synthetic_call(package)
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
    for label in SHAPES.values():
        small, large = (medians[f"{n} models: {label}"] - bare for n in SIZES)
        print(f"flatness, {label}: {SIZES[1]} models cost {large / small:.2f}x of {SIZES[0]} "
              f"({small * 1000:.1f} -> {large * 1000:.1f} ms over bare)")


if __name__ == "__main__":
    main()
