"""Target: LLM tool specs (OpenAI, Anthropic, Gemini, MCP) from the same ModelSpecs as the input classes.

Issue 5 fills this in; until then it renders nothing.
"""

from __future__ import annotations

from generator.targets.python_package import PlannedCategory


def render(categories: list[PlannedCategory]) -> dict[str, str]:
    """Files by path relative to generated/ (.py files are formatted by the pipeline)."""
    return {}
