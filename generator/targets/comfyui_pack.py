"""Target: a drop-in ComfyUI node pack, one node per model (`generated/comfyui/genvr_nodes/`).

Layout of the pack (everything it needs is inside; ComfyUI imports it by path as a package):

    __init__.py              NODE_CLASS_MAPPINGS / NODE_DISPLAY_NAME_MAPPINGS, made by `_genvr.node.load_nodes`
    nodes/index.json         the node files to load, in menu order (changes only when a model comes or goes)
    nodes/<category>/<model>.json  one per model: ids, names, menu, description, fields, widget declarations
    _genvr/                  hand-written behaviour rendered from templates/comfyui/_genvr/ (the node base class
                             and the factory that turns each JSON file into a node class at import time)
    _genvr/runtime/          a copy of runtime/genvr_runtime (see comfyui_vendor)
    pyproject.toml requirements.txt README.md config.example.ini .gitignore web/genvr.js

Nodes are data, not generated Python: a change to one model's schema or description rewrites only that
model's JSON file, and black formats only the hand-written files.

Naming: node id (= class name) `GenVR_<category>__<subcategory>` with any character outside [A-Za-z0-9_]
replaced by `_` (`naming.node_identifier`; a colliding newcomer gets a hash suffix); it never changes, because
saved workflows reference it (recorded in discovery/names.json). Display name `GenVR: <model name>`,
plus ` (<category label>)` when two models share a name. Menu `GenVR/<media>/<category label>`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from ..normalize import ModelSpec
from ..output_kinds import output_kind
from ..render import HEADER, TEMPLATES_DIR, one_line
from ..render import render as render_jinja
from ..targets import comfyui_order, comfyui_vendor
from ..targets.comfyui_widgets import FieldSpec, NodeInput, model_inputs
from ..targets.python_package import PlannedCategory, PlannedModel

PACK = "comfyui/genvr_nodes"
VERSION = "0.1.0"
PUBLISHER = "genvr"
PROJECT_FILE = Path(__file__).resolve().parents[2] / "pyproject.toml"  # [project.urls] Repository: set there only
# The vendored runtime's one dependency ComfyUI does not ship (it ships pydantic; see the research note A9).
REQUIREMENTS = ("httpx>=0.27,<1",)

CATEGORY_LABELS = {
    "imagegen": "Image Generation",
    "imgedit": "Image Edit",
    "imgutils": "Image Utils",
    "imgutils_control": "Image Utils (Control)",
    "imgutils_transfer": "Image Utils (Transfer)",
    "videogen": "Video Generation",
    "videogen_templates": "Video Templates",
    "vidutils": "Video Utils",
    "audiogen": "Audio Generation",
    "3dgen": "3D Generation",
}
NODES = f"{PACK}/nodes"  # the per-model JSON files
_STATIC = ("__init__", "node", "host", "config", "values", "media", "flow")  # templates/comfyui/_genvr/*.py.jinja


@dataclass(frozen=True)
class PlannedNode:
    spec: ModelSpec
    node_id: str
    display_name: str
    output_kind: str
    inputs: tuple[NodeInput, ...]
    fields: tuple[FieldSpec, ...]

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def model(self) -> tuple[str, str]:
        return (self.spec.category, self.spec.subcategory)

    @property
    def model_name(self) -> str:
        return self.spec.display_name

    @property
    def menu(self) -> str:
        return f"GenVR/{self.output_kind}/{category_label(self.spec.category)}"

    @property
    def description(self) -> str:
        text = f"{self.spec.display_name} (GenVR {self.spec.key})."
        if self.spec.description:
            text += f" {sentence(one_line(self.spec.description, 600))}"
        return f"{text} Returns {self.output_kind} output. Each run starts a paid GenVR job."

    @property
    def sections(self) -> list[tuple[str, list[NodeInput]]]:
        return [("required", [i for i in self.inputs if i.required]), ("optional", [i for i in self.inputs if not i.required])]


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category) or category.replace("_", " ").title()


def schema_inputs(spec: ModelSpec) -> tuple[NodeInput, ...]:
    """The node's inputs from the schema alone (before the recorded order is applied)."""
    return model_inputs(spec).inputs


def plan_nodes(categories: list[PlannedCategory], order: dict[str, comfyui_order.Recorded]) -> list[tuple[PlannedCategory, list[PlannedNode]]]:
    specs = [m.spec for c in categories for m in c.models]
    names: dict[str, int] = {}
    for s in specs:
        names[s.display_name] = names.get(s.display_name, 0) + 1
    out = []
    for category in categories:
        nodes = []
        for m in category.models:
            spec = m.spec
            display = f"GenVR: {spec.display_name}"
            if names[spec.display_name] > 1:
                display += f" ({category_label(spec.category)})"
            made = model_inputs(spec)
            inputs = comfyui_order.apply(made.inputs, order.get(spec.key))
            nodes.append(PlannedNode(spec, m.node_id, display, output_kind(spec), inputs, made.fields))
        out.append((category, nodes))
    displays = [n.display_name for _, nodes in out for n in nodes]
    shared = {d for d in displays if displays.count(d) > 1}  # same name and category label: the key tells them apart
    if shared:
        out = [(c, [replace(n, display_name=f"{n.display_name} [{n.key}]") if n.display_name in shared else n for n in nodes]) for c, nodes in out]
    return out


def ordered_nodes(categories: list[PlannedCategory], snapshot_dir: Path | None = None) -> list[tuple[PlannedCategory, list[PlannedNode]]]:
    """The nodes, widget positions from the order file beside the snapshot being generated."""
    order_file = (snapshot_dir / comfyui_order.ORDER_FILE.name) if snapshot_dir else comfyui_order.ORDER_FILE
    return plan_nodes(categories, comfyui_order.load(order_file))


def render(categories: list[PlannedCategory], snapshot_dir: Path | None = None) -> dict[str, str]:
    """Files by path relative to generated/ (.py files are formatted by the pipeline)."""
    files = {**static_files(), **index_files(categories)}
    for category, nodes in ordered_nodes(categories, snapshot_dir):
        for model, node in zip(category.models, nodes):
            files.update(model_files(model, node))
    return files


def model_files(model: PlannedModel, node: PlannedNode) -> dict[str, str]:
    """A model's node file: it depends on this model and its planned node alone."""
    return {f"{NODES}/{model.category_attr}/{model.attr}.json": node_document(node)}


def index_files(categories: list[PlannedCategory]) -> dict[str, str]:
    """The files that depend on the model list: the node list and the metadata that counts the nodes."""
    index = [f"{model.category_attr}/{model.attr}.json" for category in categories for model in category.models]
    files = {f"{NODES}/index.json": index_document(index)}
    context = {"node_count": len(index), "version": VERSION, "requirements": REQUIREMENTS, "repository": repository_url(), "publisher": PUBLISHER}
    files[f"{PACK}/pyproject.toml"] = render_template("pyproject.toml.jinja", **context)
    files[f"{PACK}/README.md"] = render_template("README.md.jinja", **context)
    return files


def static_files() -> dict[str, str]:
    """The files that depend on no model (the hand-written modules, the runtime copy): the same for every snapshot."""
    files = {f"{PACK}/__init__.py": render_template("__init__.py.jinja")}
    for name in _STATIC:
        files[f"{PACK}/_genvr/{name}.py"] = render_template(f"_genvr/{name}.py.jinja")
    files[f"{PACK}/_genvr/runtime/__init__.py"] = (
        f'{HEADER}\n"""Generated copy of the genvr-bindings runtime (runtime/genvr_runtime), imports made relative."""\n'
    )
    for name, source in comfyui_vendor.runtime_closure().items():
        files[f"{PACK}/_genvr/runtime/{name}.py"] = comfyui_vendor.vendored_module(name, source, HEADER)
    context = {"version": VERSION, "requirements": REQUIREMENTS}
    files[f"{PACK}/requirements.txt"] = render_template("requirements.txt.jinja", **context)
    files[f"{PACK}/config.example.ini"] = render_template("config.example.ini.jinja")
    files[f"{PACK}/.gitignore"] = render_template("gitignore.jinja")
    files[f"{PACK}/web/genvr.js"] = render_template("web/genvr.js.jinja")
    return files


_NOTICE = HEADER.removeprefix("# ")


def node_document(node: PlannedNode) -> str:
    """One model's node as JSON, read by the pack's `load_nodes`. One line per field and per widget, so a
    schema change shows as a small diff; the do-not-edit notice is on the first line, as in every generated file."""
    head = {
        "node_id": node.node_id,
        "display_name": node.display_name,
        "model": list(node.model),
        "model_name": node.model_name,
        "output_kind": node.output_kind,
        "category": node.menu,
        "description": node.description,
    }
    lines = ['{"$comment": ' + _json(_NOTICE) + ","]
    lines += [f" {_json(k)}: {_json(v)}," for k, v in head.items()]
    fields = [{"wire": f.wire, "kind": f.kind, **f.opts} for f in node.fields]
    lines += [' "fields": [', ",\n".join(f"  {_json(f)}" for f in fields), " ],", ' "inputs": {']
    sections = []
    for section, inputs in node.sections:
        body = ",\n".join(f"   {_json(i.name)}: {_json(list(i.literal()))}" for i in inputs)
        sections.append(f"  {_json(section)}: {{\n{body}\n  }}" if inputs else f"  {_json(section)}: {{}}")
    lines += [",\n".join(sections), " }", "}"]
    return "\n".join(lines) + "\n"


def index_document(paths: list[str]) -> str:
    """The node files (relative to nodes/), in menu order: listed, not globbed, so files of models a newer pack
    dropped (left behind by copying it over an older one) are never loaded."""
    body = ",\n".join(f"  {_json(p)}" for p in paths)
    return '{"$comment": ' + _json(_NOTICE) + ',\n "nodes": [\n' + body + "\n ]\n}\n"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def repository_url(project_file: Path = PROJECT_FILE) -> str:
    if not project_file.is_file():  # installed from the wheel: the same setting, from the package metadata
        from importlib.metadata import metadata

        entries: list[str] = metadata("genvr-bindings").get_all("Project-URL") or []
        return dict(u.split(", ", 1) for u in entries)["Repository"]
    with project_file.open("rb") as fh:
        url: str = tomllib.load(fh)["project"]["urls"]["Repository"]
    return url


def render_template(name: str, **context: Any) -> str:
    assert (TEMPLATES_DIR / "comfyui" / name).is_file(), name
    return render_jinja(f"comfyui/{name}", **context)


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…:)" else text + "."
