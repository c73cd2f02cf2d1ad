"""Review findings on the generated ComfyUI pack: what real ComfyUI (server validation and frontend) would reject
or mishandle, checked over all 291 nodes, plus the specific bugs found (one test each)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from comfy_double import ComfyDouble, install, load_pack

from simulator.server import SimulatorServer

JS_SAFE = 2**53 - 1  # the frontend holds INT widget values as JS numbers


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    install(monkeypatch, tmp_path)
    return load_pack()


def _declared(cls: Any) -> list[tuple[str, Any, dict[str, Any]]]:
    types = cls.INPUT_TYPES()
    out = []
    for section in ("required", "optional"):
        for name, spec in types[section].items():
            out.append((name, spec[0], spec[1] if len(spec) > 1 else {}))
    return out


def test_every_widget_default_passes_comfyui_validation(pack: Any) -> None:
    """ComfyUI rejects a queued prompt whose untouched widget value is not in its combo list
    (value_not_in_list) or outside [min, max] (value_smaller_than_min / value_bigger_than_max)."""
    assert len(pack.NODE_CLASS_MAPPINGS) == 291
    for node_id, cls in pack.NODE_CLASS_MAPPINGS.items():
        names = [name for name, _, _ in _declared(cls)]
        assert len(names) == len(set(names)) and "unique_id" not in names, node_id
        assert len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES) == len(cls.OUTPUT_TOOLTIPS), node_id
        for name, kind, options in _declared(cls):
            where = f"{node_id}.{name}"
            if isinstance(kind, list):
                assert kind and all(isinstance(v, str) for v in kind) and len(set(kind)) == len(kind), where
                assert options.get("default", kind[0]) in kind, where
            elif kind in ("INT", "FLOAT"):
                lo, hi, default = options["min"], options["max"], options["default"]
                assert lo <= default <= hi, where
                if kind == "INT":
                    assert all(isinstance(v, int) and abs(v) <= JS_SAFE for v in (lo, hi, default, options.get("step", 1))), where
                else:
                    assert options.get("round") is False, where  # no frontend rounding of schema defaults
            else:
                assert kind in ("STRING", "BOOLEAN", "IMAGE", "VIDEO", "AUDIO"), where


def test_svg_model_returns_files_not_an_image(pack: Any) -> None:
    """Recraft V3 SVG makes an SVG file, which an IMAGE output cannot decode: as an image node every (paid) run
    ended in "output 1 is a file of unknown type". It returns the downloaded file instead."""
    node = pack.NODE_CLASS_MAPPINGS["GenVR_imagegen__recraft_v3_svg"]
    assert node.OUTPUT_KIND == "svg"
    assert node.RETURN_TYPES == ("STRING", "STRING") and node.RETURN_NAMES == ("files", "urls")
    assert node.OUTPUT_NODE is True  # it only writes files: runnable without a Save node


def test_svg_bytes_are_recognised(pack: Any) -> None:
    media = importlib.import_module(pack.__name__ + "._genvr.media")
    svg = b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"></svg>'
    assert media.sniff(svg) == ("svg", ".svg")
    assert media.sniff(b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>") == ("svg", ".svg")
    assert media.sniff(b"<html><body>not found</body></html>") == (None, None)


async def test_an_svg_on_an_image_node_is_named_as_such(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    double = install(monkeypatch, tmp_path)
    pack = load_pack()
    flow = importlib.import_module(pack.__name__ + "._genvr.flow")
    run = flow._Run(pack.NODE_CLASS_MAPPINGS["GenVR_imagegen__flux_dev"], None, None)
    saved: list[str] = []
    with pytest.raises(flow.OutputKindError, match=r"output 1 is a svg file \(\.svg\), but this node returns image"):
        run._check_kind(b"<svg xmlns='http://www.w3.org/2000/svg'/>", 0, lambda ext: saved.append(ext) or double.output_dir)
    assert saved == [".svg"]


async def test_file_node_runs_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> None:
    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    monkeypatch.setenv("GENVR_BASE_URL", genvr_simulator.base_url)
    double: ComfyDouble = install(monkeypatch, tmp_path)
    pack = load_pack()
    out = await pack.NODE_CLASS_MAPPINGS["GenVR_imagegen__recraft_v3_svg"]().run(unique_id="3", prompt="a red panda logo")
    assert len(out) == len(pack.NODE_CLASS_MAPPINGS["GenVR_imagegen__recraft_v3_svg"].RETURN_TYPES) == 2
    files, urls = out
    path = Path(files.splitlines()[0])
    assert path.parent == double.output_dir / "genvr" and path.suffix == ".svg" and path.read_bytes().startswith(b"<svg")
    assert urls.startswith(genvr_simulator.base_url)


def test_combo_default_matches_its_entry_when_int_default_meets_float_enum() -> None:
    """The normaliser accepts an integer default for a number enum (`default: 5`, `enum: [5.0, 10.0]`); the combo
    entry is "5.0", so a default of "5" would not be in the list and ComfyUI would reject every untouched node."""
    from dataclasses import replace

    from generator_helpers import snapshot_specs

    from generator.targets.comfyui_widgets import model_inputs

    spec = snapshot_specs()["videogen/kling2_5_i2v"]
    duration = next(p for p in spec.params if p.wire_name == "duration")
    as_float = replace(duration, enum=(5.0, 10.0), default=5, has_default=True, types=("number",))
    inputs = model_inputs(replace(spec, params=tuple(as_float if p is duration else p for p in spec.params))).inputs
    combo = next(i for i in inputs if i.name == "duration")
    assert combo.type == ("5.0", "10.0") and combo.options["default"] == "5.0"
