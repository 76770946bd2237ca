"""The meeting job after an attempt whose outcome is unknown (issue 12, defect 3): it
looks for the event it may have booked before asking for free/busy, so a free/busy
outage cannot hide a meeting that is on the calendar. Through the real EffectRunner and
the Google Calendar connector against its fake, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar, Fault
from hub.engine.effects import EffectRunner
from hub.engine.performers.calendar import calendar_performers
from hub.engine.reconcile import Reconciler
from hub.errors import Transient
from hub.intake.merge import merge
from hub.jobs.kinds import EFFECT
from hub.jobs.queue import Job, JobQueue
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.postmortem import PostMortem
from hub.policy import load_policies
from hub.store.effects import EffectState, get_effect
from hub.store.state import load_postmortem, save_incident, save_postmortem

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
POLICIES = load_policies([POLICY])
NY = ZoneInfo("America/New_York")
RESOLVED = datetime(2026, 11, 19, 14, 5, tzinfo=NY)
NOW = datetime(2026, 11, 19, 14, 10, tzinfo=NY)
ALICE = Person(email="alice@example.com", name="Alice Chen")
INCIDENT_ID = "pagerduty:P1042"
FREE_BUSY = "/calendar/v3/freeBusy"
EVENTS = "/calendar/v3/calendars/{calendarId}/events"
EVERYONE = (
    "alice@example.com",
    "bob@example.com",
    "sre@example.com",
    "eng-managers@example.com",
    "product@example.com",
    "support-lead@example.com",
    "eng-learning@example.com",
)


@pytest.fixture
async def calendar() -> AsyncIterator[tuple[FakeGoogleCalendar, GoogleCalendarConnector]]:
    fake = FakeGoogleCalendar()
    for email in EVERYONE:
        fake.add_person(email)
    runner, url = await start_fake(fake.make_app())
    config = GoogleCalendarConfig(
        calendar_id=fake.calendar_id,
        root_url=url,
        conference=False,
        min_notice_minutes=60,
        timeout_seconds=5,
    )
    connector = GoogleCalendarConnector.from_config(config)
    yield fake, connector
    await connector.close()
    await runner.cleanup()


async def _meeting_job(engine: AsyncEngine) -> tuple[JobQueue, Job]:
    fields: dict[str, Any] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    update = IncidentUpdate.of(Source.PAGERDUTY, "P1042", RESOLVED, fields)
    await save_incident(engine, merge(None, update).record)
    await save_postmortem(engine, PostMortem(incident_id=INCIDENT_ID, created_at=NOW))
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
