"""Deadline arithmetic in the policy calendar, and the meeting slots a deadline allows.

What "N days after an anchor" means here (the anchor is an instant, e.g. the
incident's `resolved_at`; all day arithmetic is done on the policy's local
wall clock, so DST changes never shift a deadline by an hour):

* **N calendar days** - the same local wall-clock time N days later. A SEV-1
  resolved Friday 23:30 New York time is due Monday 23:30 New York time, even
  across a DST change (the elapsed time is then 71 or 73 hours). A wall time the
  target day skips (02:30 on spring-forward) moves an hour later.
* **N business days** - first the anchor is brought into working hours: inside
  them it stays as is; before the start of a working day it moves to that
  day's start; after the end, or on a weekend/holiday, it moves to the start of
  the next working day. The deadline is then that time of day, N working days
  later. So the deadline always falls on a working day inside working hours,
  and exactly N working days of working time lie between the (adjusted) anchor
  and the deadline: resolved Tuesday 23:30 with 5 business days means "from
  Wednesday 09:00, five full working days": due Wednesday next week, 09:00.
* **Elapsed** (`24h`, `30m`) - real elapsed time, computed in UTC.

Going backwards (`share_before_meeting: 1 business day`) mirrors this: an
instant outside working hours first moves back to the end of the previous
working hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hub.policy.calendar import WorkCalendar
from hub.policy.durations import BusinessDays, CalendarDays, Duration, Elapsed

DEFAULT_SLOT_STEP = timedelta(minutes=30)
MAX_SLOTS = 1000


def shift(calendar: WorkCalendar, anchor: datetime, duration: Duration) -> datetime:
    """`anchor` moved forward by `duration`, in the policy zone (aware result)."""
    match duration:
        case Elapsed(delta):
            return (anchor.astimezone(UTC) + delta).astimezone(calendar.tz)
        case CalendarDays(days):
            return add_calendar_days(calendar, anchor, days)
        case BusinessDays(days):
            return add_business_days(calendar, anchor, days)


def shift_back(calendar: WorkCalendar, moment: datetime, duration: Duration) -> datetime:
    """`moment` moved backward by `duration` (the mirror of `shift`)."""
    match duration:
        case Elapsed(delta):
            return (moment.astimezone(UTC) - delta).astimezone(calendar.tz)
        case CalendarDays(days):
            return add_calendar_days(calendar, moment, -days)
        case BusinessDays(days):
            return subtract_business_days(calendar, moment, days)


def add_calendar_days(calendar: WorkCalendar, anchor: datetime, days: int) -> datetime:
    local = calendar.local(anchor)
    if days == 0:
        return local
    return calendar.at(local.date() + timedelta(days=days), local.time())


def into_working_hours(calendar: WorkCalendar, moment: datetime) -> datetime:
    """`moment` if inside working hours, else the next start of working hours."""
    local = calendar.local(moment)
    day, clock = local.date(), local.time()
    if calendar.is_working_day(day):
        if calendar.start <= clock < calendar.end:
            return local
        if clock < calendar.start:
            return calendar.opens(day)
    return calendar.opens(calendar.next_working_day(day))


def add_business_days(calendar: WorkCalendar, anchor: datetime, days: int) -> datetime:
    if days < 0:
        return subtract_business_days(calendar, anchor, -days)
    start = into_working_hours(calendar, anchor)
    day = start.date()
    for _ in range(days):
        day = calendar.next_working_day(day)
    return calendar.at(day, start.time())


def back_into_working_hours(calendar: WorkCalendar, moment: datetime) -> datetime:
    """`moment` if inside working hours (end included), else the previous end of them."""
    local = calendar.local(moment)
    day, clock = local.date(), local.time()
    if calendar.is_working_day(day):
        if calendar.start < clock <= calendar.end:
            return local
        if clock > calendar.end:
            return calendar.closes(day)
    return calendar.closes(calendar.next_working_day(day, step=-1))


def subtract_business_days(calendar: WorkCalendar, moment: datetime, days: int) -> datetime:
    end = back_into_working_hours(calendar, moment)
    day = end.date()
    for _ in range(days):
        day = calendar.next_working_day(day, step=-1)
    return calendar.at(day, end.time())


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime


def candidate_slots(
    window_start: datetime,
    deadline: datetime,
    duration: timedelta,
    calendar: WorkCalendar,
    *,
    step: timedelta = DEFAULT_SLOT_STEP,
    limit: int = MAX_SLOTS,
) -> tuple[Slot, ...]:
    """Meeting slots, earliest first, that the policy allows in [window_start, deadline].

    A slot starts on a working day at the opening of working hours plus a whole
    number of `step`s (09:00, 09:30, ...), not before `window_start`, and ends
    by the close of working hours and by the deadline. The calendar connector
    intersects these with the invitees' free/busy and takes the first free one.
    """
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    slots: list[Slot] = []
    day = calendar.local(window_start).date()
    last_day = calendar.local(deadline).date()
    while day <= last_day and len(slots) < limit:
        if calendar.is_working_day(day):
            slots.extend(
                _day_slots(
                    calendar,
                    day,
                    window_start=window_start,
                    deadline=deadline,
                    duration=duration,
                    step=step,
                )
            )
        day += timedelta(days=1)
    return tuple(slots[:limit])


def _day_slots(
    calendar: WorkCalendar,
    day: date,
    *,
    window_start: datetime,
    deadline: datetime,
    duration: timedelta,
    step: timedelta,
) -> list[Slot]:
    opens = calendar.opens(day).astimezone(UTC)
    last_end = min(calendar.closes(day).astimezone(UTC), deadline.astimezone(UTC))
    earliest = window_start.astimezone(UTC)
    found: list[Slot] = []
    start = opens
    if earliest > opens:
        # Round up to the next step boundary counted from the opening time.
        steps = -(-(earliest - opens) // step)
        start = opens + steps * step
    while start + duration <= last_end:
        found.append(
            Slot(start.astimezone(calendar.tz), (start + duration).astimezone(calendar.tz))
        )
        start += step
    return found
