"""Issue 13: optional invitees are optional attendees on the event, not required ones.

The PostHog policy invites all of engineering (seed 000: "invite engineering@posthog.com")
with `invite_optional`, and Tim as an observer; the PagerDuty policy's customer liaison
(seed 004: "Optional: Customer liaison (Only SEV-1 incidents)") likewise. Booked against
the Google Calendar fake, the event marks them `optional`, and their busy calendars do
not move the meeting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.engine.effects import EffectRequest
from hub.engine.performers.calendar import calendar_performers
from hub.intake.merge import merge
from hub.model.incident import Incident, Person, Severity, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.intent import IntentKind
from hub.model.postmortem import PostMortem
from hub.policy import PolicySet, evaluate, load_policies

POLICIES = Path(__file__).parents[2] / "config" / "policies"
UTC = ZoneInfo("UTC")
RESOLVED = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # Monday
NOW = datetime(2026, 11, 16, 10, 5, tzinfo=UTC)
LEAD = Person(email="lead@posthog.com", name="Lea Lead", incidentio_id="01LEAD")
REPORTER = Person(email="rita@posthog.com", name="Rita Reporter", incidentio_id="01RITA")


def posthog_major() -> Incident:
    update = IncidentUpdate.of(
        Source.INCIDENTIO,
        "01MAJOR",
        RESOLVED,
        {
            "title": "Ingestion lag",
            "reference": "INC-7",
            "severity": "SEV-2",
            "status": "resolved",
            "created_at": RESOLVED - timedelta(hours=2),
            "resolved_at": RESOLVED,
            "incident_commander": LEAD,
            "reporter": REPORTER,
        },
    )
    return merge(None, update).record.incident


@pytest.fixture
async def calendar() -> AsyncIterator[tuple[GoogleCalendarConnector, FakeGoogleCalendar]]:
    fake = FakeGoogleCalendar()
    for email in ("lead@posthog.com", "rita@posthog.com", "tim@posthog.com"):
        fake.add_person(email)
    # All of engineering is busy all week: optional, so it does not move the meeting.
    week = (RESOLVED, RESOLVED + timedelta(days=7))
    fake.add_person("engineering@posthog.com", week)
    runner, url = await start_fake(fake.make_app())
    config = GoogleCalendarConfig(
        calendar_id=fake.calendar_id, root_url=url, conference=False, min_notice_minutes=60
    )
    connector = GoogleCalendarConnector.from_config(config)
    yield connector, fake
    await connector.close()
    await runner.cleanup()


async def test_posthog_optional_invitees_are_optional_attendees(
    calendar: tuple[GoogleCalendarConnector, FakeGoogleCalendar],
) -> None:
    connector, fake = calendar
    policies: PolicySet = load_policies([POLICIES / "posthog-process.yaml"])
    subject = posthog_major()
    draft = PostMortem(incident_id=subject.id, created_at=NOW)
    plan = evaluate(subject, draft, policies, NOW)
    assert plan.meeting is not None
    assert plan.meeting.optional_invitees == ("engineering@posthog.com", "tim@posthog.com")
    intent = plan.intent_of(IntentKind.SCHEDULE_MEETING)
    assert intent is not None

    schedule = calendar_performers(connector, policies, lambda: NOW)[IntentKind.SCHEDULE_MEETING]
    outcome = await schedule(EffectRequest(intent, subject, draft, plan, unknown_outcome=False))

    [event] = fake.stored()
    optional = {a["email"]: a.get("optional", False) for a in event["attendees"]}
    assert optional == {
        "rita@posthog.com": False,  # the owner: the reporter (seed 001)
        "lead@posthog.com": False,
        "engineering@posthog.com": True,
        "tim@posthog.com": True,
    }
    # Everyone required is free: engineering's busy week did not count as a conflict.
    assert outcome.detail["all_free"] is True
    assert outcome.detail["optional_conflicts"] == ["engineering@posthog.com"]


def test_pagerduty_customer_liaison_is_optional_and_only_for_sev1() -> None:
    policies = load_policies([POLICIES / "pagerduty-process.yaml"])
    sev1 = posthog_major().model_copy(update={"severity": Severity.SEV1})
    plan = evaluate(sev1, None, policies, NOW)
    assert plan.meeting is not None
    assert "support-lead@example.com" in plan.meeting.invitees
    assert "support-lead@example.com" in plan.meeting.optional_invitees
    sev2 = evaluate(posthog_major(), None, policies, NOW)
    assert sev2.meeting is not None
    assert "support-lead@example.com" not in sev2.meeting.invitees
