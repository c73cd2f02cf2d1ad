"""The runtime's module structure: no import circles, and the first call loads only what it needs.

The cycle check reads the sources (`ast`), so a circle hidden in a function-level import counts too; only imports
under `if TYPE_CHECKING:` are left out (they never run). The load checks run a fresh interpreter each, since
what a module drags in is only visible in a clean `sys.modules`.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import SimulatorServer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "runtime" / "genvr_runtime"
NAME = "genvr_runtime"


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Runtime modules `module` imports anywhere (function bodies included), except under TYPE_CHECKING."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]

    def resolve(target: str) -> None:
        # `from a.b import c`: c may be a module (a.b.c) or a name of a.b; a package's import also runs its parents
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target.startswith(NAME) and target != module:
            found.add(target)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                resolve(f"{source}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    files = sorted(package.rglob("*.py"))
    known = {_module_name(f, package) for f in files}
    return {_module_name(f, package): _imports(ast.parse(f.read_text(encoding="utf-8")), _module_name(f, package),
                                               f.name == "__init__.py", known) for f in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None. A package's `__init__` importing its own submodules is not
    a circle (the submodule imports the package first, but finds it already in sys.modules)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if node.startswith(nxt + "."):  # a submodule "importing" its own package
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_cycle_finder_sees_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / NAME
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_a.py").write_text("from genvr_runtime._b import x\n")
    (pkg / "_b.py").write_text("def f():\n    from genvr_runtime import _a\n")
    assert find_cycle(import_graph(pkg)) == ["genvr_runtime._a", "genvr_runtime._b", "genvr_runtime._a"]
    (pkg / "_b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from genvr_runtime import _a\n")
    assert find_cycle(import_graph(pkg)) is None


def test_runtime_has_no_import_cycles() -> None:
    graph = import_graph()
    assert "genvr_runtime._client" in graph and graph["genvr_runtime._client"], "the graph reads the sources"
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


# -- what the first call loads -------------------------------------------------------------------------------------

_PROBE = """
import json, sys
from genvr import Client
client = Client(api_key={key!r}, uid={uid!r}, base_url={url!r}, poll_interval=0.01, max_poll_interval=0.05)
after_client = sorted(sys.modules)
method = client.imagegen.flux_dev
after_attribute = sorted(sys.modules)
result = method(prompt="a lighthouse")
assert result.output, result
print(json.dumps({{"client": after_client, "attribute": after_attribute, "call": sorted(sys.modules)}}))
"""


def _loaded(code: str) -> dict[str, set[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("runtime", "generated", ""))}
    env.pop("GENVR_BASE_URL", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return {k: set(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def _family(modules: set[str], *roots: str) -> set[str]:
    return {m for m in modules if any(m == r or m.startswith(r + ".") for r in roots)}


@pytest.fixture()
def first_call(genvr_simulator: SimulatorServer) -> dict[str, set[str]]:
    """Modules loaded by a fresh process after `Client()`, after `client.imagegen.flux_dev`, and after calling it
    once (a real job on the simulator)."""
    sim = genvr_simulator
    return _loaded(_PROBE.format(key=sim.token, uid=sim.uid, url=sim.base_url))


def test_client_construction_loads_no_http_validation_or_batch_code(first_call: dict[str, set[str]]) -> None:
    after_client = first_call["client"]
    assert _family(after_client, "httpx", "httpcore", "pydantic", "pydantic_core", "rich", "asyncio",
                   "sqlite3", "genvr_runtime._batch", "genvr_runtime._inputs", "genvr_runtime._http") == set()


def test_resolving_a_model_method_loads_no_http_validation_or_batch_code(first_call: dict[str, set[str]]) -> None:
    after_attribute = first_call["attribute"]
    # input classes (pydantic) load when the method is called, not when it is looked up
    assert _family(after_attribute, "httpx", "httpcore", "pydantic", "pydantic_core", "rich", "asyncio", "sqlite3",
                   "genvr_runtime._batch", "genvr_runtime._inputs", "genvr.models") == set()


def test_a_single_call_loads_no_batch_code(first_call: dict[str, set[str]]) -> None:
    after_call = first_call["call"]
    assert "httpx" in after_call and "genvr_runtime._http" in after_call, "the probe really sent the call"
    assert _family(after_call, "genvr_runtime._batch", "genvr_runtime.cli", "genvr_runtime.tools", "sqlite3") == set()
    # httpx itself imports rich when its command-line extra happens to be installed; we add no rich module
    only_httpx = _loaded("import json, sys, httpx\nm = sorted(sys.modules)\n"
                         "print(json.dumps({'client': m, 'attribute': m, 'call': m}))")["call"]
    assert _family(after_call, "rich") <= _family(only_httpx, "rich")
