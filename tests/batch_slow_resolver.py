"""A resolver for CLI tests that need a slow validation phase: each job takes a few milliseconds to validate, and
the file named by GENVR_TEST_MARKER is created once 50 jobs were checked (so a test can signal mid-validation)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import model_validator

from genvr_runtime import GenVRInput, ModelInfo

_seen = 0


class SlowFluxDev(GenVRInput):
    prompt: str

    @model_validator(mode="after")
    def _slow(self) -> SlowFluxDev:
        global _seen
        _seen += 1
        if _seen == 50 and (marker := os.environ.get("GENVR_TEST_MARKER")):
            Path(marker).touch()
        time.sleep(0.003)
        return self


SlowFluxDev.genvr_model = ModelInfo(category="imagegen", subcategory="flux_dev", name="Flux Dev")


def resolve(category: str, subcategory: str) -> type[GenVRInput]:
    return SlowFluxDev
