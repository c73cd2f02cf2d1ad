"""Gemini function declarations, checked by Google's own SDK types: each one validates and survives the SDK's
serialisation unchanged (so no key we ship is silently dropped or renamed on the way to the API)."""

from __future__ import annotations

from google.genai import types

from generator_helpers import snapshot_specs
from genvr import tools as genvr_tools


def test_every_gemini_declaration_is_accepted_by_the_sdk_unchanged() -> None:
    seen: set[str] = set()
    for category in genvr_tools.MODEL_FILES:
        for tool in genvr_tools.load("gemini", category=category):  # type: ignore[arg-type]
            parsed = types.Tool.model_validate(tool)
            assert parsed.function_declarations, category
            for declaration, shipped in zip(parsed.function_declarations, tool["functionDeclarations"], strict=True):
                assert declaration.model_dump(mode="json", by_alias=True, exclude_none=True) == shipped, declaration.name
                assert declaration.parameters is not None and declaration.parameters.type == types.Type.OBJECT
                seen.add(str(declaration.name))
    with_schema = [k for k, s in snapshot_specs().items() if not s.free_form]
    assert len(seen) == len(with_schema) == 286


def test_gemini_request_config_builds_with_a_category_bundle() -> None:
    tools = genvr_tools.load("gemini", category="imagegen")
    config = types.GenerateContentConfig(tools=[types.Tool.model_validate(t) for t in tools])
    names = [d.name for t in config.tools or [] for d in (t.function_declarations or [])]  # type: ignore[union-attr]
    assert "genvr_imagegen__flux_dev" in names
    flux = next(d for t in config.tools or [] for d in (t.function_declarations or []) if d.name == "genvr_imagegen__flux_dev")  # type: ignore[union-attr]
    assert flux.parameters.required == ["prompt"]  # type: ignore[union-attr]
    assert flux.parameters.properties["aspect_ratio"].enum[:2] == ["1:1", "16:9"]  # type: ignore[union-attr,index]
