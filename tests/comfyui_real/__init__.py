"""A real ComfyUI (the unmodified 0.3.64 snapshot in ../shared/comfyui) for the node pack's tests.

- `prepare_venv()`: ComfyUI's requirements in a virtualenv of its own, cached between runs on the same machine
  under `$GENVR_COMFYUI_CACHE` (default `~/.cache/genvr-bindings/comfyui`), keyed by ComfyUI's requirements.txt,
  our pins (`constraints.txt` beside this file) and the Python version. A build that did not finish is redone.
- `ComfyUI`: the snapshot extracted into a fresh folder, the pack installed the way its README says (copied into
  `custom_nodes/`, its requirements.txt installed with ComfyUI's Python, credentials in a config.ini), and
  `main.py --cpu` started headless on a free 127.0.0.1 port; `run()` sends an API-format prompt through
  `POST /prompt` and returns its `/history` entry.

Nothing here is committed or shared with the project's own venv; the tree and the venv stay outside the repo.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "generated" / "comfyui" / "genvr_nodes"
CONSTRAINTS = Path(__file__).with_name("constraints.txt")
# ../shared/comfyui next to the repository (CI lays shared/ beside its clone); GENVR_COMFYUI_SNAPSHOT overrides.
SNAPSHOT_CANDIDATES = (ROOT.parent / "shared" / "comfyui" / "ComfyUI-src.tar.gz", ROOT.parents[1] / "shared" / "comfyui" / "ComfyUI-src.tar.gz")
RECIPE = "1"  # bump when the way the venv is built changes
EXTRA_REQUIREMENTS = ("requests",)  # ComfyUI 0.3.64 imports it (app/frontend_management.py) without listing it


def snapshot() -> Path:
    override = os.environ.get("GENVR_COMFYUI_SNAPSHOT")
    candidates = (Path(override),) if override else SNAPSHOT_CANDIDATES
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError("ComfyUI snapshot not found; looked at " + ", ".join(str(p) for p in candidates) + " (set GENVR_COMFYUI_SNAPSHOT)")


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genvr-bindings" / "comfyui"
    return Path(os.environ.get("GENVR_COMFYUI_CACHE") or default)


def read_requirements(tarball: Path) -> bytes:
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("ComfyUI/requirements.txt")
        assert member is not None
        return member.read()


@dataclass
class Timings:
    """Figures for the report printed at the end of the run."""

    venv_seconds: float = 0.0
    venv_cached: bool = True
    venv_bytes: int = 0
    start_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


TIMINGS = Timings()


def _dir_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink())


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # two test runs on one machine build the venv once
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def venv_key(requirements: bytes) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE.encode(), requirements, CONSTRAINTS.read_bytes(), " ".join(EXTRA_REQUIREMENTS).encode(),
                 f"{sys.version_info.major}.{sys.version_info.minor}".encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def prepare_venv(tarball: Path) -> Path:
    """The cached venv's python, built on first use (large: torch and its CUDA libraries come from the registry)."""
    requirements = read_requirements(tarball)
    cache = cache_dir()
    venv = cache / f"venv-{venv_key(requirements)}"
    python = venv / "bin" / "python"
    done = venv / ".complete"
    started = time.monotonic()
    with _locked(cache / ".lock"):
        if not done.is_file():
            TIMINGS.venv_cached = False
            shutil.rmtree(venv, ignore_errors=True)  # an interrupted build is redone from scratch
            req_file = cache / f"requirements-{venv.name}.txt"
            req_file.write_bytes(requirements)
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--progress-bar", "off", "-r", str(req_file),
                            "-c", str(CONSTRAINTS), *EXTRA_REQUIREMENTS], check=True)
            done.write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
            for old in cache.glob("venv-*"):  # a few GB each: keep only the current one
                if old != venv and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
    TIMINGS.venv_seconds = time.monotonic() - started
    TIMINGS.venv_bytes = _dir_bytes(venv)
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ComfyUIError(RuntimeError):
    pass


class ComfyUI:
    """One headless ComfyUI process with the pack installed; `root` is its extracted tree."""

    def __init__(self, python: Path, tarball: Path, workdir: Path, pack_dir: Path = PACK_DIR) -> None:
        self.python = python
        self.workdir = workdir
        with tarfile.open(tarball) as tar:
            tar.extractall(workdir, filter="data")
        self.root = workdir / "ComfyUI"
        self.pack = self.root / "custom_nodes" / "genvr_nodes"
        self.log_path = workdir / "comfyui.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._install_pack(pack_dir)

    def _install_pack(self, pack_dir: Path) -> None:
        # The pack's README, steps 1 and 2: copy the folder into custom_nodes/, install its requirements.txt
        # with the Python that runs main.py.
        shutil.copytree(pack_dir, self.pack, ignore=shutil.ignore_patterns("__pycache__", "config.ini"))
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", "--progress-bar", "off", "-r",
                        str(self.pack / "requirements.txt")], check=True, cwd=self.root)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def user_config(self) -> Path:
        return self.root / "user" / "genvr" / "config.ini"

    @property
    def pack_config(self) -> Path:
        return self.pack / "config.ini"

    def write_config(self, path: Path, **values: str) -> None:
        """Step 3 of the pack's README: credentials in a config.ini (section [genvr])."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[genvr]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()), encoding="utf-8")

    def start(self, timeout: float = 300.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENVR_")}  # credentials from config.ini only
        env["PYTHONUNBUFFERED"] = "1"
        self.port = free_port()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(self.python), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
             "--disable-auto-launch"], cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise ComfyUIError(f"ComfyUI exited with {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/system_stats", timeout=2).status_code == 200:
                    TIMINGS.start_seconds = time.monotonic() - started
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise ComfyUIError(f"ComfyUI did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    # -- HTTP API ---------------------------------------------------------------------------------------------

    def get(self, path: str, **kwargs: Any) -> Any:
        response = httpx.get(self.base_url + path, timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def queue(self, prompt: dict[str, Any]) -> str:
        """POST /prompt; the prompt id. A prompt ComfyUI refuses raises with its node errors."""
        response = httpx.post(self.base_url + "/prompt", json={"prompt": prompt, "client_id": "genvr-tests"}, timeout=60)
        if response.status_code != 200:
            raise ComfyUIError(f"POST /prompt refused ({response.status_code}): {response.text[:2000]}")
        return str(response.json()["prompt_id"])

    def wait(self, prompt_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """The prompt's /history entry once it finished (successfully or not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = self.get(f"/history/{prompt_id}").get(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None and entry["status"].get("status_str"):
                return dict(entry)
            time.sleep(0.1)
        raise ComfyUIError(f"prompt {prompt_id} did not finish within {timeout:.0f} s:\n{self.log_tail()}")

    def run(self, prompt: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        return self.wait(self.queue(prompt), timeout)

    def upload_image(self, path: Path) -> str:
        """POST /upload/image as the browser does; the name LoadImage takes."""
        with path.open("rb") as fh:
            response = httpx.post(self.base_url + "/upload/image", files={"image": (path.name, fh, "image/png")},
                                  data={"overwrite": "true"}, timeout=60)
        response.raise_for_status()
        return str(response.json()["name"])


def error_message(entry: dict[str, Any]) -> str | None:
    """The exception message of a failed prompt from its /history status messages."""
    for event, data in entry.get("status", {}).get("messages", []):
        if event == "execution_error":
            return str(data.get("exception_message", ""))
    return None


def interrupted(entry: dict[str, Any]) -> bool:
    return any(event == "execution_interrupted" for event, _ in entry.get("status", {}).get("messages", []))


def saved_files(entry: dict[str, Any], root: Path) -> list[Path]:
    """Files the prompt's output nodes report in /history (`images`, `audio`, ... lists of saved results)."""
    out = []
    for node_output in entry.get("outputs", {}).values():
        for items in node_output.values():
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and "filename" in item:
                    out.append(root / item.get("type", "output") / item.get("subfolder", "") / item["filename"])
    return out


def dumps(entry: dict[str, Any]) -> str:
    return json.dumps(entry, indent=1)[:3000]
