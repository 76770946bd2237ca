"""The chaos run at CI size: replicas killed with SIGKILL while PagerDuty deliveries
stream in with duplicates and reordering, people act through the admin API and the
vendors fail 30 % of calls at random. Nothing acknowledged is lost, nothing is done twice.

`make chaos` runs every scenario at full size and writes RELIABILITY.md; this is the
small version (a few incidents, two replicas, a few kills). On PostgreSQL when
`PMHUB_TEST_POSTGRES_URL` is set (scenario C), on SQLite otherwise (scenario B).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from tests.reliability.chaos.report import misses
from tests.reliability.chaos.scenario import run_scenario, scenario_params

pytestmark = pytest.mark.slow
INCIDENTS = 4


@pytest.mark.timeout(240)
async def test_nothing_acknowledged_is_lost_and_nothing_is_done_twice(tmp_path: Path) -> None:
    postgres = os.environ.get("PMHUB_TEST_POSTGRES_URL")
    name = "C" if postgres else "B"
    params = scenario_params(name, incidents=INCIDENTS, seed=12, quick=True)
    params = replace(params, people_timeout=45.0, quiet_timeout=90.0)
    result = await run_scenario(params, tmp_path, postgres or "")

    assert result.error is None, result.error
    assert result.tally is not None
    assert result.kills >= 1  # the run really was disturbed
    assert result.tally.deliveries_acknowledged > 0
    assert result.tally.changes_acknowledged > 0
    if params.fault_rate:
        assert sum(result.faults_injected.values()) > 0
    assert misses(result) == [], (misses(result), json.dumps(result.tally.as_json()))
