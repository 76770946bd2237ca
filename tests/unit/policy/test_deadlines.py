"""Decision 3 (deadlines): calendar and business days in the policy calendar.

Definitions under test (hub/policy/deadlines.py):
* N calendar days: same local wall-clock time N days later.
* N business days: anchor moved into working hours (next opening if outside),
  then the same time of day N working days later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hub.policy.calendar import instant
from hub.policy.deadlines import (
    add_business_days,
    add_calendar_days,
    candidate_slots,
    shift,
    shift_back,
)
from hub.policy.durations import BusinessDays, CalendarDays, Elapsed

from .factories import BERLIN, NY, UTC, berlin_calendar, ny, us_calendar

CAL = us_calendar()


@pytest.mark.parametrize(
    ("anchor", "days", "expected"),
    [
        # Tuesday 10:00, inside hours: same time 5 working days later.
        (ny(2026, 3, 10, 10, 0), 5, ny(2026, 3, 17, 10, 0)),
        # Friday 16:59 keeps its minute: the next Friday.
        (ny(2026, 3, 13, 16, 59), 5, ny(2026, 3, 20, 16, 59)),
        # Friday 17:00 is after hours: from Monday 09:00.
        (ny(2026, 3, 13, 17, 0), 1, ny(2026, 3, 17, 9, 0)),
        # Saturday counts from Monday 09:00.
        (ny(2026, 3, 14, 12, 0), 1, ny(2026, 3, 17, 9, 0)),
        # Before opening on a working day: that day's 09:00.
        (ny(2026, 3, 10, 7, 30), 1, ny(2026, 3, 11, 9, 0)),
        # Resolution at 23:30 local on Tuesday: from Wednesday 09:00.
        (ny(2026, 3, 10, 23, 30), 5, ny(2026, 3, 18, 9, 0)),
        # Thanksgiving (Thu 2026-11-26) is skipped; Friday is a working day.
        (ny(2026, 11, 24, 11, 0), 2, ny(2026, 11, 27, 11, 0)),
        (ny(2026, 11, 25, 11, 0), 5, ny(2026, 12, 3, 11, 0)),
        # Resolved on Thanksgiving itself: counting starts Friday 09:00.
        (ny(2026, 11, 26, 11, 0), 1, ny(2026, 11, 30, 9, 0)),
        # Company extra holiday 2026-12-24 and Christmas 2026-12-25.
        (ny(2026, 12, 23, 10, 0), 1, ny(2026, 12, 28, 10, 0)),
        # Independence Day observed on Friday 2026-07-03.
        (ny(2026, 7, 2, 10, 0), 1, ny(2026, 7, 6, 10, 0)),
        # Across the spring-forward weekend (Mar 8): 10:00 local either side.
        (ny(2026, 3, 6, 10, 0), 1, ny(2026, 3, 9, 10, 0)),
        # Across the fall-back weekend (Nov 1).
        (ny(2026, 10, 30, 15, 0), 1, ny(2026, 11, 2, 15, 0)),
        # Zero days: the anchor, brought into working hours.
        (ny(2026, 3, 14, 12, 0), 0, ny(2026, 3, 16, 9, 0)),
    ],
)
def test_business_days_new_york(anchor: datetime, days: int, expected: datetime) -> None:
    assert add_business_days(CAL, anchor, days) == expected


def test_not_holidays_make_a_public_holiday_a_working_day() -> None:
    working = us_calendar(not_holidays=frozenset({date(2026, 11, 26)}))
    assert add_business_days(working, ny(2026, 11, 25, 11, 0), 1) == ny(2026, 11, 26, 11, 0)
    assert add_business_days(CAL, ny(2026, 11, 25, 11, 0), 1) == ny(2026, 11, 27, 11, 0)


def test_not_holidays_never_make_a_weekend_a_working_day() -> None:
    working = us_calendar(not_holidays=frozenset({date(2026, 3, 14)}))
    assert add_business_days(working, ny(2026, 3, 13, 10, 0), 1) == ny(2026, 3, 16, 10, 0)


@pytest.mark.parametrize(
    ("anchor", "days", "expected", "elapsed_hours"),
    [
        # Thursday 23:30 EST + 3 days = Sunday 23:30 EDT: 71 real hours (spring forward).
        (ny(2026, 3, 5, 23, 30), 3, ny(2026, 3, 8, 23, 30), 71),
        # Friday 01:30 EDT + 3 days = Monday 01:30 EST: 73 real hours (fall back).
        (ny(2026, 10, 30, 1, 30), 3, ny(2026, 11, 2, 1, 30), 73),
        # Plain week in the middle of nowhere.
        (ny(2026, 6, 1, 12, 0), 3, ny(2026, 6, 4, 12, 0), 72),
        # Resolution at 23:30 local: the local date counts, not the UTC one.
        (ny(2026, 6, 1, 23, 30), 1, ny(2026, 6, 2, 23, 30), 24),
    ],
)
def test_calendar_days_keep_the_local_wall_clock(
    anchor: datetime, days: int, expected: datetime, elapsed_hours: int
) -> None:
    deadline = add_calendar_days(CAL, anchor, days)
    assert deadline == expected
    assert deadline.tzinfo is NY
    assert instant(deadline) - instant(anchor) == timedelta(hours=elapsed_hours)


def test_calendar_days_into_the_skipped_hour_move_an_hour_later() -> None:
    # 02:30 does not exist on 2026-03-08 in New York.
    deadline = add_calendar_days(CAL, ny(2026, 3, 5, 2, 30), 3)
    assert deadline.replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_calendar_days_on_the_repeated_hour_take_the_first() -> None:
    deadline = add_calendar_days(CAL, ny(2026, 10, 29, 1, 30), 3)
    assert deadline.utcoffset() == timedelta(hours=-4)  # 01:30 EDT, the first 01:30


@pytest.mark.parametrize(
    ("anchor", "duration", "expected"),
    [
        # Berlin springs forward on Sunday 2026-03-29, falls back on 2026-10-25.
        (
            datetime(2026, 3, 27, 11, 0, tzinfo=BERLIN),
            BusinessDays(1),
            datetime(2026, 3, 30, 11, 0, tzinfo=BERLIN),
        ),
        (
            datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN),
            CalendarDays(1),
            datetime(2026, 3, 29, 23, 30, tzinfo=BERLIN),
        ),
        (
            datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN),
            BusinessDays(1),
            datetime(2026, 10, 26, 16, 0, tzinfo=BERLIN),
        ),
        (
            datetime(2026, 10, 24, 23, 30, tzinfo=BERLIN),
            CalendarDays(1),
            datetime(2026, 10, 25, 23, 30, tzinfo=BERLIN),
        ),
        # Good Friday and Easter Monday 2026 are holidays in Berlin.
        (
            datetime(2026, 4, 2, 10, 0, tzinfo=BERLIN),
            BusinessDays(1),
            datetime(2026, 4, 7, 10, 0, tzinfo=BERLIN),
        ),
        # International Women's Day is a Berlin holiday; 2026-03-08 is a Sunday anyway,
        # so Monday is a working day.
        (
            datetime(2026, 3, 6, 10, 0, tzinfo=BERLIN),
            BusinessDays(1),
            datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN),
        ),
    ],
)
def test_berlin(
    anchor: datetime, duration: BusinessDays | CalendarDays, expected: datetime
) -> None:
    deadline = shift(berlin_calendar(), anchor, duration)
    assert deadline == expected
    assert deadline.utcoffset() == expected.utcoffset()


def test_elapsed_time_is_real_time_across_dst() -> None:
    anchor = ny(2026, 3, 7, 12, 0)
    deadline = shift(CAL, anchor, Elapsed(timedelta(hours=24)))
    assert instant(deadline) - instant(anchor) == timedelta(hours=24)
    assert deadline.replace(tzinfo=None) == datetime(2026, 3, 8, 13, 0)  # wall clock moved


def test_utc_anchor_is_read_in_the_policy_zone() -> None:
    # 2026-03-11 03:30 UTC is Tuesday 23:30 in New York: after hours.
    anchor = datetime(2026, 3, 11, 3, 30, tzinfo=UTC)
    assert add_business_days(CAL, anchor, 1) == ny(2026, 3, 12, 9, 0)


@pytest.mark.parametrize(
    ("moment", "duration", "expected"),
    [
        (
            ny(2026, 3, 10, 14, 0),
            Elapsed(timedelta(hours=24)),
            ny(2026, 3, 9, 14, 0),
        ),
        # One business day before Monday 10:00 is Friday 10:00.
        (ny(2026, 3, 16, 10, 0), BusinessDays(1), ny(2026, 3, 13, 10, 0)),
        # Before Monday's opening: from Friday's close.
        (ny(2026, 3, 16, 8, 0), BusinessDays(1), ny(2026, 3, 12, 17, 0)),
        (ny(2026, 3, 16, 10, 0), CalendarDays(2), ny(2026, 3, 14, 10, 0)),
    ],
)
def test_shift_back(moment: datetime, duration: BusinessDays, expected: datetime) -> None:
    assert shift_back(CAL, moment, duration) == expected


def test_candidate_slots_stay_in_working_hours_and_end_by_the_deadline() -> None:
    slots = candidate_slots(
        ny(2026, 3, 13, 15, 10), ny(2026, 3, 16, 10, 0), timedelta(minutes=30), CAL
    )
    starts = [slot.start for slot in slots]
    assert starts == [
        ny(2026, 3, 13, 15, 30),
        ny(2026, 3, 13, 16, 0),
        ny(2026, 3, 13, 16, 30),
        ny(2026, 3, 16, 9, 0),
        ny(2026, 3, 16, 9, 30),
    ]
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)


def test_candidate_slots_skip_holidays_and_can_be_empty() -> None:
    # Thanksgiving Thursday only.
    assert (
        candidate_slots(ny(2026, 11, 26, 0, 0), ny(2026, 11, 26, 23, 0), timedelta(minutes=30), CAL)
        == ()
    )


def test_candidate_slots_limit() -> None:
    slots = candidate_slots(
        ny(2026, 3, 9, 9, 0), ny(2026, 3, 20, 17, 0), timedelta(minutes=30), CAL, limit=3
    )
    assert len(slots) == 3


def test_candidate_slots_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        candidate_slots(ny(2026, 3, 9, 9, 0), ny(2026, 3, 9, 17, 0), timedelta(0), CAL)
