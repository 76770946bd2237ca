"""The policy's working calendar: time zone, working days and hours, holidays.

Holidays come from the `holidays` package (pure computation, no I/O) for the
configured country/subdivision, including its *observed* days (e.g. US
Independence Day observed on Friday 2026-07-03), because that is the day
people are off. `extra_holidays` adds company days off; `not_holidays` removes
public holidays the company works on. Neither turns a weekend into a working
day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A calendar with working days but no working day within two years is
# misconfigured; walking further would only hide that.
MAX_DAYS_SEARCHED = 2 * 366


class CalendarError(ValueError):
    pass


def instant(moment: datetime) -> datetime:
    """`moment` in UTC, for comparing and subtracting.

    Python compares and subtracts two datetimes that share a tzinfo by their
    wall clocks, ignoring `fold`: 01:30 EDT and 01:10 EST on a fall-back night
    would compare the wrong way round. UTC has no such hours.
    """
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo
    working_days: frozenset[int] = frozenset(range(5))  # Monday is 0, as in date.weekday()
    start: time = time(9)
    end: time = time(17)
    country: str | None = None
    subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    not_holidays: frozenset[date] = frozenset()
    # Holidays per year, computed on first use. Not part of the value.
    _years: dict[int, frozenset[date]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.working_days:
            raise CalendarError("a calendar needs at least one working day")
        if self.end <= self.start:
            raise CalendarError("working hours must end after they start, on the same day")

    # -- days ---------------------------------------------------------------

    def public_holidays(self, year: int) -> frozenset[date]:
        if self.country is None:
            return frozenset()
        if year not in self._years:
            found = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
            self._years[year] = frozenset(found.keys())
        return self._years[year]

    def is_holiday(self, day: date) -> bool:
        if day in self.not_holidays:
            return False
        return day in self.extra_holidays or day in self.public_holidays(day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and not self.is_holiday(day)

    def next_working_day(self, day: date, step: int = 1) -> date:
        """The first working day strictly after `day` (before it when `step` is -1)."""
        for offset in range(1, MAX_DAYS_SEARCHED):
            candidate = day + timedelta(days=offset * step)
            if self.is_working_day(candidate):
                return candidate
        raise CalendarError(f"no working day within {MAX_DAYS_SEARCHED} days of {day}")

    # -- instants -----------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise CalendarError(f"a naive datetime has no meaning here: {moment.isoformat()}")
        return moment.astimezone(self.tz)

    def at(self, day: date, clock: time) -> datetime:
        """`day` at wall-clock `clock` in the policy zone, as a real instant.

        A wall time skipped by a DST change (02:30 on a spring-forward night)
        becomes the instant an hour later; an ambiguous one (autumn) the first.
        """
        naive = datetime.combine(day, clock.replace(tzinfo=None))
        aware = naive.replace(tzinfo=self.tz, fold=0)
        return aware.astimezone(UTC).astimezone(self.tz)

    def opens(self, day: date) -> datetime:
        return self.at(day, self.start)

    def closes(self, day: date) -> datetime:
        return self.at(day, self.end)

    def in_working_hours(self, moment: datetime, *, include_end: bool = False) -> bool:
        """On a working day and between the start and end of working hours (local)."""
        local = self.local(moment)
        if not self.is_working_day(local.date()):
            return False
        clock = local.time().replace(tzinfo=None)
        return self.start <= clock < self.end or (include_end and clock == self.end)
