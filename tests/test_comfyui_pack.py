"""The generated ComfyUI pack without ComfyUI and without a GPU: how it loads, what every node declares (checked
against the normalised schema of all 291 models, with expectations written here, not taken from the widget
code), how widget values become a request, widget-order stability across regenerations, and the vendored runtime."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from comfy_double import PACK_DIR, SURFACE, install, load_pack
from generator_helpers import snapshot_specs

from generator.normalize import ModelSpec, Param
from generator.render import HEADER
from generator.targets import comfyui_order, comfyui_pack, comfyui_vendor
from generator.targets.comfyui_widgets import API_DEFAULT, NULL_SEED, NULL_TOKEN, model_inputs

SOCKETS = {"image": "IMAGE", "video": "VIDEO", "audio": "AUDIO"}
ROUTING = {"uid", "category", "subcategory"}


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    install(monkeypatch, tmp_path)
    return load_pack()


def _nodes(pack: Any) -> dict[str, Any]:
    return {cls.MODEL[0] + "/" + cls.MODEL[1]: cls for cls in pack.NODE_CLASS_MAPPINGS.values()}


# ---------------------------------------------------------------------------------------------------------------
# Loading


def test_pack_imports_like_comfyui_without_heavy_or_comfy_modules() -> None:
    """In a clean interpreter: importing the pack by path pulls in no ComfyUI module, torch, httpx or pydantic
    (ComfyUI lists a pack whose import fails as IMPORT FAILED, and start-up must stay fast)."""
    code = f"""
import importlib.util, sys, json
path = {str(PACK_DIR)!r}
spec = importlib.util.spec_from_file_location(path.replace(".", "_x_"), path + "/__init__.py")
m = importlib.util.module_from_spec(spec); sys.modules[spec.name] = m; spec.loader.exec_module(m)
heavy = sorted(n for n in sys.modules if n.split(".")[0] in {{"torch", "numpy", "PIL", "httpx", "pydantic", "comfy", "server", "folder_paths", "comfy_api"}})
print(json.dumps([len(m.NODE_CLASS_MAPPINGS), heavy, m.NODE_CLASS_MAPPINGS["GenVR_imagegen__flux_dev"].FUNCTION]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    count, heavy, function = json.loads(out.stdout)
    assert count == 291
    assert heavy == []
    assert function == "run_blocking"  # no comfy_execution.utils: an old ComfyUI gets the blocking function


def test_async_function_where_comfyui_supports_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import inspect

    install(monkeypatch, tmp_path, async_nodes=True)
    node = load_pack().NODE_CLASS_MAPPINGS["GenVR_imagegen__flux_dev"]
    assert node.FUNCTION == "run" and inspect.iscoroutinefunction(getattr(node, node.FUNCTION))
    install(monkeypatch, tmp_path, async_nodes=False)
    node = load_pack().NODE_CLASS_MAPPINGS["GenVR_imagegen__flux_dev"]
    assert node.FUNCTION == "run_blocking" and not inspect.iscoroutinefunction(getattr(node, node.FUNCTION))


def test_ids_display_names_and_menus(pack: Any) -> None:
    specs = snapshot_specs()
    mapping, names = pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS
    assert set(mapping) == set(names) and len(mapping) == len(specs)
    for node_id, cls in mapping.items():
        category, sub = cls.MODEL
        assert node_id == "GenVR_" + category + "__" + sub.replace("-", "_") == cls.__name__
        assert names[node_id].startswith("GenVR: " + specs[f"{category}/{sub}"].display_name)
        assert cls.CATEGORY.startswith(f"GenVR/{cls.OUTPUT_KIND}/")
        assert not hasattr(cls, "IS_CHANGED")  # ComfyUI's cache must skip unchanged inputs (no re-run, no re-pay)
        assert not getattr(cls, "API_NODE", False)  # that flag is for Comfy.org-billed partner nodes
    assert len(set(names.values())) == len(names)
    assert names["GenVR_imagegen__google_nano_banana"] == "GenVR: Google Nano Banana (Image Generation)"
    assert "GenVR_imgutils__minimax_image_o1" in mapping or "GenVR_imgutils__minimax-image-o1" not in mapping


def test_the_comfyui_surface_the_pack_touches_is_the_doubles_surface() -> None:
    """Every `comfy`/`server`/`folder_paths`/... import in the pack is one the test double provides."""
    used: dict[str, set[str]] = {}
    for path in PACK_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] in {"comfy", "server", "folder_paths", "comfy_api", "comfy_execution"}:
                used.setdefault(node.module, set()).update(a.name for a in node.names)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in {"comfy", "server", "folder_paths", "comfy_api", "comfy_execution"}:
                        used.setdefault(alias.name, set())
    host = (PACK_DIR / "_genvr" / "host.py").read_text(encoding="utf-8")
    attrs = {"comfy.model_management": {"processing_interrupted", "throw_exception_if_processing_interrupted", "InterruptProcessingException"}, "folder_paths": {"get_output_directory", "get_temp_directory", "get_user_directory"}}
    for module, names in attrs.items():
        assert all(f"{module.split('.')[-1]}.{n}" in host for n in names)
        used[module] = used.get(module, set()) | names
    assert set(used) | {"comfy_execution.utils"} == set(SURFACE)
    for module, names in used.items():
        assert names <= SURFACE[module], module


# ---------------------------------------------------------------------------------------------------------------
# Every node against its schema


def _expected_input(p: Param) -> str:
    if p.is_file:
        return "file"
    if p.enum is not None:
        return "COMBO"
    if p.main_type == "integer" and (p.wire_name in ("seed", "noise_seed") or p.wire_name.endswith("_seed")):
        return "SEED"
    if p.main_type in ("integer", "number") and len(p.types) == 1:
        return ("INT" if p.main_type == "integer" else "FLOAT") if p.has_default or p.required else "STRING"
    if p.main_type == "boolean":
        return "BOOLEAN" if p.has_default or p.required else "COMBO"
    return "STRING"


def _check_param(spec: ModelSpec, p: Param, inputs: dict[str, tuple[Any, ...]], required: set[str], fields: dict[str, Any]) -> None:
    where = f"{spec.key}.{p.wire_name}"
    kind = _expected_input(p)
    f = fields[p.wire_name]
    assert f.required == p.required, where
    if kind == "file":
        url = inputs[f.url_input]
        assert url[0] == "STRING" and f.url_input not in required, where
        assert url[1]["multiline"] == (p.main_type == "array"), where
        if p.file_type in SOCKETS:
            assert inputs[f.socket][0] == SOCKETS[p.file_type] and f.socket not in required, where
        else:
            assert f.socket is None, where
        if p.main_type == "array":
            assert (f.min_items, f.max_items) == (p.min_items, p.max_items), where
        return
    kind_name, options = inputs[p.wire_name][0], inputs[p.wire_name][1]
    assert (p.wire_name in required) == p.required, where
    if p.description:
        assert options["tooltip"].startswith(" ".join(p.description.split())[:60]), where
    if p.hidden:
        assert options.get("advanced") is True, where
    if kind == "COMBO":
        assert isinstance(kind_name, list), where  # list form: ComfyUI validates it server-side
        assert options["default"] in kind_name, where
        if p.main_type == "boolean":
            assert kind_name == [API_DEFAULT, "true", "false"], where
            return
        real = [x for x in kind_name if x not in (API_DEFAULT, NULL_TOKEN)]
        assert [f.values.get(x, x) if f.values else x for x in real] == list(p.enum), where
        assert (NULL_TOKEN in kind_name) == p.nullable and (f.null == NULL_TOKEN) == p.nullable, where
        assert (API_DEFAULT in kind_name) == (not p.required and not p.has_default), where
        if p.has_default:
            assert f.values.get(options["default"], options["default"]) == p.default, where
    elif kind == "SEED":
        assert kind_name == "INT" and options["control_after_generate"] is True, where
        assert options["min"] == (NULL_SEED if p.nullable else -1), where
        assert options["max"] == (p.maximum if p.maximum is not None else 2147483647), where
        assert f.null == (NULL_SEED if p.nullable else None), where
        assert f.omit == -1 and (f.minimum, f.maximum) == (p.minimum, p.maximum), where
        assert options["default"] == (p.default if p.has_default else -1), where
    elif kind in ("INT", "FLOAT"):
        assert kind_name == kind, where
        if p.minimum is not None and not p.exclusive_minimum:
            assert options["min"] == p.minimum, where
        if p.maximum is not None and not p.exclusive_maximum:
            assert options["max"] == p.maximum, where
        if p.step is not None:
            assert options["step"] <= p.step, where
        if p.has_default:
            assert options["default"] == p.default, where
        assert options["min"] <= options["default"] <= options["max"], where
    elif kind == "BOOLEAN":
        assert kind_name == "BOOLEAN" and options["default"] == (p.default if p.has_default else False), where
    else:
        assert kind_name == "STRING", where
        if p.has_default and isinstance(p.default, str):
            assert options["default"] == p.default, where
        if p.main_type == "string" and any(w in p.wire_name for w in ("prompt", "text")):
            assert options["multiline"] is True, where


def test_every_node_declares_its_schema(pack: Any) -> None:
    specs, nodes = snapshot_specs(), _nodes(pack)
    assert set(nodes) == set(specs)
    for key, spec in specs.items():
        cls = nodes[key]
        declared = cls.INPUT_TYPES()
        assert declared["hidden"] == {"unique_id": "UNIQUE_ID"}
        inputs = {**declared["required"], **declared["optional"]}
        assert not set(declared["required"]) & set(declared["optional"])
        fields = {f.wire: f for f in cls.FIELDS}
        if spec.free_form:
            assert list(inputs) == ["params_json"] and fields["*"].kind == "json_object"
            continue
        sendable = [p for p in spec.params if p.wire_name not in ROUTING]
        assert list(fields) == [p.wire_name for p in sendable], key
        for p in sendable:
            _check_param(spec, p, inputs, set(declared["required"]), fields)
        # Order: the schema's x-order within each section (the committed order file records today's schema).
        order = {p.wire_name: i for i, p in enumerate(spec.params)}
        for section in ("required", "optional"):
            presets = {f.preset_input for f in fields.values()}  # preset combos were added later: they go last
            positions = [order[_wire_of(name, fields)] for name in declared[section] if name not in presets]
            assert positions == sorted(positions), (key, section)
        kinds = {"image": ("IMAGE", "STRING"), "video": ("VIDEO", "STRING", "STRING"), "audio": ("AUDIO", "STRING", "STRING"), "3d": ("STRING", "STRING", "STRING"), "svg": ("STRING", "STRING"), "file": ("STRING", "STRING")}
        assert cls.RETURN_TYPES == kinds[cls.OUTPUT_KIND] and cls.RETURN_NAMES[-1] == "urls", key
        assert len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES) == len(cls.OUTPUT_TOOLTIPS)


def _wire_of(input_name: str, fields: dict[str, Any]) -> str:
    for f in fields.values():
        if input_name in (f.input_name, f.socket, f.url_input):
            return f.wire
    raise AssertionError(input_name)


def test_output_kind_by_category_with_overrides(pack: Any) -> None:
    nodes = _nodes(pack)
    assert nodes["imagegen/flux_dev"].OUTPUT_KIND == "image"
    assert nodes["videogen_templates/hug"].OUTPUT_KIND == "video"
    assert nodes["audiogen/dia"].OUTPUT_KIND == "audio"
    assert nodes["3dgen/trellis"].OUTPUT_KIND == "3d" and nodes["3dgen/trellis"].OUTPUT_NODE is True
    assert nodes["3dgen/panorama"].OUTPUT_KIND == "image"  # override: a panorama is an image
    assert nodes["imagegen/recraft_v3_svg"].OUTPUT_KIND == "svg"  # override: SVG vectors are no IMAGE


def test_one_output_kind_per_model_read_by_the_pack_the_simulator_and_the_report(pack: Any) -> None:
    """generated/genvr/output_kinds.py is the one table: each node returns what it says, the simulator serves
    that kind of file, and no model's own description contradicts it without a documented override."""
    from genvr.output_kinds import OUTPUT_KINDS
    from generator_helpers import snapshot_specs

    from generator import output_kinds
    from simulator.media import FILE_KIND, kind_for_model

    nodes = _nodes(pack)
    assert set(nodes) == set(OUTPUT_KINDS)
    for key, cls in nodes.items():
        assert cls.OUTPUT_KIND == OUTPUT_KINDS[key], key
        assert kind_for_model(*cls.MODEL) == FILE_KIND[OUTPUT_KINDS[key]], key
    assert OUTPUT_KINDS["3dgen/panorama"] == "image" and kind_for_model("3dgen", "panorama") == "png"
    assert [output_kinds.unresolved(spec) for spec in snapshot_specs().values() if output_kinds.unresolved(spec)] == []


def test_quirky_inputs(pack: Any) -> None:
    nodes = _nodes(pack)
    # Integer enum: string combo entries, converted back to numbers when sent.
    kling = nodes["videogen/kling2_5_i2v"].INPUT_TYPES()["optional"] if "videogen/kling2_5_i2v" in nodes else None
    garment = nodes["imgutils_transfer/garment"]
    assert "category" not in {**garment.INPUT_TYPES()["required"], **garment.INPUT_TYPES()["optional"]}  # routing name: not sendable
    bpm = {f.wire: f for f in nodes["audiogen/sonauto_text2music"].FIELDS}["bpm"]
    assert bpm.kind == "int_or_text"
    assert kling is None or kling["duration"][0] == ["5", "10"]


# ---------------------------------------------------------------------------------------------------------------
# Widget values → request


def _collect(pack_module: Any, key: str, **inputs: Any) -> tuple[dict[str, Any], list[Any]]:
    values = importlib.import_module(pack_module.__name__ + "._genvr.values")
    return values.collect(_nodes(pack_module)[key].FIELDS, inputs)


def test_widget_values_become_the_request(pack: Any) -> None:
    values = importlib.import_module(pack.__name__ + "._genvr.values")
    specs = snapshot_specs()
    int_enum = next((s.key, p.wire_name, p.enum) for s in specs.values() for p in s.params if p.enum and isinstance(p.enum[0], int) and not isinstance(p.enum[0], bool))
    key, wire, enum = int_enum
    params, _ = _collect(pack, key, **{**_minimal(pack, specs[key]), wire: str(enum[-1])})
    assert params[wire] == enum[-1] and isinstance(params[wire], int)

    # Defaults and sentinels: -1 seed, empty text, "(api default)" are not sent.
    params, uploads = _collect(pack, "imagegen/bytedance_dreamina3_1", prompt="a fox", seed=-1, enhance_prompt=False, aspect_ratio="16:9")
    assert params == {"prompt": "a fox", "enhance_prompt": False, "aspect_ratio": "16:9"} and uploads == []
    with pytest.raises(values.InputError, match="`prompt` is required"):
        _collect(pack, "imagegen/bytedance_dreamina3_1", prompt="  ")
    # A seed may be set within the schema's range only.
    seeded = next(s.key for s in specs.values() for p in s.params if p.wire_name == "seed" and p.minimum == 1)
    with pytest.raises(values.InputError, match="`seed` is 0; it must be >= 1"):
        _collect(pack, seeded, **{**_minimal(pack, specs[seeded]), "seed": 0})


def _minimal(pack: Any, spec: ModelSpec) -> dict[str, str]:
    """Widget values for the required inputs only: some text, or a URL for a file."""
    fields = {f.wire: f for f in _nodes(pack)[spec.key].FIELDS}
    return {
        (fields[p.wire_name].url_input if p.is_file else p.wire_name): ("https://example.org/f" if p.is_file else "x")
        for p in spec.params
        if p.required
    }


def test_file_inputs_take_a_socket_or_a_url_never_both(pack: Any) -> None:
    values = importlib.import_module(pack.__name__ + "._genvr.values")
    params, uploads = _collect(pack, "videogen/kling2_5_i2v", prompt="p", image_url="https://example.org/a.png")
    assert params["image_url"] == "https://example.org/a.png" and uploads == []
    params, uploads = _collect(pack, "videogen/kling2_5_i2v", prompt="p", image=object())
    assert "image_url" not in params and [f.wire for f, _ in uploads] == ["image_url"]
    with pytest.raises(values.InputError, match="not both"):
        _collect(pack, "videogen/kling2_5_i2v", prompt="p", image=object(), image_url="https://example.org/a.png")
    with pytest.raises(values.InputError, match="connect `image` or fill in `image_url`: it is required"):
        _collect(pack, "videogen/kling2_5_i2v", prompt="p")
    with pytest.raises(values.InputError, match="http"):
        _collect(pack, "videogen/kling2_5_i2v", prompt="p", image_url="/etc/passwd")
    many = next(s for s in snapshot_specs().values() for p in s.params if p.main_type == "array" and p.is_file and p.max_items == 4)
    wire = next(p.wire_name for p in many.params if p.main_type == "array" and p.is_file and p.max_items == 4)
    field = {f.wire: f for f in _nodes(pack)[many.key].FIELDS}[wire]
    urls = "\n".join(f"https://example.org/{i}.png" for i in range(5))
    with pytest.raises(values.InputError, match="at most 4"):
        _collect(pack, many.key, **{**_minimal(pack, many), field.url_input: urls})


def test_send_always_default_and_free_form(pack: Any) -> None:
    values = importlib.import_module(pack.__name__ + "._genvr.values")
    params, _ = _collect(pack, "videogen/runway_gen4_turbo", prompt="p", image_url="https://example.org/a.png")
    spec = snapshot_specs()["videogen/runway_gen4_turbo"]
    hidden_model = next(p for p in spec.params if p.wire_name == "model")
    assert params["model"] == hidden_model.default  # required by the schema: its default is sent
    params, _ = _collect(pack, "videogen/sora2", params_json='{"prompt": "x", "seconds": 4}')
    assert params == {"prompt": "x", "seconds": 4}
    with pytest.raises(values.InputError, match="JSON object"):
        _collect(pack, "videogen/sora2", params_json="[1]")


# ---------------------------------------------------------------------------------------------------------------
# Widget order across regenerations


def _spec_with(spec: ModelSpec, params: list[Param]) -> ModelSpec:
    from dataclasses import replace

    return replace(spec, params=tuple(params))


def _widget_slots(inputs: tuple[Any, ...]) -> list[str]:
    """widgets_values positions as the frontend lays them out: sockets take none, a seed takes two."""
    slots = []
    for i in inputs:
        if i.signature in ("IMAGE", "VIDEO", "AUDIO"):
            continue
        slots.append(i.name)
        if i.signature == "INT+control":
            slots.append(i.name + "#control")
    return slots


def test_saved_widget_positions_survive_schema_changes() -> None:
    from dataclasses import replace

    spec = snapshot_specs()["imagegen/bytedance_dreamina3_1"]
    before = model_inputs(spec).inputs
    recorded = comfyui_order.extend({}, {spec.key: before})[spec.key]
    old_slots = _widget_slots(comfyui_order.apply(before, recorded))

    params = list(spec.params)
    dropped = params.pop(1)  # GenVR removes an input...
    new_required = replace(params[0], wire_name="style", python_name="style", order=-5)  # ...adds a required one first
    new_optional = replace(params[2], wire_name="quality", python_name="quality", order=0, required=False)
    changed = _spec_with(spec, [new_required, new_optional, *params])
    after = comfyui_order.apply(model_inputs(changed).inputs, recorded)
    new_slots = _widget_slots(after)

    assert new_slots[: len(old_slots)] == old_slots  # every saved value lands in the same widget
    assert set(new_slots[len(old_slots) :]) == {"style", "quality"}  # new inputs only at the end
    retired = next(i for i in after if i.name == dropped.wire_name)
    assert retired.options["tooltip"].startswith("Retired")
    assert next(i for i in after if i.name == "style").required is False  # checked at run time instead
    # Extending the record is append-only and idempotent.
    extended = comfyui_order.extend({spec.key: recorded}, {spec.key: model_inputs(changed).inputs})[spec.key]
    assert extended["required"] == recorded["required"]
    assert extended["optional"][: len(recorded["optional"])] == recorded["optional"]
    assert comfyui_order.extend({spec.key: extended}, {spec.key: model_inputs(changed).inputs})[spec.key] == extended


def test_committed_order_file_covers_every_model_and_round_trips() -> None:
    order = comfyui_order.load()
    assert set(order) >= set(snapshot_specs())
    assert comfyui_order.dump(order) == comfyui_order.ORDER_FILE.read_text(encoding="utf-8")
    # Extending it with today's schema adds nothing: `make generate` and the file agree.
    current = {k: comfyui_pack.schema_inputs(s) for k, s in snapshot_specs().items()}
    assert comfyui_order.extend(order, current) == order


# ---------------------------------------------------------------------------------------------------------------
# Packaging and the vendored runtime


def test_pack_files_headers_and_registry_metadata() -> None:
    for path in PACK_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            first = path.read_text(encoding="utf-8").splitlines()[0]
            assert "Code generated by genvr-bindings" in first and "DO NOT EDIT" in first, path
    assert (PACK_DIR / "__init__.py").read_text(encoding="utf-8").startswith(HEADER)
    meta = tomllib.loads((PACK_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "genvr" and "comfyui" not in meta["project"]["name"].lower()
    assert meta["project"]["urls"]["Repository"] and meta["tool"]["comfy"]["PublisherId"]
    requirements = [line for line in (PACK_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert requirements == meta["project"]["dependencies"] == ["httpx>=0.27,<1"]  # nothing ComfyUI ships (torch!)
    assert "config.ini" in (PACK_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_vendored_runtime_is_a_relative_import_copy() -> None:
    runtime = PACK_DIR / "_genvr" / "runtime"
    closure = comfyui_vendor.runtime_closure()
    assert {p.stem for p in runtime.glob("*.py")} == {"__init__", *closure}
    for name in closure:
        text = (runtime / f"{name}.py").read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("genvr_runtime"), (name, node.module)
    assert "from ._errors import" in (runtime / "_client.py").read_text(encoding="utf-8")


def test_vendoring_refuses_what_it_cannot_rewrite_safely(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be made relative"):
        comfyui_vendor.vendored_module("x", "import genvr_runtime._errors\n", HEADER)
    (tmp_path / "_a.py").write_text("from genvr_runtime._batch.runner import run\n")
    with pytest.raises(ValueError, match="module level"):
        comfyui_vendor.runtime_closure(("_a",), tmp_path)
    (tmp_path / "_b.py").write_text("def f():\n    from genvr_runtime._batch.runner import run\n")
    assert list(comfyui_vendor.runtime_closure(("_b",), tmp_path)) == ["_b"]  # lazy, never called by the pack
    rewritten = comfyui_vendor.vendored_module("_c", "from genvr_runtime import _errors\nfrom genvr_runtime._x import (\n    a,\n)\nX = 'genvr_runtime'\n", HEADER)
    assert "from . import _errors" in rewritten and "from ._x import (" in rewritten and "X = 'genvr_runtime'" in rewritten


def test_number_widgets_have_defaults_on_their_step_and_no_negative_counts() -> None:
    """hunyuan_video `width` (default 854, step 16) jumped to 864 on the first click; a step count or a size
    without a published range spanned ±2147483647 (a strength keeps the schema's truth: no range). The tooltip
    says when GenVR published no range."""
    from generator_helpers import snapshot_specs

    from generator.targets.comfyui_widgets import model_inputs

    specs = snapshot_specs()
    for key, spec in specs.items():
        for i in model_inputs(spec).inputs:
            if i.type in ("INT", "FLOAT") and i.options.get("step") and i.type == "INT":
                assert (i.options["default"] - i.options["min"]) % i.options["step"] == 0, (key, i.name)
    width = {i.name: i for i in model_inputs(specs["videogen/hunyuan_video"]).inputs}["width"]
    assert width.options["default"] == 854 and width.options["step"] == 2
    steps = {i.name: i for i in model_inputs(specs["imgedit/interior_construct"]).inputs}
    assert steps["num_steps"].options["min"] == 0 and steps["img_size"].options["min"] == 0
    assert "No range published by GenVR." in steps["num_steps"].options["tooltip"]
    assert steps["strength"].options["min"] == -1e9 and "No range published by GenVR." in steps["strength"].options["tooltip"]
    sentinel = {i.name: i for i in model_inputs(specs["vidutils/minimax_remover"]).inputs}["width"]
    assert sentinel.options["min"] == -1 and sentinel.options["default"] == -1  # -1 = same as the original video


def test_the_repository_url_is_set_in_one_place() -> None:
    """The pack's Comfy Registry metadata copies the project's own [project.urls] Repository."""
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    pack = tomllib.loads((root / "generated/comfyui/genvr_nodes/pyproject.toml").read_text())["project"]["urls"]["Repository"]
    assert pack == project and project.startswith("https://")


# ---------------------------------------------------------------------------------------------------------------
# Regeneration touches only what changed


def test_one_models_description_and_schema_change_rewrite_only_its_own_node_file(tmp_path: Path) -> None:
    """Issue 13: nodes are data, one file per model. A new model description and a new input description of one
    model rewrite no file of the pack that describes another model (they used to rewrite the whole category's
    node module), and what changed reaches the node."""
    from generator.discovery import SnapshotSource
    from generator.pipeline import generate
    from generator_helpers import snapshot_with

    def schema(tooltip: str) -> dict[str, Any]:
        return {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string", "description": tooltip}, "seed": {"type": "integer"}}}

    base = tmp_path / "base"
    (base / "schemas").mkdir(parents=True)
    (base / "models.json").write_text(json.dumps({"success": True, "data": []}))
    keys = ["imagegen/alpha", "imagegen/beta", "imagegen/gamma", "videogen/delta"]
    entries = [({"category": k.split("/")[0], "subcategory": k.split("/")[1], "name": k, "description": f"About {k}."}, schema("The prompt.")) for k in keys]
    snapshot = snapshot_with(tmp_path / "discovery", entries, base=base)
    out = tmp_path / "generated"
    generate(SnapshotSource(snapshot), out, workers=1)

    models = json.loads((snapshot / "models.json").read_text())
    next(e for e in models["data"] if e["subcategory"] == "beta")["description"] = "Now about something else."
    (snapshot / "models.json").write_text(json.dumps(models))
    (snapshot / "schemas" / "imagegen" / "beta.json").write_text(json.dumps(schema("What to draw.")))
    result = generate(SnapshotSource(snapshot), out, workers=1)

    changed = [path for path in result.written + result.removed if path.startswith("comfyui/")]
    assert changed, "the change must reach the pack"
    for path in changed:
        text = (out / path).read_text(encoding="utf-8")
        others = [k for k in keys if k != "imagegen/beta" and k in text]
        assert not others, f"{path} changed for imagegen/beta but also describes {others}"
    assert changed == ["comfyui/genvr_nodes/nodes/imagegen/beta.json"]
    node = json.loads((out / changed[0]).read_text(encoding="utf-8"))
    assert "Now about something else." in node["description"]
    assert node["inputs"]["required"]["prompt"][1]["tooltip"] == "What to draw. Required."


def test_a_broken_node_file_fails_the_import_naming_that_file(tmp_path: Path) -> None:
    """ComfyUI shows a pack whose import raises as IMPORT FAILED with the message: it must name the file at fault."""
    import shutil

    pack_dir = tmp_path / "genvr_nodes"
    shutil.copytree(PACK_DIR, pack_dir, ignore=shutil.ignore_patterns("__pycache__"))
    node_file = pack_dir / "nodes" / "imagegen" / "flux_dev.json"
    node = json.loads(node_file.read_text(encoding="utf-8"))
    node_file.write_text(json.dumps({**node, "output_kind": "hologram"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"GenVR node file .*flux_dev\.json: ValueError: unknown output kind 'hologram'"):
        load_pack(pack_dir)
    node_file.write_text('{"node_id": ', encoding="utf-8")
    with pytest.raises(ValueError, match=r"GenVR node file .*flux_dev\.json: Expecting value"):
        load_pack(pack_dir)


def test_a_nullable_list_whose_default_is_null_gets_an_empty_widget() -> None:
    # Found by fuzzing: `"\n".join(None)` raised a TypeError, which stopped the whole generation with a traceback.
    from generator.normalize import normalize_model
    from generator.targets.comfyui_widgets import model_inputs

    schema = {"type": "object", "properties": {"tags": {"type": ["array", "null"], "items": {"type": "string"}, "default": None}}}
    spec = normalize_model(category="imagegen", subcategory="m", display_name="M", description="", raw_schema=schema)
    [tags] = model_inputs(spec).inputs
    assert tags.options["default"] == ""
