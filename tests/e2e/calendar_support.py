"""The whole daemon with the PagerDuty fake (TLS) and the Google Calendar fake, for meeting tests.

Kept out of a conftest.py so these fixtures are opt-in: a test module imports the
fixtures it uses (and lists them in `__all__`, as with `loopback_tls`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.common.fakeserver import start_fake
from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.pagerduty.fake import FakePagerDuty
from tests.support.daemon import Daemon, write_config
from tests.support.daemon import settle as settle_daemon
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls

NY = ZoneInfo("America/New_York")
POLICIES = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
INCIDENT, ESCALATION = "PGR0VU2", "PUS0KTE"
POSTMORTEM = f"pm:pagerduty:{INCIDENT}"
MEETING_KEY = f"pm:pagerduty:{INCIDENT}:meeting"
INSERT_ROUTE = "/calendar/v3/calendars/{calendarId}/events"
FREEBUSY_ROUTE = "/calendar/v3/freeBusy"

# PagerDuty users. Alice acknowledges (so she is the commander, hence the owner),
# Bob joins as a responder, Carol triggered the incident (no meeting role).
ALICE, BOB, CAROL = "PTUXL6G", "PVMGSML", "PCAR0L1"
ALICE_EMAIL, BOB_EMAIL = "alice@example.com", "bob@example.com"
# From the shipped policy's directory (the fake's service "API Service" has no entry).
SRE, ENG_MANAGERS, PRODUCT = "sre@example.com", "eng-managers@example.com", "product@example.com"
LIAISON, OBSERVER = "support-lead@example.com", "eng-learning@example.com"
EVERYONE = (ALICE_EMAIL, BOB_EMAIL, SRE, ENG_MANAGERS, PRODUCT, LIAISON, OBSERVER)


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


@dataclass
class Fakes:
    pagerduty: FakePagerDuty
    pagerduty_url: str
    calendar: FakeGoogleCalendar
    calendar_url: str


@pytest.fixture
async def fakes(loopback_tls: LoopbackTls) -> AsyncIterator[Fakes]:
    pagerduty = FakePagerDuty(token="pd-api-token-e2e")
    pagerduty.add_user(ALICE, "Alice Chen", ALICE_EMAIL)
    pagerduty.add_user(BOB, "Bob Okafor", BOB_EMAIL)
    pagerduty.add_user(CAROL, "Carol Diaz", "carol@example.com")
    # The `from_email` pmhub writes notes as must be a PagerDuty user, as on the real API.
    pagerduty.add_user("PPMHUB1", "pmhub", "pmhub@example.com")
    pagerduty.add_oncall(ESCALATION, ALICE, level=1, schedule=("PI7DH84", "Primary"))
    calendar = FakeGoogleCalendar()
    for email in EVERYONE:
        calendar.add_person(email)  # known calendars, free unless a test says otherwise
    pd_runner, pd_url = await start_fake(
        pagerduty.make_app(), ssl_context=loopback_tls.server_context
    )
    cal_runner, cal_url = await start_fake(calendar.make_app())
    try:
        yield Fakes(pagerduty, pd_url, calendar, cal_url)
    finally:
        await cal_runner.cleanup()
        await pd_runner.cleanup()


def calendar_config(
    tmp_path: Path, db_url: str, fakes: Fakes, tls: LoopbackTls, *, min_notice: int = 60
) -> Path:
    config = write_config(tmp_path, db_url)
    pagerduty_api = (
        f"    api_token: pd-api-token-e2e\n"
        f"    base_url: {fakes.pagerduty_url}\n"
        f"    ca_bundle: {tls.ca_pem}\n"
        f"    from_email: pmhub@example.com\n"
    )
    # A hang costs one socket timeout per attempt: allow a few attempts.
    text = config.read_text().replace("admin:", f"{pagerduty_api}admin:")
    text = text.replace("max_attempts: 3", "max_attempts: 5")
    text += (
        "connectors:\n"
        "  google_calendar:\n"
        f"    calendar_id: {fakes.calendar.calendar_id}\n"
        f"    root_url: {fakes.calendar_url}/\n"
        "    conference: false\n"
        f"    min_notice_minutes: {min_notice}\n"
        f"policies: [{POLICIES}]\n"
    )
    config.write_text(text)
    return config


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def resolve_incident(
    daemon: Daemon, fakes: Fakes, *, priority: str, created: datetime, resolved: datetime
) -> None:
    """The incident as PagerDuty has it once resolved, and the signed webhook saying so."""
    pd = fakes.pagerduty
    acked = z(created + timedelta(minutes=4))
    pd.add_incident(
        INCIDENT,
        number=1042,
        title="Checkout API 5xx",
        status="resolved",
        created_at=z(created),
        updated_at=z(resolved),
        resolved_at=z(resolved),
        priority=priority,
        assignees=[(ALICE, z(created))],
        acknowledgers=[(ALICE, acked)],
    )
    pd.incidents[INCIDENT]["incidents_responders"] = [
        {
            "state": "joined",
            "user": {"id": BOB, "type": "user_reference", "summary": "Bob Okafor"},
            "updated_at": acked,
        }
    ]
    pd.add_log_entry(INCIDENT, "trigger_log_entry", created_at=z(created), agent=("user", CAROL))
    pd.add_log_entry(INCIDENT, "acknowledge_log_entry", created_at=acked, agent=("user", ALICE))
    pd.add_log_entry(INCIDENT, "resolve_log_entry", created_at=z(resolved), agent=("user", ALICE))
    body, headers = pagerduty_delivery(
        "incident.resolved",
        incident_id=INCIDENT,
        extra_data={
            "status": "resolved",
            "priority": {"summary": priority, "id": f"PRI{priority}"},
        },
        occurred_at=z(resolved),
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202


async def settle(
    daemon: Daemon,
    until: Callable[[], Awaitable[bool]] | None = None,
    *,
    seconds: float = 60,
) -> None:
    """Run the daemon until it is quiet (the worker's burst mode, by the daemon's own
    shifted clock, retries after faults included), then `until` must hold."""
    await settle_daemon(daemon, max_seconds=seconds)
    if until is not None:
        for _ in range(2):  # the leasing loop may hold the last retry as the burst returns
            if await until():
                return
            await settle_daemon(daemon, max_seconds=seconds)
        assert await until(), "the daemon went quiet without reaching the expected outcome"


async def postmortem(daemon: Daemon) -> dict[str, Any] | None:
    response = await daemon.client.get(
        f"/api/v1/postmortems/{POSTMORTEM}", headers=daemon.admin_headers()
    )
    if response.status == 404:
        return None
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def meeting_booked(daemon: Daemon) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        body = await postmortem(daemon)
        return body is not None and body["meeting"] is not None

    return check


def attendees(event: dict[str, Any]) -> dict[str, bool]:
    """Attendee email -> optional?"""
    return {a["email"]: bool(a.get("optional")) for a in event["attendees"]}


def event_times(event: dict[str, Any]) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(event["start"]["dateTime"])
    end = datetime.fromisoformat(event["end"]["dateTime"])
    return start, end
