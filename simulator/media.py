"""Small but real output files (stdlib only), so clients and ComfyUI's own nodes handle genuine media.

Each file carries its task's salt, so two tasks never return the same bytes: PNG pixel colours, WAV pitch, the
GLB's `asset.extras`, the SVG's fill colour, and for MP4 a trailing `free` box after the committed H.264 clip
(`fixtures/clip.mp4`, made once by `fixtures/make_video.py`; players skip `free` boxes).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import wave
import zlib
from functools import cache
from pathlib import Path

# kind -> (extension, content type)
KINDS: dict[str, tuple[str, str]] = {
    "png": ("png", "image/png"),
    "mp4": ("mp4", "video/mp4"),
    "wav": ("wav", "audio/wav"),
    "glb": ("glb", "model/gltf-binary"),
    "svg": ("svg", "image/svg+xml"),
    "txt": ("txt", "text/plain; charset=utf-8"),
}


# The file a model's output kind (generated/genvr/output_kinds.py) is served as.
FILE_KIND = {"image": "png", "video": "mp4", "audio": "wav", "3d": "glb", "svg": "svg", "file": "txt"}
VIDEO_CLIP = Path(__file__).with_name("fixtures") / "clip.mp4"


def kind_for_model(category: str, subcategory: str) -> str:
    """The file kind a model's outputs are served as: its output kind as decided once for the bindings, the
    node pack and the runtime (genvr.output_kinds); models outside that table by their category."""
    from genvr.output_kinds import OUTPUT_KINDS

    kind = OUTPUT_KINDS.get(f"{category}/{subcategory}")
    return FILE_KIND[kind] if kind else kind_for_category(category)


def kind_for_category(category: str) -> str:
    if category.startswith(("imagegen", "imgedit", "imgutils")):
        return "png"
    if category.startswith(("videogen", "vidutils")):
        return "mp4"
    if category == "audiogen":
        return "wav"
    if category == "3dgen":
        return "glb"
    return "txt"  # textgen/basicutils: output type UNKNOWN (API.md §4.5); plain text is the least surprising


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def make_png(salt: bytes, size: int = 4) -> bytes:
    """An RGB size×size PNG whose pixel colours derive from `salt` (distinct files per task)."""
    digest = hashlib.sha256(salt).digest()
    rows = b""
    for y in range(size):
        row = bytearray([0])  # filter type 0 (None)
        for x in range(size):
            i = (y * size + x) * 3 % 30
            row += digest[i:i + 3]
        rows += bytes(row)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b"")


def make_wav(salt: bytes, rate: int = 8000, seconds: float = 0.05) -> bytes:
    """16-bit mono PCM sine; the pitch derives from `salt`."""
    freq = 220 + hashlib.sha256(salt).digest()[0] * 4
    frames = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * n / rate)))
                      for n in range(int(rate * seconds)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def _box(tag: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + tag + payload


@cache
def _clip() -> bytes:
    return VIDEO_CLIP.read_bytes()


def make_mp4(salt: bytes) -> bytes:
    """The committed H.264 clip (8 frames), plus a top-level `free` box holding the salt."""
    return _clip() + _box(b"free", hashlib.sha256(salt).digest())


def make_glb(salt: bytes) -> bytes:
    """glTF 2.0 binary with one mesh (a tetrahedron): JSON chunk + BIN chunk (positions, then uint16 indices)."""
    points = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    indices = (0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3)
    positions = b"".join(struct.pack("<3f", *p) for p in points)
    index_bytes = struct.pack(f"<{len(indices)}H", *indices)
    binary = positions + index_bytes
    binary += b"\0" * (-len(binary) % 4)
    doc = {
        "asset": {"version": "2.0", "generator": "genvr-simulator", "extras": {"salt": salt.hex()}},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"name": "sim", "mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(points), "type": "VEC3",
             "min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 1.0]},
            {"bufferView": 1, "componentType": 5123, "count": len(indices), "type": "SCALAR"},
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions), "target": 34962},
            {"buffer": 0, "byteOffset": len(positions), "byteLength": len(index_bytes), "target": 34963},
        ],
        "buffers": [{"byteLength": len(binary)}],
    }
    chunk = json.dumps(doc, separators=(",", ":")).encode()
    chunk += b" " * (-len(chunk) % 4)
    total = 12 + 8 + len(chunk) + 8 + len(binary)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(chunk), b"JSON") + chunk
            + struct.pack("<I4s", len(binary), b"BIN\0") + binary)


def make_svg(salt: bytes) -> bytes:
    colour = hashlib.sha256(salt).hexdigest()[:6]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
            f'<rect width="64" height="64" fill="#{colour}"/><circle cx="32" cy="32" r="20" fill="#ffffff"/></svg>\n').encode()


def make_file(kind: str, salt: bytes) -> bytes:
    if kind == "png":
        return make_png(salt)
    if kind == "mp4":
        return make_mp4(salt)
    if kind == "wav":
        return make_wav(salt)
    if kind == "glb":
        return make_glb(salt)
    if kind == "svg":
        return make_svg(salt)
    return b"simulated output " + salt + b"\n"
