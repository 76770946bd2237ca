"""The meeting job after an attempt whose outcome is unknown (issue 12, defect 3): it
looks for the event it may have booked before asking for free/busy, so a free/busy
outage cannot hide a meeting that is on the calendar. Through the real EffectRunner and
the Google Calendar connector against its fake, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.google_calendar import GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar, Fault
from hub.engine.effects import EffectRunner
from hub.engine.performers.calendar import calendar_performers
from hub.engine.reconcile import Reconciler
from hub.errors import Transient
from hub.jobs.kinds import EFFECT
from hub.jobs.queue import Job, JobQueue
from hub.store.effects import EffectState, get_effect
from hub.store.state import load_postmortem
from tests.engine.calendar_incident import (
    INCIDENT_ID,
    NOW,
    POLICIES,
    calendar_and_connector,
    store_resolved_incident,
)

FREE_BUSY = "/calendar/v3/freeBusy"
EVENTS = "/calendar/v3/calendars/{calendarId}/events"


@pytest.fixture
async def calendar() -> AsyncIterator[tuple[FakeGoogleCalendar, GoogleCalendarConnector]]:
    async with calendar_and_connector() as pair:
        yield pair


async def _meeting_job(engine: AsyncEngine) -> tuple[JobQueue, Job]:
    await store_resolved_incident(engine)
    queue = JobQueue(engine)
    await Reconciler(engine, queue, POLICIES, clock=lambda: NOW).reconcile(INCIDENT_ID)
    jobs = await queue.lease("test", limit=1000, lease_seconds=60, now=NOW)
    job = next(j for j in jobs if j.kind == EFFECT and str(j.payload["key"]).endswith(":meeting"))
    return queue, job


def _runner(
    engine: AsyncEngine, queue: JobQueue, connector: GoogleCalendarConnector
) -> EffectRunner:
    performers = calendar_performers(connector, POLICIES, lambda: NOW)
    reconciler = Reconciler(engine, queue, POLICIES, clock=lambda: NOW)
    return EffectRunner(
        engine, POLICIES, performers, clock=lambda: NOW, reconcile=reconciler.request
    )


async def test_a_booking_whose_answer_was_lost_is_found_though_free_busy_is_down(
    engine: AsyncEngine, calendar: tuple[FakeGoogleCalendar, GoogleCalendarConnector]
) -> None:
    fake, connector = calendar
    queue, job = await _meeting_job(engine)
    runner = _runner(engine, queue, connector)
    # Booked, and the answer never came, nor to the transport's own re-send.
    fake.faults.append(Fault("drop_after_commit", None, "POST", EVENTS))
    with pytest.raises(Transient):
        await runner(job)
    fake.faults.clear()
    [event] = fake.stored()
    fake.faults.append(Fault("status", None, "POST", FREE_BUSY, status=503))

    await runner(job)  # the retry: free/busy is down from now on

    effect = await get_effect(engine, str(job.payload["key"]))
    assert effect is not None
    assert (effect.state, effect.vendor_ref) == (EffectState.DONE, event["id"])
    assert effect.detail["booked_earlier"] is True
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.meeting is not None
    assert pm.meeting.event_ref == event["id"]
    assert fake.stored() == [event]  # nothing booked twice
    asked = [e.route for e in fake.exchanges if e.route in (FREE_BUSY, EVENTS)]
    assert asked[0] == FREE_BUSY
    assert set(asked[1:]) == {EVENTS}  # the retry never asked for free/busy


async def test_a_retry_that_finds_no_earlier_event_books_one(
    engine: AsyncEngine, calendar: tuple[FakeGoogleCalendar, GoogleCalendarConnector]
) -> None:
    fake, connector = calendar
    queue, job = await _meeting_job(engine)
    runner = _runner(engine, queue, connector)
    fake.faults.append(Fault("status", 1, "POST", FREE_BUSY, status=503))
    with pytest.raises(Transient):
        await runner(job)  # failed before booking anything
    assert fake.stored() == []

    await runner(job)

    [event] = fake.stored()
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.meeting is not None
    assert pm.meeting.event_ref == event["id"]
    assert pm.meeting.booking is not None
