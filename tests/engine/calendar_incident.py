"""One resolved SEV-1 and the Google Calendar fake that books its meeting: what the
engine tests of the meeting effect share (tests/engine/test_locks.py,
test_meeting_retry.py), through the real connector against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.intake.merge import merge
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.postmortem import PostMortem
from hub.policy import load_policies
from hub.store.state import save_incident, save_postmortem

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
POLICIES = load_policies([POLICY])
NY = ZoneInfo("America/New_York")
RESOLVED = datetime(2026, 11, 19, 14, 5, tzinfo=NY)
NOW = datetime(2026, 11, 19, 14, 10, tzinfo=NY)
ALICE = Person(email="alice@example.com", name="Alice Chen")
INCIDENT_ID = "pagerduty:P1042"
# Everyone the shipped PagerDuty policy invites, known to the calendar fake.
EVERYONE = (
    "alice@example.com",
    "bob@example.com",
    "sre@example.com",
    "eng-managers@example.com",
    "product@example.com",
    "support-lead@example.com",
    "eng-learning@example.com",
)


@asynccontextmanager
async def calendar_and_connector() -> AsyncIterator[
    tuple[FakeGoogleCalendar, GoogleCalendarConnector]
]:
    """The fake, serving on loopback, and the real connector pointed at it."""
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
    try:
        yield fake, connector
    finally:
        await connector.close()
        await runner.cleanup()


async def store_resolved_incident(engine: AsyncEngine) -> None:
    """P1042, a SEV-1 resolved five minutes before NOW, and its empty post-mortem."""
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
