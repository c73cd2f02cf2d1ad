"""Copy the hand-written runtime into the node pack, so the pack needs nothing from this repository.

ComfyUI imports a pack by path; `genvr_runtime` is not installed there. The pack uses the runtime's async
client (requests, retries, polling, uploads, downloads, typed errors), so the generator copies that module
and everything it imports from runtime/genvr_runtime/ at generation time, rewriting
`from genvr_runtime.x import y` into `from .x import y`. The rewrite is checked on the syntax tree: the copy
must parse to exactly the original tree except for those import nodes, and no `genvr_runtime` reference may
remain. Imports under `if TYPE_CHECKING:` and imports of left-out subpackages inside function bodies (the
batch runner, the CLI) are not followed: the pack never calls those functions.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import genvr_runtime

RUNTIME_DIR = Path(genvr_runtime.__file__).resolve().parent  # runtime/genvr_runtime in a checkout, else installed
PACKAGE = "genvr_runtime"
ROOTS = ("_client",)  # what the pack imports; the rest follows from their imports
LEFT_OUT = ("_batch", "cli", "__main__")  # only reachable lazily, never used by the pack


def runtime_closure(roots: tuple[str, ...] = ROOTS, runtime_dir: Path = RUNTIME_DIR) -> dict[str, str]:
    """Module name → source of every runtime module the roots need (top-level modules only)."""
    sources: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in sources:
            continue
        path = runtime_dir / f"{name}.py"
        if not path.is_file():
            raise FileNotFoundError(f"runtime module {PACKAGE}.{name} not found at {path}")
        source = path.read_text(encoding="utf-8")
        sources[name] = source
        for target, lazy in _runtime_imports(ast.parse(source)):
            top = target.split(".")[0]
            if top in LEFT_OUT:
                if not lazy:
                    raise ValueError(f"{PACKAGE}.{name} imports {PACKAGE}.{target} at module level; the pack cannot vendor it")
                continue
            if "." in target:
                raise ValueError(f"{PACKAGE}.{name} imports {PACKAGE}.{target}: only top-level modules are vendored")
            todo.append(target)
    return dict(sorted(sources.items()))


def vendored_module(name: str, source: str, header: str) -> str:
    """`source` with its runtime imports made relative, checked on the syntax tree."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (line index, start, end, replacement of "from genvr_runtime...")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == PACKAGE for a in node.names):
            raise ValueError(f"{PACKAGE}.{name}: `import {PACKAGE}...` cannot be made relative; use `from ... import`")
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == PACKAGE:
            line = lines[node.lineno - 1]
            match = re.compile(r"from\s+" + re.escape(node.module or "") + r"\b").match(line, node.col_offset)
            if match is None:
                raise ValueError(f"{PACKAGE}.{name}:{node.lineno}: unexpected import layout")
            rest = (node.module or "")[len(PACKAGE) :].lstrip(".")
            edits.append((node.lineno - 1, node.col_offset, match.end(), f"from .{rest}" if rest else "from ."))
    for index, start, end, text in sorted(edits, reverse=True):
        lines[index] = lines[index][:start] + text + lines[index][end:]
    rewritten = "".join(lines)
    _check(name, tree, ast.parse(rewritten))
    note = f"# Generated copy of runtime/genvr_runtime/{name}.py for the ComfyUI pack (imports made relative).\n"
    return f"{header}\n{note}{rewritten}"


def _check(name: str, original: ast.AST, rewritten: ast.AST) -> None:
    """The copy must equal the original tree with only the runtime imports made relative."""
    for node in ast.walk(original):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == PACKAGE:
            rest = (node.module or "")[len(PACKAGE) :].lstrip(".")
            node.module, node.level = rest or None, 1
    if ast.dump(original) != ast.dump(rewritten):
        raise ValueError(f"vendoring {PACKAGE}.{name}: the rewritten module differs beyond its imports")
    leftover = [n.lineno for n in ast.walk(rewritten) if isinstance(n, ast.Name | ast.Attribute | ast.ImportFrom) and PACKAGE in ast.dump(n)]
    if leftover:
        raise ValueError(f"vendoring {PACKAGE}.{name}: `{PACKAGE}` still referenced on line(s) {leftover}")


def _runtime_imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(module under the runtime package, imported lazily?) for every runtime import outside TYPE_CHECKING."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                visit(branch, lazy)
            return
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == PACKAGE:
            rest = (node.module or "")[len(PACKAGE) :].lstrip(".")
            if rest:
                found.append((rest, lazy))
            else:  # `from genvr_runtime import x, y`: each name is a module or a re-export of __init__
                found.extend((alias.name, lazy) for alias in node.names)
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
