"""What each model returns, decided once here; every other part reads the generated table.

GenVR's schemas describe inputs only. The output kind follows the model's category, except where the model's
own name or description says otherwise; those exceptions are the documented table below. The result is written
to `generated/genvr/output_kinds.py` (`OUTPUT_KINDS["3dgen/panorama"] == "image"`), which is read by the
simulator (which file it serves), the batch runner's output check (what a downloaded file must be), the docs, and,
baked in at generation time, the ComfyUI pack (each node's outputs).

Kinds: `image` (PNG/JPEG/WebP...), `video` (MP4/WebM with a video stream), `audio` (WAV/MP3/...), `3d`
(GLB/FBX/OBJ, or a ZIP of a mesh and its textures), `svg` (vector images, which no IMAGE tensor holds), `file`
(unknown: a category this table does not know yet).
"""

from __future__ import annotations

import re

from .normalize import ModelSpec
from .render import HEADER, pyrepr

KINDS = ("image", "video", "audio", "3d", "svg", "file")

CATEGORY_KINDS = {
    "imagegen": "image",
    "imgedit": "image",
    "imgutils": "image",
    "imgutils_control": "image",
    "imgutils_transfer": "image",
    "videogen": "video",
    "videogen_templates": "video",
    "vidutils": "video",
    "audiogen": "audio",
    "3dgen": "3d",
}

# Model → (kind, the fact it rests on). Every entry quotes GenVR's own words about the model.
OVERRIDES: dict[str, tuple[str, str]] = {
    "3dgen/panorama": ("image", 'description: "Generate panoramic images using Flux 360 model"'),
    "imagegen/recraft_v3_svg": ("svg", 'name "Recraft V3 SVG": Recraft\'s vector model returns SVG files'),
}

# Words in a name or description that contradict the category's kind: a model saying them needs an entry in
# OVERRIDES (or a decision that the category is right), so a new model like the panorama one is not missed.
_CONTRADICTIONS = {
    "svg": re.compile(r"\bsvg\b|\bvector (graphic|image)s?\b", re.IGNORECASE),
    "image": re.compile(r"\bgenerate\w* (?:\w+ ){0,2}images?\b(?!\s+based)", re.IGNORECASE),
}


def output_kind(spec: ModelSpec) -> str:
    override = OVERRIDES.get(spec.key)
    if override is not None:
        return override[0]
    return CATEGORY_KINDS.get(spec.category, "file")


def unresolved(spec: ModelSpec) -> str | None:
    """Why a model's kind looks wrong (its own words say another kind), or None."""
    if spec.key in OVERRIDES:
        return None
    kind = output_kind(spec)
    text = f"{spec.display_name} {spec.description or ''}"
    for other, pattern in _CONTRADICTIONS.items():
        if other != kind and pattern.search(text):
            return f"{spec.key}: its name or description says {other!r} output but its category gives {kind!r}"
    return None


def table(specs: list[ModelSpec]) -> dict[str, str]:
    return {spec.key: output_kind(spec) for spec in sorted(specs, key=lambda s: s.key)}


def render_module(specs: list[ModelSpec]) -> str:
    """`generated/genvr/output_kinds.py`: the table as data (importable without importing the package's models)."""
    rows = "".join(f"    {pyrepr(key)}: {pyrepr(kind)},\n" for key, kind in table(specs).items())
    overrides = "".join(f"# - {key}: {kind} ({why})\n" for key, (kind, why) in sorted(OVERRIDES.items()))
    return f'''{HEADER}
"""What each model returns: `OUTPUT_KINDS["<category>/<subcategory>"]`, decided by generator/output_kinds.py.

Kinds: image, video, audio, 3d, svg, file (unknown). By category, except (GenVR's own words in brackets):
"""
{overrides}
from __future__ import annotations

from typing import Final, Literal

OutputKind = Literal["image", "video", "audio", "3d", "svg", "file"]

OUTPUT_KINDS: Final[dict[str, OutputKind]] = {{
{rows}}}


def output_kind(model: str) -> OutputKind | None:
    """The output kind of a model key such as "imagegen/flux_dev"; None for a model this package does not know."""
    return OUTPUT_KINDS.get(model)
'''
