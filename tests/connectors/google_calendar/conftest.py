"""A seeded Google Calendar fake on loopback, and connectors pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.ports import EventRequest, MeetingDetails
from tests.support.discovery import DiscoveryContract

NY = ZoneInfo("America/New_York")
IC, OWNER, ENG, PM = (
    "ida@example.com",
    "alice@example.com",
    "eng@example.com",
    "pm@example.com",
)
STRANGER = "nobody@elsewhere.example"  # a calendar Google does not know
KEY = "pm:pagerduty:PGR0VU2:meeting"


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of Monday 2026-03-02, New York."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY)


def seed(fake: FakeGoogleCalendar) -> None:
    fake.add_person(IC, (ny(2, 9), ny(2, 12)), (ny(3, 9), ny(3, 10)))
    fake.add_person(OWNER, (ny(2, 13), ny(2, 14)))
    fake.add_person(ENG)
    fake.add_person(PM, (ny(2, 15), ny(2, 17)))


DETAILS = MeetingDetails(
    incident_title="Database failover stalled",
    incident_reference="PD-1042",
    severity="SEV-1",
    incident_url="https://example.pagerduty.com/incidents/PGR0VU2",
    postmortem_url="https://docs.example.com/postmortems/pd-1042",
    pagerduty_url="https://example.pagerduty.com/incidents/PGR0VU2",
    owner="Alice",
    incident_commander="Ida Commander",
)


def booking(key: str = KEY, **overrides: object) -> EventRequest:
    fields: dict[str, object] = {
        "key": key,
        "summary": "Post-mortem: PD-1042 Database failover stalled",
        "start": ny(3, 10),
        "end": ny(3, 10, 30),
        "attendees": (IC, OWNER, ENG),
        "details": DETAILS,
        "time_zone": "America/New_York",
        **overrides,
    }
    return EventRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> FakeGoogleCalendar:
    fake = FakeGoogleCalendar()
    seed(fake)
    return fake


@pytest.fixture
async def base_url(fake: FakeGoogleCalendar) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app())
    yield url
    await runner.cleanup()


ConnectorFactory = Callable[..., GoogleCalendarConnector]


@pytest.fixture
async def make_connector(
    base_url: str, fake: FakeGoogleCalendar
) -> AsyncIterator[ConnectorFactory]:
    made: list[GoogleCalendarConnector] = []

    def make(**overrides: object) -> GoogleCalendarConnector:
        settings: dict[str, object] = {
            "calendar_id": fake.calendar_id,
            "root_url": base_url,
            "timeout_seconds": 2,
            **overrides,
        }
        config = GoogleCalendarConfig.model_validate(settings)
        connector = GoogleCalendarConnector.from_config(config)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.close()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> GoogleCalendarConnector:
    return make_connector()


@pytest.fixture(scope="session")
def contract() -> DiscoveryContract:
    return DiscoveryContract.load()
