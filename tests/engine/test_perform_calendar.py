"""The meeting performers against the Google Calendar connector and its fake (no doubles).

What the whole-daemon test cannot easily stage: nobody free before the deadline, no
slot left at all, and a human who moved or cancelled the meeting pmhub booked.
Requests are built the way the effect runner builds them: from a real plan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers.calendar import calendar_performers
from hub.intake.merge import merge
from hub.model.incident import Incident, Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.intent import IntentKind
from hub.model.postmortem import PostMortem
from hub.policy import PolicySet, evaluate, load_policies

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
NY = ZoneInfo("America/New_York")
RESOLVED = datetime(2026, 11, 19, 14, 5, tzinfo=NY)  # Thursday; due Sunday 14:05
NOW = datetime(2026, 11, 19, 14, 10, tzinfo=NY)
ALICE = Person(email="alice@example.com", name="Alice Chen", pagerduty_id="PALICE1")
BOB = Person(email="bob@example.com", name="Bob Okafor", pagerduty_id="PBOB001")
KNOWN = (
    "alice@example.com",
    "bob@example.com",
    "sre@example.com",
    "eng-managers@example.com",
    "support-lead@example.com",
    "eng-learning@example.com",
)  # product@example.com is a calendar Google does not know


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NY)


def incident(*responders: Person) -> Incident:
    update = IncidentUpdate.of(
        Source.PAGERDUTY,
        "P1042",
        RESOLVED,
        {
            "title": "Checkout API 5xx",
            "reference": "PD-1042",
            "severity": "SEV-1",
            "status": "resolved",
            "created_at": RESOLVED - timedelta(hours=5),
            "resolved_at": RESOLVED,
            "incident_commander": ALICE,
            "links.vendor_url": "https://example.pagerduty.com/incidents/P1042",
        },
        {"responders": [(person, RESOLVED) for person in responders]},
    )
    return merge(None, update).record.incident


@pytest.fixture
def policies() -> PolicySet:
    return load_policies([POLICY])


@pytest.fixture
def fake() -> FakeGoogleCalendar:
    fake = FakeGoogleCalendar()
    for email in KNOWN:
        fake.add_person(email)
    return fake


@pytest.fixture
async def calendar(fake: FakeGoogleCalendar) -> AsyncIterator[GoogleCalendarConnector]:
    runner, url = await start_fake(fake.make_app())
    config = GoogleCalendarConfig(
        calendar_id=fake.calendar_id,
        root_url=url,
        conference=False,
        min_notice_minutes=60,
        timeout_seconds=2,
    )
    connector = GoogleCalendarConnector.from_config(config)
    yield connector
    await connector.close()
    await runner.cleanup()


def request(
    policies: PolicySet, subject: Incident, postmortem: PostMortem, kind: IntentKind
) -> EffectRequest:
    plan = evaluate(subject, postmortem, policies, NOW)
    intent = plan.intent_of(kind)
    assert intent is not None, plan.notes
    return EffectRequest(intent, subject, postmortem, plan, unknown_outcome=False)


def performer(
    calendar: GoogleCalendarConnector, policies: PolicySet, kind: IntentKind, now: datetime = NOW
) -> Performer:
    return calendar_performers(calendar, policies, lambda: now)[kind]


def applied(outcome: EffectOutcome, postmortem: PostMortem) -> PostMortem:
    assert outcome.update is not None
    return outcome.update(postmortem)


async def booked(
    calendar: GoogleCalendarConnector, policies: PolicySet, subject: Incident
) -> tuple[PostMortem, EffectOutcome]:
    draft = PostMortem(incident_id=subject.id, created_at=NOW)
    schedule = performer(calendar, policies, IntentKind.SCHEDULE_MEETING)
    outcome = await schedule(request(policies, subject, draft, IntentKind.SCHEDULE_MEETING))
    return applied(outcome, draft), outcome


async def test_nobody_free_books_the_least_bad_slot_and_tells_the_owner(
    calendar: GoogleCalendarConnector, fake: FakeGoogleCalendar, policies: PolicySet
) -> None:
    fake.add_person("alice@example.com", (ny(19, 0), ny(23, 0)))  # away until after the deadline
    postmortem, outcome = await booked(calendar, policies, incident())

    # The review time (Saturday 14:05) is past the last working slot before Sunday's
    # deadline, so the latest slots come first; only Alice conflicts anywhere, so the
    # latest slot of all wins: Friday 16:30.
    meeting = postmortem.meeting
    assert meeting is not None
    assert meeting.start == ny(20, 16, 30)
    assert outcome.detail["all_free"] is False
    assert outcome.detail["conflicts"] == ["alice@example.com"]
    assert outcome.detail["unknown"] == {"product@example.com": ["notFound"]}
    assert outcome.detail["early"]["not_before"] == ny(21, 14, 5).isoformat()
    assert "leaves no working time" in outcome.detail["early"]["reason"]
    [event] = fake.stored()
    assert outcome.vendor_ref == event["id"]
    # What the owner must hear is recorded with the meeting, and the plan tells her.
    assert meeting.booking is not None
    assert meeting.booking.conflicts == ("alice@example.com",)
    assert meeting.booking.unknown == ("product@example.com",)
    assert meeting.booking.not_before == ny(21, 14, 5)
    plan = evaluate(incident(), postmortem, policies, NOW)
    report = plan.intent_of(IntentKind.REPORT_MEETING_BOOKING)
    assert report is not None
    assert report.key == f"pm:pagerduty:P1042:meeting:booked:{event['id']}:email:alice@example.com"


async def test_no_time_left_before_the_deadline_is_recorded_not_a_dead_job(
    calendar: GoogleCalendarConnector, fake: FakeGoogleCalendar, policies: PolicySet
) -> None:
    subject = incident()
    draft = PostMortem(incident_id=subject.id, created_at=NOW)
    late = performer(calendar, policies, IntentKind.SCHEDULE_MEETING, now=ny(22, 12))
    outcome = await late(request(policies, subject, draft, IntentKind.SCHEDULE_MEETING))

    assert outcome.vendor_ref is None
    assert fake.stored() == []
    assert "no working time" in outcome.detail["no_slot"]
    recorded = applied(outcome, draft)
    unbooked = recorded.no_meeting_slot
    assert unbooked is not None
    assert unbooked.key == "pm:pagerduty:P1042:meeting"
    # Proposed: the first working time after Sunday's deadline, Monday 09:00.
    assert unbooked.proposed_start == ny(23, 9)
    plan = evaluate(subject, recorded, policies, ny(22, 12))
    ask = plan.intent_of(IntentKind.REPORT_NO_MEETING_SLOT)
    assert ask is not None
    assert ask.key == "pm:pagerduty:P1042:meeting:no-slot:email:alice@example.com"


async def test_a_new_responder_is_invited_to_the_booked_meeting(
    calendar: GoogleCalendarConnector, fake: FakeGoogleCalendar, policies: PolicySet
) -> None:
    postmortem, _ = await booked(calendar, policies, incident())
    grown = incident(BOB)  # Bob joined the incident record later
    invite = performer(calendar, policies, IntentKind.INVITE_TO_MEETING)

    outcome = await invite(request(policies, grown, postmortem, IntentKind.INVITE_TO_MEETING))

    [event] = fake.stored()
    assert "bob@example.com" in {a["email"] for a in event["attendees"]}
    assert outcome.detail["invited"] == "bob@example.com"
    assert "past_deadline" not in outcome.detail
    updated = applied(outcome, postmortem)
    assert updated.meeting is not None
    assert "bob@example.com" in updated.meeting.invitees
    plan = evaluate(grown, updated, policies, NOW)
    assert plan.intent_of(IntentKind.INVITE_TO_MEETING) is None


async def test_a_meeting_moved_past_the_deadline_is_reported_not_moved_back(
    calendar: GoogleCalendarConnector, fake: FakeGoogleCalendar, policies: PolicySet
) -> None:
    postmortem, _ = await booked(calendar, policies, incident())
    assert postmortem.meeting is not None
    event_id = postmortem.meeting.event_ref
    assert event_id is not None
    fake.move_event(event_id, ny(23, 10), ny(23, 10, 30))  # Monday: after Sunday's deadline
    grown = incident(BOB)
    invite = performer(calendar, policies, IntentKind.INVITE_TO_MEETING)

    outcome = await invite(request(policies, grown, postmortem, IntentKind.INVITE_TO_MEETING))

    assert outcome.detail["past_deadline"] is True
    [event] = fake.stored()
    assert datetime.fromisoformat(event["start"]["dateTime"]) == ny(23, 10)
    updated = applied(outcome, postmortem)
    assert updated.meeting is not None
    assert updated.meeting.start.astimezone(UTC) == ny(23, 10).astimezone(UTC)
    # The plan now says so, for the owner (and the chat connector) to act on.
    plan = evaluate(grown, updated, policies, NOW)
    assert any("after the deadline" in problem for problem in plan.problems)


async def test_a_cancelled_meeting_is_recorded_neither_rebooked_nor_patched(
    calendar: GoogleCalendarConnector, fake: FakeGoogleCalendar, policies: PolicySet
) -> None:
    subject = incident()
    postmortem, _ = await booked(calendar, policies, subject)
    assert postmortem.meeting is not None
    event_id = postmortem.meeting.event_ref
    assert event_id is not None
    fake.cancel_event(event_id)

    invite = performer(calendar, policies, IntentKind.INVITE_TO_MEETING)
    grown = incident(BOB)
    invited = await invite(request(policies, grown, postmortem, IntentKind.INVITE_TO_MEETING))
    assert "cancelled" in invited.detail["skipped"]
    # No longer treated as booked: the cancellation is recorded, once.
    recorded = applied(invited, postmortem)
    assert recorded.meeting is None
    [gone] = recorded.cancelled_meetings
    assert (gone.event_ref, gone.how, gone.start) == (event_id, "cancelled", ny(20, 16, 30))
    assert applied(invited, recorded) == recorded

    # A retried booking (its first answer lost) finds the cancelled event: kept as is,
    # and recorded as cancelled (pmhub never recorded it as booked).
    draft = PostMortem(incident_id=subject.id, created_at=NOW)
    schedule = performer(calendar, policies, IntentKind.SCHEDULE_MEETING)
    retried = await schedule(request(policies, subject, draft, IntentKind.SCHEDULE_MEETING))
    assert retried.detail["status"] == "cancelled"
    assert [c.event_ref for c in applied(retried, draft).cancelled_meetings] == [event_id]
    assert len(fake.stored()) == 1
    assert fake.calls[("PATCH", "/calendar/v3/calendars/{calendarId}/events/{eventId}")] == 0


async def test_a_deleted_meeting_is_recorded_as_deleted(
    calendar: GoogleCalendarConnector, fake: FakeGoogleCalendar, policies: PolicySet
) -> None:
    subject = incident()
    postmortem, _ = await booked(calendar, policies, subject)
    assert postmortem.meeting is not None
    event_id = postmortem.meeting.event_ref
    assert event_id is not None
    del fake.events[fake.calendar_id][event_id]  # gone for good: 404 on read-back

    later = NOW + timedelta(hours=1)
    check = performer(calendar, policies, IntentKind.CHECK_MEETING, now=later)
    outcome = await check(request(policies, subject, postmortem, IntentKind.CHECK_MEETING))

    assert outcome.detail["status"] == "missing"
    recorded = applied(outcome, postmortem)
    assert recorded.meeting is None
    [gone] = recorded.cancelled_meetings
    assert (gone.how, gone.noticed_at) == ("deleted", later)
    plan = evaluate(subject, recorded, policies, later)
    told = plan.intent_of(IntentKind.REPORT_MEETING_CANCELLED)
    assert told is not None
    assert told.key == f"pm:pagerduty:P1042:meeting:cancelled:{event_id}:email:alice@example.com"
    assert plan.intent_of(IntentKind.SCHEDULE_MEETING) is None  # waits for a person
