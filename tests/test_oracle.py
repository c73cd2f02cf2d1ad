"""The differential oracle (tests/oracle.py) on every real schema and on fuzzed GenVR-dialect schemas.

`make test` runs a bounded number of examples; `make fuzz` sets GENVR_FUZZ_SCHEMAS (≥ 10,000) and prints the
report: schemas fuzzed, instances judged, disagreements by decider pair (the goal is 0)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.normalize import SchemaError
from generator_helpers import raw_schema, snapshot_specs
from oracle import Deciders, Tally, genvr_schema, instance_strategy, judge, mutated

FUZZ_SCHEMAS = int(os.environ.get("GENVR_FUZZ_SCHEMAS", "150"))
REAL_EXAMPLES = int(os.environ.get("GENVR_FUZZ_REAL", "3"))  # examples per real schema
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

FUZZED = Tally()
REAL = Tally()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    for label, tally in (("real schemas", REAL), ("fuzzed schemas", FUZZED)):
        if tally.instances:
            print(f"\n{label}: {tally.summary()}")


REAL_KEYS = sorted(k for k, s in snapshot_specs().items() if not s.free_form)


@cache
def real_deciders(key: str) -> Deciders:
    return Deciders.build(raw_schema(key)["schema"], key)


def _judge_some(d: Deciders, data: st.DataObject, tally: Tally, count: int) -> None:
    for _ in range(count):
        instance = data.draw(instance_strategy(d.normalized))
        if data.draw(st.booleans()):
            instance = data.draw(mutated(instance, d.normalized))
        problems = judge(d, instance, tally)
        assert not problems, f"{problems} on {instance!r}\nschema: {d.raw!r}"


@pytest.mark.parametrize("key", REAL_KEYS)
def test_real_schemas_four_deciders_agree(key: str) -> None:
    d = real_deciders(key)
    REAL.schemas += 1

    @settings(max_examples=REAL_EXAMPLES, deadline=None, suppress_health_check=_HEALTH, database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        _judge_some(d, data, REAL, 4)

    check()


@settings(max_examples=FUZZ_SCHEMAS, deadline=None, suppress_health_check=_HEALTH, database=None)
@given(raw=genvr_schema(), data=st.data())
def test_fuzzed_schemas_four_deciders_agree(raw: dict[str, object], data: st.DataObject) -> None:
    FUZZED.schemas += 1
    try:
        d = Deciders.build(raw)
    except SchemaError:
        FUZZED.refused_schemas += 1
        return
    _judge_some(d, data, FUZZED, 4)
