"""The benchmark harness works: run it end to end at a tiny scale and check what it counted.

Nothing here looks at speed (speed is `make bench`'s job, never a test's); only that
every scenario ran, every delivery was answered and counted, and the report was written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.bench import run
from tests.bench.e2e import STAGES, E2eResult
from tests.bench.flow import FlowResults
from tests.bench.flow_report import compose
from tests.bench.loadgen import percentile
from tests.bench.report import NOTES_BEGIN, NOTES_END, kept_notes
from tests.bench.storm import StormResult

QUICK_RATE_DELIVERIES = 50  # --quick: 50/s for 1 s, no warm-up
QUICK_SATURATION_BOUND = 50


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_harness_runs_every_scenario_and_counts_the_inbox(tmp_path: Path) -> None:
    scenarios = ["reference", "sqlite"]
    postgres = os.environ.get("PMHUB_TEST_POSTGRES_URL")
    extra = ["--postgres-url", postgres] if postgres else []
    if postgres:
        scenarios.append("postgres")
    output, raw = tmp_path / "BENCHMARKS.md", tmp_path / "bench.json"
    status = run.main(
        [
            *("--quick", "--scenarios", ",".join(scenarios), "--output", str(output)),
            *("--json", str(raw), "--workdir", str(tmp_path / "work"), *extra),
        ]
    )

    assert status == 0
    results = {r["name"]: r for r in json.loads(raw.read_text())["results"]}
    assert sorted(results) == sorted(scenarios)
    for name, result in results.items():
        assert result["error"] is None, name
        assert result["skipped"] is None, name
        assert result["rate"]["statuses"] == {"202": QUICK_RATE_DELIVERIES}, name
        assert result["rate"]["measured_accepted"] == QUICK_RATE_DELIVERIES, name
        saturated = result["saturate"]["sent"]
        assert 0 < saturated <= QUICK_SATURATION_BOUND, name
        assert result["saturate"]["statuses"] == {"202": saturated}, name
        assert result["accepted"] == QUICK_RATE_DELIVERIES + saturated, name
        assert result["server_exit"] == 0, name
        if name != "reference":
            assert result["stored"] == result["accepted"], name
            assert result["lost"] == 0, name
            assert result["ingested"] == result["stored"], name

    report = output.read_text()
    assert "| (a) SQLite |" in report
    assert "| (c) reference |" in report
    assert "## Machine" in report
    assert "no acknowledged delivery lost" in report


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_a_rerun_keeps_the_hand_written_analysis() -> None:
    previous = f"# old\n\n## Analysis\n\n{NOTES_BEGIN}\nwhere the time goes\n{NOTES_END}\n"
    assert kept_notes(previous) == f"{NOTES_BEGIN}\nwhere the time goes\n{NOTES_END}"
    assert kept_notes("") == f"{NOTES_BEGIN}\n{NOTES_END}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_whole_process_scenarios_run_and_find_every_effect_once(tmp_path: Path) -> None:
    """CI's size of e2e, storm and soak (issue 16): each runs, sees every outcome, and the
    run's status is what fails CI on an effect lost or done twice (never on timings)."""
    output, raw = tmp_path / "BENCHMARKS.md", tmp_path / "bench.json"
    status = run.main(
        [
            *("--quick", "--scenarios", "e2e,storm,soak", "--output", str(output)),
            *("--json", str(raw), "--workdir", str(tmp_path / "work")),
        ]
    )

    flow = json.loads(raw.read_text())["flow"]
    assert status == 0, flow
    assert flow["e2e"], "e2e ran no setup"
    for result in flow["e2e"]:
        assert result["error"] is None, result["label"]
        assert (result["duplicates"], result["missing"]) == (0, []), result["label"]
        assert result["never"] == {}, result["label"]
        assert set(result["seconds"]) == set(STAGES), result["label"]
    assert flow["storm"], "storm ran no setup"
    for result in flow["storm"]:
        assert result["error"] is None, result["label"]
        assert (result["duplicates"], result["missing"]) == ({}, []), result["label"]
        assert result["done_seconds"] is not None, result["label"]
        assert result["pagerduty_reads_per_incident"] > 0, result["label"]
    soak = flow["soak"]
    assert soak["error"] is None
    assert [s["day"] for s in soak["samples"]] == list(range(1, soak["days"] + 1))
    report = output.read_text()
    for section in ("### e2e", "### storm", "### soak", "### Issue 16 targets", "## Analysis"):
        assert section in report


def test_an_effect_done_twice_or_missing_is_what_fails_the_run() -> None:
    clean = StormResult("SQLite", "sqlite", 1, 10, 20.0)
    doubled = StormResult("PostgreSQL", "postgres", 1, 10, 20.0, duplicates={"k in C1: ab": 1})
    missing = E2eResult("SQLite", "sqlite", 0.0, 2, missing=["QCHAOS00001: no meeting"])
    assert FlowResults(storm=[clean]).lost_or_duplicated == []
    problems = FlowResults(e2e=[missing], storm=[clean, doubled]).lost_or_duplicated
    assert problems == [
        "SQLite: 1 missing: ['QCHAOS00001: no meeting']",
        "PostgreSQL: 1 effect(s) done twice",
    ]


def test_a_run_without_ingest_keeps_the_ingest_figures_and_replaces_its_own() -> None:
    previous = (
        "# Benchmarks\n\n## Webhook ingest\n\nsaturation 900/s\n\n## Machine\n\n- CPU: x\n\n"
        f"## Analysis\n\n{NOTES_BEGIN}\nby hand\n{NOTES_END}\n"
    )
    machine = {"date": "today"}
    first = compose(None, ["## The whole process (issue 16)", "", "storm 1", ""], machine, previous)
    second = compose(None, ["## The whole process (issue 16)", "", "storm 2", ""], machine, first)
    assert "saturation 900/s" in second
    assert "storm 2" in second
    assert "storm 1" not in second
    assert second.index("storm 2") < second.index("## Analysis")
    assert second.count("## Analysis") == 1
    assert second.endswith(f"{NOTES_BEGIN}\nby hand\n{NOTES_END}\n")
