"""pytest fixtures: a live simulator on a free 127.0.0.1 port.

- `genvr_simulator`: a fresh-state simulator for one test (one server per session, reset before each test:
  tasks, counters, faults and settings back to the defaults: job 0.05 s, token `sim-token`, uid `sim-user`).
- `genvr_simulator_factory`: `factory(settings=None, *, faults=None, clock=None, **setting_overrides)` starts a
  dedicated server (stopped at test end).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .faults import FaultConfig
from .server import SimulatorServer
from .settings import Settings
from .state import Clock

TEST_JOB_SECONDS = 0.05
SimulatorFactory = Callable[..., SimulatorServer]


@pytest.fixture(scope="session")
def genvr_simulator_session() -> Iterator[SimulatorServer]:
    with SimulatorServer(Settings(job_seconds=TEST_JOB_SECONDS)) as server:
        yield server


@pytest.fixture
def genvr_simulator(genvr_simulator_session: SimulatorServer) -> SimulatorServer:
    genvr_simulator_session.reset(tasks=True, faults=True, settings=True)
    return genvr_simulator_session


@pytest.fixture
def genvr_simulator_factory() -> Iterator[SimulatorFactory]:
    started: list[SimulatorServer] = []

    def factory(settings: Settings | None = None, *, faults: FaultConfig | dict[str, Any] | None = None,
                clock: Clock | None = None, **overrides: Any) -> SimulatorServer:
        base = settings or Settings(job_seconds=TEST_JOB_SECONDS)
        server = SimulatorServer(base.updated(**overrides) if overrides else base, faults=faults, clock=clock)
        started.append(server.start())
        return server

    yield factory
    for server in started:
        server.stop()
