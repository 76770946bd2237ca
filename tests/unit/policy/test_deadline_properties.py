"""Property tests for deadlines: they hold for any anchor, zone and count, not just the table."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.policy.calendar import WorkCalendar, instant
from hub.policy.deadlines import add_business_days, add_calendar_days, candidate_slots, shift_back
from hub.policy.durations import BusinessDays

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney", "UTC"]
REGIONS = {"America/New_York": "US", "Europe/Berlin": "DE", "Australia/Sydney": "AU"}

anchors = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    zone = draw(st.sampled_from(ZONES))
    start = draw(st.integers(min_value=0, max_value=12))
    end = draw(st.integers(min_value=start + 1, max_value=23))
    days = draw(st.sets(st.integers(min_value=0, max_value=6), min_size=1))
    return WorkCalendar(
        tz=ZoneInfo(zone),
        working_days=frozenset(days),
        start=time(start),
        end=time(end),
        country=REGIONS.get(zone),
    )


@settings(deadline=None)
@given(calendar=calendars(), anchor=anchors, days=st.integers(min_value=0, max_value=15))
def test_business_deadline_is_a_working_day_inside_working_hours(
    calendar: WorkCalendar, anchor: datetime, days: int
) -> None:
    deadline = add_business_days(calendar, anchor, days)
    local = deadline.astimezone(calendar.tz)
    assert calendar.is_working_day(local.date())
    # A wall time inside hours can only leave them when DST skips it (working
    # hours that start at 02:00 on a spring-forward day); those move an hour on.
    clock = local.time()
    assert calendar.start <= clock <= calendar.end or _skipped(calendar, local)


def _skipped(calendar: WorkCalendar, local: datetime) -> bool:
    earlier = (instant(local) - timedelta(hours=1)).astimezone(calendar.tz)
    return earlier.utcoffset() != local.utcoffset()


@settings(deadline=None)
@given(calendar=calendars(), anchor=anchors, days=st.integers(min_value=0, max_value=15))
def test_deadline_is_never_before_its_anchor(
    calendar: WorkCalendar, anchor: datetime, days: int
) -> None:
    assert instant(add_business_days(calendar, anchor, days)) >= instant(anchor)
    assert instant(add_calendar_days(calendar, anchor, days)) >= instant(anchor)


@settings(deadline=None)
@given(calendar=calendars(), anchor=anchors, days=st.integers(min_value=1, max_value=10))
def test_more_business_days_never_come_sooner(
    calendar: WorkCalendar, anchor: datetime, days: int
) -> None:
    sooner = add_business_days(calendar, anchor, days - 1)
    later = add_business_days(calendar, anchor, days)
    assert instant(later) > instant(sooner)


@settings(deadline=None)
@given(calendar=calendars(), anchor=anchors, days=st.integers(min_value=0, max_value=10))
def test_going_back_never_goes_forward(calendar: WorkCalendar, anchor: datetime, days: int) -> None:
    assert instant(shift_back(calendar, anchor, BusinessDays(days))) <= instant(anchor)


@settings(deadline=None)
@given(
    calendar=calendars(),
    anchor=anchors,
    days=st.integers(min_value=1, max_value=5),
    minutes=st.sampled_from([15, 30, 45, 60]),
)
def test_slots_lie_inside_the_window_and_working_hours(
    calendar: WorkCalendar, anchor: datetime, days: int, minutes: int
) -> None:
    deadline = add_business_days(calendar, anchor, days)
    length = timedelta(minutes=minutes)
    for slot in candidate_slots(anchor, deadline, length, calendar, limit=50):
        assert instant(anchor) <= instant(slot.start)
        assert instant(slot.end) <= instant(deadline)
        assert instant(slot.end) - instant(slot.start) == length
        assert calendar.in_working_hours(slot.start)
        local_end = slot.end.astimezone(calendar.tz)
        assert local_end.date() == slot.start.astimezone(calendar.tz).date()
        assert local_end.time() <= calendar.end or _skipped(calendar, local_end)
