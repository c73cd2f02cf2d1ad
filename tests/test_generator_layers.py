"""The generator's modules import downwards only: no import circle (imports inside functions count too, they are
how circles hide), and no target imports the stages above it (pipeline, cli, refresh)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[1] / "generator"
ABOVE_TARGETS = {"generator.pipeline", "generator.cli", "generator.refresh", "generator.__main__"}


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
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("generator"):
                for alias in node.names:  # `from generator.targets import x` imports the module x
                    deps.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module or "")
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("generator"))
        graph[name] = {d for d in deps if d in modules and d != name and modules[d].name != "__init__.py"}
    return graph


def test_no_import_circle_in_the_generator() -> None:
    try:
        tuple(TopologicalSorter(import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(reversed(exc.args[1]))} (each imports the next)") from None


def test_targets_do_not_import_the_stages_above_them() -> None:
    graph = import_graph()
    wrong = {name: sorted(deps & ABOVE_TARGETS) for name, deps in graph.items() if name.startswith("generator.targets.") and deps & ABOVE_TARGETS}
    assert wrong == {}
