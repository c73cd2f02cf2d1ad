"""The schema normalizer on real GenVR schemas, both dialects, and each trap API.md §12 ranks."""

from __future__ import annotations

import copy
import json

import pytest

from generator.normalize import SchemaError, extract_schema, normalize_model
from generator_helpers import ROOT, raw_schema, snapshot_specs


def normalize(schema: object, key: str = "imagegen/test_model") -> object:
    category, subcategory = key.split("/")
    return normalize_model(category=category, subcategory=subcategory, display_name="Test", description="", raw_schema=schema)


def params(key: str) -> dict[str, object]:
    return {p.wire_name: p for p in snapshot_specs()[key].params}


def test_every_snapshot_model_normalizes_and_keeps_every_property() -> None:
    specs = snapshot_specs()
    assert len(specs) == 291
    for key, spec in specs.items():
        if spec.free_form:
            continue
        schema = raw_schema(key)["schema"]
        assert [p.wire_name for p in spec.params] == sorted(
            schema["properties"], key=lambda n: (schema["properties"][n]["x-order"], n)
        ), key


def test_the_five_models_without_schema_are_free_form_and_reported() -> None:
    free = sorted(k for k, s in snapshot_specs().items() if s.free_form)
    assert free == ["3dgen/hyper3d_rodin_v2", "3dgen/meshy3d_v6", "videogen/google_veo3_1", "videogen/sora2", "vidutils/sora2_watermark_remover"]
    assert all("no schema published" in snapshot_specs()[k].warnings[0] for k in free)


def test_flux_dev_field_by_field() -> None:
    p = params("imagegen/flux_dev")
    assert list(p) == ["prompt", "speed_mode", "num_inference_steps", "guidance", "seed", "aspect_ratio", "image_size", "output_format", "output_quality"]
    assert p["prompt"].required and p["prompt"].types == ("string",)
    assert p["aspect_ratio"].enum == ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
    assert p["aspect_ratio"].default == "16:9" and not p["aspect_ratio"].required
    assert (p["output_quality"].minimum, p["output_quality"].maximum, p["output_quality"].default) == (1, 100, 80)
    assert p["guidance"].types == ("number",)
    assert p["speed_mode"].enum[1] == "Juiced 🔥 (default)"  # emoji survive


def test_documented_parameters_dialect_flux_dev_example() -> None:
    doc = json.loads((ROOT / "discovery/samples/docs/api-docs-schema__imagegen__flux_dev.response.json").read_text())
    spec = normalize(doc, "imagegen/flux_dev")
    assert spec.dialect == "parameters"
    by = {p.wire_name: p for p in spec.params}
    assert list(by) == ["prompt", "aspect_ratio", "num_outputs"]
    assert by["prompt"].required and by["prompt"].description == "Text description of the image to generate"
    assert by["aspect_ratio"].types == ("string",) and by["aspect_ratio"].enum == ("1:1", "16:9", "21:9", "4:5", "9:16")
    assert (by["num_outputs"].minimum, by["num_outputs"].maximum, by["num_outputs"].default) == (1, 4, 1)


def test_parameters_dialect_accepts_min_max_and_file_keys() -> None:
    doc = {"parameters": {"required": [{"name": "image", "type": "string", "format": "uri", "fileType": "image"}], "optional": [
        {"name": "strength", "type": "number", "min": 0, "max": 1, "step": 0.05},
        {"name": "refs", "type": "array", "items": {"format": "uri", "fileType": "video"}, "maxItems": 3},
        {"name": "bitrate", "type": "enum", "allowedValues": [32000, 64000]}]}}
    by = {p.wire_name: p for p in normalize(doc).params}
    assert by["image"].is_file and by["image"].file_type == "image" and by["image"].required
    assert (by["strength"].minimum, by["strength"].maximum, by["strength"].step) == (0, 1, 0.05)
    assert by["refs"].items.is_file and by["refs"].items.file_type == "video" and by["refs"].max_items == 3
    assert by["bitrate"].types == ("integer",) and by["bitrate"].enum == (32000, 64000)


@pytest.mark.parametrize("wrap", [
    lambda s: s,  # bare inputJson
    lambda s: {"name": "imagegen/x", "schema": s},  # GenVR cache entry
    lambda s: {"success": True, "data": {"inputJson": s}},  # envelope around inputJson
    lambda s: {"success": True, "data": {"category": "imagegen", "subcategory": "x", "schema": s}},
])
def test_inputjson_is_found_in_every_envelope(wrap: object) -> None:
    schema = raw_schema("imagegen/flux_dev")["schema"]
    dialect, found = extract_schema(wrap(copy.deepcopy(schema)), "imagegen/x")  # type: ignore[operator]
    assert dialect == "inputjson" and found == schema


def test_integer_enum() -> None:
    p = params("audiogen/cartesia_sonic2")["sample_rate"]
    assert p.types == ("integer",) and p.enum == (16000, 24000, 44100, 48000)


def test_label_to_value_enum_becomes_presets_on_a_free_string() -> None:
    p = params("videogen_templates/hug")["prompt"]
    assert p.enum is None and p.types == ("string",)
    assert dict(p.presets) == raw_schema("videogen_templates/hug")["schema"]["properties"]["prompt"]["enum"]
    assert p.default == "Hug."


def test_type_list_integer_or_string() -> None:
    p = params("audiogen/sonauto_text2music")["bpm"]
    assert p.types == ("integer", "string") and p.default == "auto"


def test_arrays_of_files() -> None:
    p = params("videogen_templates/hug")["images"]
    assert p.main_type == "array" and p.required and (p.min_items, p.max_items) == (1, 1)
    assert p.items.is_file and p.items.file_type == "image" and p.is_file
    trellis = params("3dgen/trellis")["images"]
    assert trellis.max_items == 4 and trellis.items.file_type == "image"


def test_file_inputs_without_file_type_get_a_kind_from_name_or_description() -> None:
    assert params("audiogen/dia")["audio_prompt"].file_type == "audio"
    assert params("vidutils/heygen_video_translate")["video"].file_type == "video"


def test_required_names_that_are_not_properties_are_not_enforced() -> None:
    specs = snapshot_specs()
    noted = [k for k, s in specs.items() if any("which are not properties" in w for w in s.warnings)]
    assert len(noted) == 36
    hug = specs["videogen_templates/hug"]
    assert "template" not in {p.wire_name for p in hug.params}
    assert [p.wire_name for p in hug.params if p.required] == ["images"]


def test_schemas_without_required_have_no_required_inputs() -> None:
    for key in ["imagegen/storyboard", "imagegen/stable_diffusion_3_5", "imagegen/nvidia_sana", "imgedit/face_to_many_sdxl", "videogen/hunyuan_video", "vidutils/mmaudio"]:
        assert "required" not in raw_schema(key)["schema"]
        assert not any(p.required for p in snapshot_specs()[key].params), key


def test_hidden_required_inputs_with_defaults_are_sent_always_but_not_demanded() -> None:
    p = params("videogen/runway_gen4_turbo")["model"]
    assert p.hidden and not p.required and p.send_always and p.default == "runway/gen4_turbo"


def test_names_in_pydantic_namespace_and_camel_case_get_safe_python_names() -> None:
    act2 = params("vidutils/runway_act2")
    assert act2["bodyControl"].python_name == "body_control"
    assert act2["expressionIntensity"].python_name == "expression_intensity"
    names = {p.python_name for s in snapshot_specs().values() for p in s.params}
    assert {"model_type", "model_size", "model_image", "model_variant", "category", "input"} <= names


def test_unknown_type_is_a_loud_fallback_not_a_guess() -> None:
    spec = normalize({"type": "object", "properties": {"x": {"type": "file"}}})
    assert spec.params[0].types == ("any",)
    assert any("unknown type 'file'" in w and "imagegen/test_model.x" in w for w in spec.warnings)


@pytest.mark.parametrize("schema, message", [
    ({"type": "object", "properties": []}, "'properties' must be an object"),
    ({"type": "object", "properties": {"seed": 5}}, "imagegen/test_model.seed: property must be an object"),
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 9, "maximum": 1}}}, "imagegen/test_model.n: minimum 9 is greater"),
    ({"type": "object", "properties": {"n": {"type": "integer", "enum": ["a"]}}}, "imagegen/test_model.n: enum value 'a' does not match"),
    ({"type": "object", "properties": {"n": {"type": 5}}}, "imagegen/test_model.n: 'type' must be"),
    ({"type": "object", "properties": {"n": {"type": "array", "maxItems": -1}}}, "imagegen/test_model.n: 'maxItems'"),
    ({"type": "object", "properties": {}, "required": "prompt"}, "'required' must be a list"),
    ({"type": "array", "properties": {}}, "top-level type must be 'object'"),
    ({"hello": "world"}, "unrecognised schema document"),
    ({"success": False, "message": "Model not found"}, "success=false"),
    ({"parameters": {"required": [{"type": "string"}]}}, "without a string 'name'"),
])
def test_malformed_schemas_raise_errors_naming_model_and_field(schema: object, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        normalize(schema)
    assert message in str(info.value)
    assert str(info.value).startswith("imagegen/test_model")


def test_invalid_default_is_dropped_with_a_warning() -> None:
    spec = normalize({"type": "object", "properties": {"r": {"type": "string", "enum": ["a", "b"], "default": "c"}}})
    assert not spec.params[0].has_default
    assert any("default 'c' dropped" in w for w in spec.warnings)


def test_ui_keys_are_ignored_on_purpose_and_unknown_keys_reported() -> None:
    schema = raw_schema("imagegen/google_imagen4")["schema"]
    spec = normalize(schema)
    assert not any("unknown" in w for w in spec.warnings)  # map, linkto, basic_properties ... are known
    spec = normalize({"type": "object", "properties": {"x": {"type": "string", "x-brand-new": 1}}, "novel": True})
    assert any("unknown schema keys ['novel']" in w for w in spec.warnings)
    assert any("unknown keys ['x-brand-new']" in w for w in spec.warnings)


def test_advanced_properties_group_marks_inputs_advanced() -> None:
    p = params("imagegen/google_imagen4")
    assert p["seed"].hidden  # only in advanced_properties
    assert not p["num_images"].hidden  # in basic and advanced: stays basic
