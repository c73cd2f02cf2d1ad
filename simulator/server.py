"""Run the simulator with uvicorn in a background thread (tests) and give callers one handle to it."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .faults import FaultConfig
from .settings import Settings
from .state import Clock, SimState


class SimulatorServer:
    """A live simulator on 127.0.0.1. `port=0` picks a free port (read `.port`/`.base_url` after `start()`)."""

    def __init__(self, settings: Settings | None = None, *, faults: FaultConfig | dict[str, Any] | None = None,
                 clock: Clock | None = None, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        self.app, self.state = create_app(settings, faults=faults, clock=clock)
        self.host = host
        self.port = port
        self.log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> SimulatorServer:
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level=self.log_level,
                                access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="genvr-simulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; the port is released (tasks and counters stay in `.state` for a restart)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
        self._server = self._thread = None
        self.state.persist()

    def restart(self) -> SimulatorServer:
        """Stop then start again on the same port (between the two, connections are refused)."""
        self.stop()
        return self.start()

    def __enter__(self) -> SimulatorServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use -----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        return next(iter(self.state.settings.tokens))

    @property
    def uid(self) -> str:
        return self.state.settings.tokens[self.token]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def url(self, path: str) -> str:
        return self.base_url + path

    def counters(self) -> dict[str, Any]:
        return self.state.counters_snapshot()

    def configure(self, faults: FaultConfig | dict[str, Any] | None = None, **settings: Any) -> None:
        self.state.configure(faults=faults, **settings)

    def reset(self, *, tasks: bool = True, faults: bool = True, settings: bool = True) -> None:
        self.state.reset(tasks=tasks, faults=faults, settings=settings)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server with the test token."""
        return httpx.Client(base_url=self.base_url, headers=self.headers, **kwargs)

    def __repr__(self) -> str:
        return f"<SimulatorServer {self.base_url} dialect={self.state.settings.dialect}>"


def start_simulator(settings: Settings | None = None, **kwargs: Any) -> SimulatorServer:
    return SimulatorServer(settings, **kwargs).start()


def wait_for(predicate: Any, timeout: float = 5.0, interval: float = 0.01) -> None:
    """Poll `predicate()` until true (helper for tests)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)


__all__ = ["SimState", "SimulatorServer", "start_simulator", "wait_for"]
