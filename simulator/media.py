"""Small but real output files (stdlib only), so client download code handles genuine bytes."""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import wave
import zlib

# kind -> (extension, content type)
KINDS: dict[str, tuple[str, str]] = {
    "png": ("png", "image/png"),
    "mp4": ("mp4", "video/mp4"),
    "wav": ("wav", "audio/wav"),
    "glb": ("glb", "model/gltf-binary"),
    "txt": ("txt", "text/plain; charset=utf-8"),
}


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


def make_mp4(salt: bytes) -> bytes:
    """ftyp + moov(mvhd) + mdat: a structurally valid ISO BMFF file (no playable track)."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(b"mvhd", struct.pack(">B3sIIII", 0, b"\0\0\0", 0, 0, 1000, 0)  # version/flags, times, timescale, duration
                + struct.pack(">IH", 0x10000, 0x100) + b"\0" * 10 + matrix + b"\0" * 24 + struct.pack(">I", 2))
    mdat = _box(b"mdat", hashlib.sha256(salt).digest())
    return ftyp + _box(b"moov", mvhd) + mdat


def make_glb(salt: bytes) -> bytes:
    """glTF 2.0 binary: 12-byte header + one JSON chunk (padded with spaces to 4 bytes)."""
    doc = {"asset": {"version": "2.0", "generator": "genvr-simulator", "extras": {"salt": salt.hex()}},
           "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"name": "sim"}]}
    chunk = json.dumps(doc, separators=(",", ":")).encode()
    chunk += b" " * (-len(chunk) % 4)
    total = 12 + 8 + len(chunk)
    return struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(chunk), b"JSON") + chunk


def make_file(kind: str, salt: bytes) -> bytes:
    if kind == "png":
        return make_png(salt)
    if kind == "mp4":
        return make_mp4(salt)
    if kind == "wav":
        return make_wav(salt)
    if kind == "glb":
        return make_glb(salt)
    return b"simulated output " + salt + b"\n"
