"""Issue 10, observation 9: label → text presets (object enums, `videogen_templates` prompts) are visible
where a user or an LLM chooses a value: tool descriptions (bounded), docstrings, a ComfyUI preset combo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from generator.targets import llm_tools_schema
from generator.targets.comfyui_widgets import model_inputs
from generator.targets.python_package import param_doc
from generator_helpers import snapshot_specs
from simulator.server import SimulatorServer

KISS = "videogen_templates/kiss"  # prompt presets: Couple photo / Single girl photo / Single boy photo


def prompt_param() -> Any:
    return next(p for p in snapshot_specs()[KISS].params if p.wire_name == "prompt")


@pytest.mark.parametrize("dialect", ["full", "strict", "gemini"])
def test_tool_descriptions_list_presets_in_order(dialect: str) -> None:
    text = llm_tools_schema.parameters(snapshot_specs()[KISS], dialect)["properties"]["prompt"]["description"]
    assert "use the second or third prompt" in text
    first, second, third = (text.index(t) for t in ("Kiss.", "This person kissed a (handsome man)", "This person kissed a (beautiful woman)"))
    assert first < second < third and "2. Single girl photo" in text


def test_preset_text_in_descriptions_is_bounded() -> None:
    spec = snapshot_specs()[KISS]
    long = [(f"label {i}", "word " * 200) for i in range(40)]
    p = next(p for p in spec.params if p.wire_name == "prompt")
    import dataclasses

    big = dataclasses.replace(spec, params=tuple(dataclasses.replace(q, presets=tuple(long)) if q is p else q for q in spec.params))
    text = llm_tools_schema.parameters(big, "full")["properties"]["prompt"]["description"]
    assert len(text) <= llm_tools_schema.DESCRIPTION_LIMIT and "label 0" in text


def test_docstring_lists_presets_with_their_text() -> None:
    doc = param_doc(prompt_param())
    assert '1. Couple photo: "Kiss."' in doc and "3. Single boy photo" in doc


def test_comfyui_preset_combo() -> None:
    inputs = {i.name: i for i in model_inputs(snapshot_specs()[KISS]).inputs}
    combo = inputs["prompt_preset"]
    assert combo.type == ("(custom text)", "Couple photo", "Single girl photo", "Single boy photo")


async def test_comfyui_preset_is_sent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, genvr_simulator: SimulatorServer) -> None:
    from comfy_double import install, load_pack

    monkeypatch.setenv("GENVR_API_KEY", genvr_simulator.token)
    monkeypatch.setenv("GENVR_UID", genvr_simulator.uid)
    monkeypatch.setenv("GENVR_BASE_URL", genvr_simulator.base_url)
    install(monkeypatch, tmp_path)
    node = load_pack().NODE_CLASS_MAPPINGS["GenVR_videogen_templates__kiss"]
    await node().run(unique_id="1", images_urls="https://example.com/a.png", prompt="ignored", prompt_preset="Single girl photo")
    await node().run(unique_id="2", images_urls="https://example.com/b.png", prompt="my own", prompt_preset="(custom text)")
    tasks = sorted(httpx.get(genvr_simulator.url("/_sim/tasks")).json()["tasks"], key=lambda t: t["seq"])
    assert [t["params"]["prompt"] for t in tasks] == ["This person kissed a (handsome man)", "my own"]
