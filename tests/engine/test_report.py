"""The process in numbers (issue 15): the report of a seeded history equals the hand-made table.

The history and its table, worked out by hand from the dates, are in
tests/support/history.py; the same store feeds the API and the CLI tests.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config import settings_from_text
from hub.engine.process import FollowUpStanding, ProcessRecord, process_records
from hub.engine.report import build_report, duration_text, format_table
from hub.policy import load_policies
from tests.support.history import EXPECTED_DUE, EXPECTED_TABLE, JUNE, NOW, seed, write_files


async def _records(engine: AsyncEngine, tmp_path: Path) -> list[ProcessRecord]:
    policy, teams = write_files(tmp_path)
    settings = settings_from_text(teams, path=tmp_path / "pmhub.yaml")
    policies = load_policies([policy], settings.teams)
    await seed(engine)
    return await process_records(engine, policies, NOW)


async def test_the_report_of_a_seeded_history_is_the_hand_computed_table(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    records = await _records(engine, tmp_path)
    report = build_report(records, *JUNE)
    assert format_table(report) == EXPECTED_TABLE
    [sev1, *_] = report.json()["rows"]
    assert sev1 == {
        "team": "checkout",
        "severity": "SEV-1",
        "postmortems": 2,
        "meetings_on_time": {"count": 1, "out_of": 2, "percent": 50},
        "median_time_to_close_seconds": 5 * 86400,
        "follow_ups_done_on_time": {"count": 1, "out_of": 3, "percent": 33},
    }


async def test_one_team_and_the_follow_ups_standing(engine: AsyncEngine, tmp_path: Path) -> None:
    records = await _records(engine, tmp_path)
    search = build_report(records, *JUNE, team="search")
    assert [(row.team, row.severity.value) for row in search.rows] == [("search", "SEV-2")]
    by_key = {(r.incident.source_id, f.item.id): f for r in records for f in r.follow_ups}
    assert {key: by_key[key].due for key in EXPECTED_DUE} == EXPECTED_DUE
    assert by_key[("PA", "2")].standing is FollowUpStanding.OVERDUE
    assert by_key[("PC", "1")].standing is FollowUpStanding.OPEN
    # Everything, without a window: May's SEV-1 of Search appears too.
    assert ("search", "SEV-1") in {(r.team, r.severity.value) for r in build_report(records).rows}


def test_durations_read_as_people_write_them() -> None:
    assert duration_text(timedelta(days=2, hours=5, minutes=59)) == "2d 05h"
    assert duration_text(timedelta(hours=7, minutes=30)) == "7h 30m"
    assert duration_text(timedelta(minutes=45)) == "45m"
    assert duration_text(None) == "—"
