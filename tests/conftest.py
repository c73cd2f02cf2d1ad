"""Shared pytest configuration: the GenVR simulator fixtures (`genvr_simulator`, `genvr_simulator_factory`)."""

pytest_plugins = ["simulator.pytest_plugin"]
