"""Target: a drop-in ComfyUI node pack, one node per model (`generated/comfyui/genvr_nodes/`).

Layout of the pack (everything it needs is inside; ComfyUI imports it by path as a package):

    __init__.py              NODE_CLASS_MAPPINGS / NODE_DISPLAY_NAME_MAPPINGS from the category modules
    nodes_<category>.py      one small data-only class per model (INPUT_TYPES literal, FIELDS, outputs)
    _genvr/                  hand-written behaviour rendered from templates/comfyui/_genvr/
    _genvr/runtime/          a copy of runtime/genvr_runtime (see comfyui_vendor)
    pyproject.toml requirements.txt README.md config.example.ini .gitignore

Naming: node id (= class name) `GenVR_<category>__<subcategory>` with any character outside [A-Za-z0-9_]
replaced by `_` (`naming.node_identifier`; a colliding newcomer gets a hash suffix); it never changes, because
saved workflows reference it (recorded in discovery/names.json). Display name `GenVR: <model name>`,
plus ` (<category label>)` when two models share a name. Menu `GenVR/<media>/<category label>`.
"""

from __future__ import annotations

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
from ..render import HEADER, TEMPLATES_DIR, one_line, pyrepr
from ..render import render as render_jinja
from ..targets import comfyui_order, comfyui_vendor
from ..targets.comfyui_widgets import NodeInput, model_inputs
from ..targets.python_package import PlannedCategory

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
OUTPUTS = {  # kind -> (RETURN_TYPES, RETURN_NAMES, OUTPUT_TOOLTIPS)
    "image": (("IMAGE", "STRING"), ("images", "urls"), ("The output images as one batch.", "GenVR's output URLs, one per line.")),
    "video": (("VIDEO", "STRING", "STRING"), ("video", "files", "urls"), ("The first output video.", "Downloaded files (in output/genvr), one per line.", "GenVR's output URLs, one per line.")),
    "audio": (("AUDIO", "STRING", "STRING"), ("audio", "files", "urls"), ("The first output audio.", "Downloaded files (in output/genvr), one per line.", "GenVR's output URLs, one per line.")),
    "3d": (("STRING", "STRING", "STRING"), ("model_file", "files", "urls"), ("The first 3D file, relative to the output folder (for Preview3D).", "Downloaded files (in output/genvr), one per line.", "GenVR's output URLs, one per line.")),
    "svg": (("STRING", "STRING"), ("files", "urls"), ("Downloaded SVG files (in output/genvr), one per line.", "GenVR's output URLs, one per line.")),
    "file": (("STRING", "STRING"), ("files", "urls"), ("Downloaded files (in output/genvr), one per line.", "GenVR's output URLs, one per line.")),
}
_STATIC = ("__init__", "node", "host", "config", "values", "media", "flow")  # templates/comfyui/_genvr/*.py.jinja


@dataclass(frozen=True)
class PlannedNode:
    spec: ModelSpec
    node_id: str
    display_name: str
    output_kind: str
    inputs: tuple[NodeInput, ...]
    fields: tuple[Any, ...]

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
    def return_types(self) -> tuple[str, ...]:
        return OUTPUTS[self.output_kind][0]

    @property
    def return_names(self) -> tuple[str, ...]:
        return OUTPUTS[self.output_kind][1]

    @property
    def output_tooltips(self) -> tuple[str, ...]:
        return OUTPUTS[self.output_kind][2]

    @property
    def output_node(self) -> bool:
        return self.output_kind in ("3d", "svg", "file")  # these only write files: runnable without a Save node

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


def render(categories: list[PlannedCategory], snapshot_dir: Path | None = None) -> dict[str, str]:
    """Files by path relative to generated/ (.py files are formatted by the pipeline).

    Widget positions come from the order file beside the snapshot being generated.
    """
    order_file = (snapshot_dir / comfyui_order.ORDER_FILE.name) if snapshot_dir else comfyui_order.ORDER_FILE
    planned = plan_nodes(categories, comfyui_order.load(order_file))
    files: dict[str, str] = {}
    modules = []
    for category, nodes in planned:
        module = f"nodes_{category.attr}"
        modules.append(module)
        files[f"{PACK}/{module}.py"] = render_template("nodes.py.jinja", category=category, nodes=nodes)
    count = sum(len(nodes) for _, nodes in planned)
    files[f"{PACK}/__init__.py"] = render_template("__init__.py.jinja", modules=modules, node_count=count)
    for name in _STATIC:
        files[f"{PACK}/_genvr/{name}.py"] = render_template(f"_genvr/{name}.py.jinja")
    files[f"{PACK}/_genvr/runtime/__init__.py"] = (
        f'{HEADER}\n"""Generated copy of the genvr-bindings runtime (runtime/genvr_runtime), imports made relative."""\n'
    )
    for name, source in comfyui_vendor.runtime_closure().items():
        files[f"{PACK}/_genvr/runtime/{name}.py"] = comfyui_vendor.vendored_module(name, source, HEADER)
    context = {"node_count": count, "version": VERSION, "requirements": REQUIREMENTS, "repository": repository_url(), "publisher": PUBLISHER}
    files[f"{PACK}/pyproject.toml"] = render_template("pyproject.toml.jinja", **context)
    files[f"{PACK}/requirements.txt"] = render_template("requirements.txt.jinja", **context)
    files[f"{PACK}/README.md"] = render_template("README.md.jinja", **context)
    files[f"{PACK}/config.example.ini"] = render_template("config.example.ini.jinja")
    files[f"{PACK}/.gitignore"] = render_template("gitignore.jinja")
    files[f"{PACK}/web/genvr.js"] = render_template("web/genvr.js.jinja")
    return files


def repository_url(project_file: Path = PROJECT_FILE) -> str:
    with project_file.open("rb") as fh:
        url: str = tomllib.load(fh)["project"]["urls"]["Repository"]
    return url


def render_template(name: str, **context: Any) -> str:
    assert (TEMPLATES_DIR / "comfyui" / name).is_file(), name
    return render_jinja(f"comfyui/{name}", lit=literal, **context)


def literal(value: Any) -> str:
    """`pyrepr`, but tuples without a trailing comma, so black keeps short ones on one line."""
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{pyrepr(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    return pyrepr(value)


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…:)" else text + "."
