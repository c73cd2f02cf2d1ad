"""A minimal stand-in for the ComfyUI modules the GenVR node pack touches, and a loader that imports the pack
the way ComfyUI does (by path, as a package).

The surface is exactly what the pack uses (test_comfyui_pack pins it by scanning the pack's imports), with
ComfyUI 0.3.64's signatures: `comfy.model_management` (interrupt flag and exception), `comfy.utils.ProgressBar`,
`server.PromptServer.instance.send_progress_text`, `folder_paths` directories, `comfy_api.input_impl.VideoFromFile`
and, to switch async nodes on, `comfy_execution.utils`.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "generated" / "comfyui" / "genvr_nodes"
SURFACE = {
    "comfy.model_management": {"InterruptProcessingException", "processing_interrupted", "throw_exception_if_processing_interrupted"},
    "comfy.utils": {"ProgressBar"},
    "server": {"PromptServer"},
    "folder_paths": {"get_output_directory", "get_temp_directory", "get_user_directory"},
    "comfy_api.input_impl": {"VideoFromFile"},
    "comfy_execution.utils": set(),
}


class InterruptProcessingException(Exception):
    """comfy.model_management's own class: ComfyUI reports it as "interrupted", not as an error."""


@dataclass
class ComfyDouble:
    """What the doubles recorded; `interrupt()` is what ComfyUI's Cancel button does."""

    root: Path
    interrupt_flag: bool = False
    progress: list[tuple[int, int | None]] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    bars: list[tuple[int, Any]] = field(default_factory=list)

    def interrupt(self, value: bool = True) -> None:
        self.interrupt_flag = value

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def user_dir(self) -> Path:
        return self.root / "user"


class VideoFromFile:
    def __init__(self, file: Any) -> None:
        self.file = file

    def get_stream_source(self) -> Any:
        return self.file


def install(monkeypatch: Any, root: Path, *, async_nodes: bool = True) -> ComfyDouble:
    """Put the doubles into sys.modules (undone by monkeypatch at test end)."""
    double = ComfyDouble(root)
    for d in ("output", "temp", "input", "user"):
        (root / d).mkdir(parents=True, exist_ok=True)

    mm = types.ModuleType("comfy.model_management")
    mm.InterruptProcessingException = InterruptProcessingException  # type: ignore[attr-defined]

    def processing_interrupted() -> bool:
        return double.interrupt_flag

    def throw_exception_if_processing_interrupted() -> None:
        if double.interrupt_flag:
            double.interrupt_flag = False
            raise InterruptProcessingException()

    mm.processing_interrupted = processing_interrupted  # type: ignore[attr-defined]
    mm.throw_exception_if_processing_interrupted = throw_exception_if_processing_interrupted  # type: ignore[attr-defined]

    utils = types.ModuleType("comfy.utils")

    class ProgressBar:
        def __init__(self, total: int, node_id: Any = None) -> None:
            self.total = total
            double.bars.append((total, node_id))

        def update_absolute(self, value: int, total: int | None = None, preview: Any = None) -> None:
            double.progress.append((value, total))

    utils.ProgressBar = ProgressBar  # type: ignore[attr-defined]

    comfy = types.ModuleType("comfy")
    comfy.__path__ = []  # type: ignore[attr-defined]
    comfy.model_management = mm  # type: ignore[attr-defined]
    comfy.utils = utils  # type: ignore[attr-defined]

    server = types.ModuleType("server")

    class _Instance:
        def send_progress_text(self, text: str, node_id: str, sid: Any = None) -> None:
            double.texts.append((node_id, text))

    class PromptServer:
        instance = _Instance()

    server.PromptServer = PromptServer  # type: ignore[attr-defined]

    folder_paths = types.ModuleType("folder_paths")
    folder_paths.get_output_directory = lambda: str(root / "output")  # type: ignore[attr-defined]
    folder_paths.get_temp_directory = lambda: str(root / "temp")  # type: ignore[attr-defined]
    folder_paths.get_input_directory = lambda: str(root / "input")  # type: ignore[attr-defined]
    folder_paths.get_user_directory = lambda: str(root / "user")  # type: ignore[attr-defined]

    comfy_api = types.ModuleType("comfy_api")
    comfy_api.__path__ = []  # type: ignore[attr-defined]
    input_impl = types.ModuleType("comfy_api.input_impl")
    input_impl.VideoFromFile = VideoFromFile  # type: ignore[attr-defined]

    modules = {
        "comfy": comfy,
        "comfy.model_management": mm,
        "comfy.utils": utils,
        "server": server,
        "folder_paths": folder_paths,
        "comfy_api": comfy_api,
        "comfy_api.input_impl": input_impl,
    }
    if async_nodes:
        execution = types.ModuleType("comfy_execution")
        execution.__path__ = []  # type: ignore[attr-defined]
        execution_utils = types.ModuleType("comfy_execution.utils")
        execution_utils.__spec__ = importlib.util.spec_from_loader("comfy_execution.utils", loader=None)
        execution.__spec__ = importlib.util.spec_from_loader("comfy_execution", loader=None, is_package=True)
        modules["comfy_execution"] = execution
        modules["comfy_execution.utils"] = execution_utils
    else:
        modules["comfy_execution"] = None  # type: ignore[assignment]  # "not installed"
        modules["comfy_execution.utils"] = None  # type: ignore[assignment]
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return double


def load_pack(pack_dir: Path = PACK_DIR) -> types.ModuleType:
    """Import the pack like ComfyUI's `load_custom_node`: module name = its path with "." → "_x_"."""
    name = str(pack_dir).replace(".", "_x_")
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]  # a fresh import: the async/sync choice is made at import time
    spec = importlib.util.spec_from_file_location(name, pack_dir / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
