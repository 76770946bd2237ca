"""`GET /api/v1/report` and `pmhub report`: the process per team and severity, as a table.

    team      severity  post-mortems  on-time meetings  median time to close  follow-ups on time
    checkout  SEV-1                2        1/2 (50%)               2d 05h        3/4 (75%)

Per team and severity, over the post-mortems of incidents resolved in [from, to):
how many; the share whose meeting ended by its deadline (of those with a meeting and a
deadline); the median time from resolution to Closed (of the closed ones); and the
share of follow-ups done by their due date (of those done, or already past due). The
API answers the same rows as JSON, or this very table (`format=text`), so the two can
never disagree.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.engine.process import Milestone, ProcessRecord, in_window
from hub.model.incident import Severity

SEVERITY_ORDER = {severity: n for n, severity in enumerate(Severity)}


@dataclass(frozen=True)
class Share:
    """`count` of `out_of` (a fraction that may not exist yet: `out_of` 0)."""

    count: int
    out_of: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.count / self.out_of) if self.out_of else None

    def text(self) -> str:
        return f"{self.count}/{self.out_of} ({self.percent}%)" if self.out_of else "—"

    def json(self) -> dict[str, Any]:
        return {"count": self.count, "out_of": self.out_of, "percent": self.percent}


@dataclass(frozen=True)
class ReportRow:
    team: str
    severity: Severity
    postmortems: int
    meetings_on_time: Share
    median_time_to_close: timedelta | None
    follow_ups_on_time: Share

    def json(self) -> dict[str, Any]:
        median = self.median_time_to_close
        return {
            "team": self.team,
            "severity": self.severity.value,
            "postmortems": self.postmortems,
            "meetings_on_time": self.meetings_on_time.json(),
            "median_time_to_close_seconds": median.total_seconds() if median else None,
            "follow_ups_done_on_time": self.follow_ups_on_time.json(),
        }


@dataclass(frozen=True)
class Report:
    start: datetime | None
    end: datetime | None
    team: str | None
    rows: tuple[ReportRow, ...]

    def json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "team": self.team,
            "rows": [row.json() for row in self.rows],
        }


def build_report(
    records: Sequence[ProcessRecord],
    start: datetime | None = None,
    end: datetime | None = None,
    team: str | None = None,
) -> Report:
    groups: dict[tuple[str, Severity], list[ProcessRecord]] = {}
    for record in in_window(records, start, end, team):
        groups.setdefault((record.team, record.severity), []).append(record)
    rows = tuple(
        _row(team_name, severity, members)
        for (team_name, severity), members in sorted(
            groups.items(), key=lambda item: (item[0][0], SEVERITY_ORDER[item[0][1]])
        )
    )
    return Report(start, end, team, rows)


def _row(team: str, severity: Severity, records: list[ProcessRecord]) -> ReportRow:
    judged = [r.meeting_on_time for r in records if r.meeting_on_time is not None]
    closes = [d for r in records if (d := r.since_resolution(Milestone.CLOSED)) is not None]
    settled = [
        verdict for r in records for f in r.follow_ups if (verdict := f.done_on_time) is not None
    ]
    return ReportRow(
        team=team,
        severity=severity,
        postmortems=len(records),
        meetings_on_time=Share(sum(judged), len(judged)),
        median_time_to_close=_median(closes),
        follow_ups_on_time=Share(sum(settled), len(settled)),
    )


def _median(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))


# -- the window, as people write it --------------------------------------------------


class BadQuery(ValueError):
    pass


def parse_moment(name: str, raw: str | None) -> datetime | None:
    """An ISO 8601 date (midnight UTC) or date-time (a zone is required); None when absent."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if len(text) == len("2026-06-01"):
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(
            f"{name}: not a date or time: {raw[:40]!r} (e.g. 2026-06-01 or 2026-06-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise BadQuery(f"{name}: a time needs its zone, e.g. 2026-06-01T00:00:00Z")
    return moment


def parse_window(
    start: str | None, end: str | None, names: tuple[str, str] = ("from", "to")
) -> tuple[datetime | None, datetime | None]:
    """[from, to) as written; `BadQuery` naming the parameter when it cannot be used."""
    window = parse_moment(names[0], start), parse_moment(names[1], end)
    if window[0] is not None and window[1] is not None and window[1] <= window[0]:
        raise BadQuery(f"{names[1]} must be later than {names[0]}")
    return window


# -- the table -------------------------------------------------------------------------

HEADERS = (
    "team",
    "severity",
    "post-mortems",
    "on-time meetings",
    "median time to close",
    "follow-ups done on time",
)


def format_table(report: Report) -> str:
    """The report as people read it: one line per team and severity, columns aligned."""
    window = f"{_day(report.start) or 'the beginning'} to {_day(report.end) or 'now'}"
    title = f"Post-mortems resolved from {window}" + (
        f", team {report.team}" if report.team else ""
    )
    if not report.rows:
        return f"{title}: none.\n"
    cells = [HEADERS] + [
        (
            row.team,
            row.severity.value,
            str(row.postmortems),
            row.meetings_on_time.text(),
            duration_text(row.median_time_to_close),
            row.follow_ups_on_time.text(),
        )
        for row in report.rows
    ]
    widths = [max(len(line[n]) for line in cells) for n in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    return "\n".join([title + ":", *lines]) + "\n"


def duration_text(duration: timedelta | None) -> str:
    """`2d 05h`, `7h 30m`, `45m`; `—` when there is none."""
    if duration is None:
        return "—"
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment else None
