"""Finding the slot, as the engine does it: policy slots x Google free/busy -> book.

The port's docstring gives the recipe; this runs it against the fake so the pieces
(pure `candidate_slots` and `choose_slot`, the connector's `free_busy` and
`create_event`) are known to fit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from connectors.google_calendar import GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.policy.calendar import WorkCalendar
from hub.policy.deadlines import candidate_slots
from hub.policy.slot_choice import choose_slot
from hub.ports import Calendar, EventRef
from tests.connectors.google_calendar.conftest import ENG, IC, NY, OWNER, PM, STRANGER, booking, ny

WORK = WorkCalendar(tz=NY)


async def schedule(
    calendar: Calendar, invitees: list[str], now: datetime, deadline: datetime
) -> tuple[EventRef, tuple[str, ...], tuple[str, ...]]:
    start = now + calendar.min_notice
    slots = candidate_slots(start, deadline, timedelta(minutes=30), WORK)
    free_busy = await calendar.free_busy(invitees, slots[0].start, slots[-1].end)
    choice = choose_slot(slots, free_busy.calendars, invitees)
    assert choice is not None
    ref = await calendar.create_event(
        booking(start=choice.slot.start, end=choice.slot.end, attendees=tuple(invitees))
    )
    return ref, choice.conflicts, choice.unknown


async def test_the_first_slot_everyone_is_free(connector: GoogleCalendarConnector) -> None:
    # Monday 08:00: two hours' notice -> 10:00; Ida is busy until 12:00, Alice 13-14,
    # the PM 15-17; so 12:00 is the first half hour all of them are free.
    ref, conflicts, unknown = await schedule(connector, [IC, OWNER, ENG, PM], ny(2, 8), ny(5, 10))
    assert (ref.start, ref.end) == (ny(2, 12), ny(2, 12, 30))
    assert conflicts == unknown == ()


async def test_an_unknown_calendar_is_reported_and_does_not_block(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref, conflicts, unknown = await schedule(connector, [IC, STRANGER], ny(2, 8), ny(5, 10))
    assert ref.start == ny(2, 12)
    assert conflicts == ()
    assert unknown == (STRANGER,)
    assert len(fake.stored()) == 1


async def test_nobody_free_before_the_deadline_books_the_least_bad(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    fake.add_person(ENG, (ny(2, 0), ny(9, 0)))  # away all week
    ref, conflicts, _ = await schedule(connector, [IC, ENG], ny(2, 8), ny(3, 10))
    assert ref.start == ny(2, 12)  # Ida is free then; only the engineer conflicts
    assert conflicts == (ENG,)
