"""Shared pytest configuration: the GenVR simulator fixtures (`genvr_simulator`, `genvr_simulator_factory`), and
the `--real-comfyui` switch for the tests that run the node pack in a real ComfyUI (`make test-comfyui`)."""

from __future__ import annotations

import signal

import pytest

pytest_plugins = ["simulator.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    # Several tests send Ctrl-C to a `genvr` process they start. A suite started with SIGINT ignored (a background
    # job of a shell, some CI runners) would pass that on through exec, and the CLI rightly keeps an ignored
    # SIGINT ignored; the children of a Python-level handler start with the default instead.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--real-comfyui", action="store_true",
                     help="run the tests marked real_comfyui (builds or reuses a cached ComfyUI venv of a few GB)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--real-comfyui"):
        return
    skip = pytest.mark.skip(reason="real ComfyUI: run `make test-comfyui`")
    for item in items:
        if "real_comfyui" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not config.getoption("--real-comfyui"):
        return
    from comfyui_real import TIMINGS

    t = TIMINGS
    terminalreporter.write_line(
        f"real ComfyUI: venv {'cached' if t.venv_cached else 'built'} in {t.venv_seconds:.0f} s, "
        f"{t.venv_bytes / 2**30:.2f} GiB; ComfyUI started in {t.start_seconds:.1f} s"
        + "".join(f"; {n}" for n in t.notes))
