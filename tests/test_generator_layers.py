"""The generator's modules import downwards only: no import circle (imports inside functions count too, they are
how circles hide), and no target imports the stages above it (pipeline, cli, refresh)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[1] / "generator"
ABOVE_TARGETS = {"generator.pipeline", "generator.cli", "generator.refresh", "generator.__main__"}


def absolute(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The module an import names: `from ..render import x` in generator/targets/docs.py is generator.render."""
    if node.level == 0:
        return node.module or ""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Module → the generator modules it imports anywhere in its body."""
    modules = {}
    for path in GENERATOR.rglob("*.py"):
        parts = path.relative_to(GENERATOR.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = absolute(name, path, node)
                if not module.startswith("generator"):
                    continue
                for alias in node.names:  # `from generator.targets import x` imports the module x
                    deps.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("generator"))
        graph[name] = {d for d in deps if d in modules and d != name and modules[d].name != "__init__.py"}
    return graph


def test_the_graph_sees_relative_imports() -> None:
    graph = import_graph()
    assert "generator.render" in graph["generator.targets.docs"] and "generator.pipeline" in graph["generator.cli"]


def test_no_import_circle_in_the_generator() -> None:
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(reversed(exc.args[1]))} (each imports the next)") from None


def test_targets_do_not_import_the_stages_above_them() -> None:
    graph = import_graph()
    wrong = {name: sorted(deps & ABOVE_TARGETS) for name, deps in graph.items() if name.startswith("generator.targets.") and deps & ABOVE_TARGETS}
    assert wrong == {}
